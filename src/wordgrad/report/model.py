"""What a report shows, computed from a run's events: plain data, no HTML.

:func:`summarize` reads the event log once and groups it the way a reader looks at a run:
accuracy series for the plot, what happened at each step (minibatch, feedback, updates and their
fate), usage per step and per purpose, errors and how the run ended. The HTML page and the
terminal view both draw from these objects, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wordgrad.train.events import (
    Backward,
    Error,
    Evaluation,
    Event,
    Forward,
    Iterate,
    Loss,
    Question,
    RunEnd,
    RunStart,
    Step,
    Usage,
)

PURPOSES = ("forward", "backward", "optimizer", "evaluation", "other")
"""The order purposes are shown in (others follow alphabetically)."""


@dataclass(frozen=True)
class Point:
    """One evaluation on the plot: ``x`` is the step it belongs to.

    ``rejected`` marks a validation of a proposal that was reverted: the prompt in use did not
    change, so the point sits off the line.
    """

    x: int
    accuracy: float
    ci_low: float
    ci_high: float
    n: int
    label: str
    rejected: bool = False


@dataclass(frozen=True)
class UsageRow:
    """Calls, tokens, cost and latency of one step (or one purpose); latency may be unknown."""

    label: str
    calls: float = 0
    prompt_tokens: float = 0
    completion_tokens: float = 0
    cost_usd: float = 0.0
    latency_s: float | None = None

    @property
    def total_tokens(self) -> float:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ValidationChange:
    """One validation example whose score changed with a step's proposal."""

    index: int
    before: float
    after: float
    prediction_before: str = ""
    prediction_after: str = ""


@dataclass
class StepRecord:
    """Everything the log says about one optimization step."""

    step: int
    epoch: int | None = None
    forward: Forward | None = None
    losses: list[str] = field(default_factory=list)
    feedback: list[dict[str, str]] = field(default_factory=list)
    updates: list[Step] = field(default_factory=list)
    usage: UsageRow | None = None
    val_won: list[ValidationChange] = field(default_factory=list)
    """Validation examples the step's proposal got right that the text in use got wrong."""
    val_lost: list[ValidationChange] = field(default_factory=list)
    """Validation examples the step's proposal got wrong that the text in use got right."""

    @property
    def batch_accuracy(self) -> float | None:
        scores = self.forward.scores if self.forward else []
        return sum(scores) / len(scores) if scores else None


@dataclass
class RunSummary:
    """A run's events, grouped for display."""

    start: RunStart | None = None
    end: RunEnd | None = None
    series: dict[str, list[Point]] = field(default_factory=dict)
    evaluations: list[Evaluation] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    usage_by_step: list[UsageRow] = field(default_factory=list)
    usage_by_purpose: list[UsageRow] = field(default_factory=list)
    usage_total: UsageRow | None = None
    questions: list[Question] = field(default_factory=list)
    iterates: dict[str, list[Iterate]] = field(default_factory=dict)
    """Test-time optimization: each instance's iterates in order, by instance id."""
    errors: list[Error] = field(default_factory=list)
    last_step: int = 0
    """The highest step any event belongs to."""

    @property
    def parameters(self) -> list[str]:
        """The roles of the variables that were updated, in order of first appearance."""
        roles = (update.parameter for record in self.steps for update in record.updates)
        return list(dict.fromkeys(roles))

    def history(self, parameter: str) -> list[tuple[int, str]]:
        """(step, text in use after it) for ``parameter``: its first value at step 0, then one
        entry per step that touched it (a reverted proposal leaves the text as it was)."""
        entries: list[tuple[int, str]] = []
        for record in self.steps:
            for update in record.updates:
                if update.parameter != parameter:
                    continue
                if not entries:
                    entries.append((0, update.old_value))
                kept = update.decision == "kept"
                entries.append((record.step, update.new_value if kept else update.old_value))
        return entries


def summarize(events: Iterable[Event]) -> RunSummary:
    """Group ``events`` (as :func:`wordgrad.train.events.read_events` returns them)."""
    events = list(events)
    summary = RunSummary()
    steps: dict[int, StepRecord] = {}
    snapshots: list[tuple[str, Mapping[str, Any]]] = []

    def record(step: int | None) -> StepRecord:
        number = step or 0
        return steps.setdefault(number, StepRecord(number))

    for event in events:
        if isinstance(event, RunStart):
            summary.start = summary.start or event
        elif isinstance(event, RunEnd):
            summary.end = event
        elif isinstance(event, Evaluation):
            summary.evaluations.append(event)
        elif isinstance(event, Forward):
            record(event.step).forward, record(event.step).epoch = event, event.epoch
        elif isinstance(event, Loss):
            record(event.step).losses.extend(event.values)
        elif isinstance(event, Backward):
            record(event.step).feedback.extend(event.feedback)
        elif isinstance(event, Step):
            record(event.step).updates.append(event)
            record(event.step).epoch = event.epoch
        elif isinstance(event, Usage):
            snapshots.append((_step_label(event.step), _usage_fields(event)))
        elif isinstance(event, Question):
            summary.questions.append(event)
        elif isinstance(event, Iterate):
            summary.iterates.setdefault(event.instance, []).append(event)
        elif isinstance(event, Error):
            summary.errors.append(event)
    final_usage = (summary.end.results or {}).get("usage") if summary.end else None
    if isinstance(final_usage, Mapping) and (
        not snapshots or snapshots[-1][1].get("calls") != final_usage.get("calls")
    ):
        snapshots.append(("final evaluation", final_usage))

    summary.steps = [steps[number] for number in sorted(steps) if number > 0]
    _validation_changes(summary.evaluations, steps)
    summary.last_step = max((event.step or 0 for event in events), default=0)
    summary.series = _series(summary.evaluations, summary.steps, summary.last_step)
    summary.usage_by_step = _usage_deltas(snapshots)
    for row in summary.usage_by_step:
        if row.label.startswith("step ") and int(row.label[5:]) in steps:
            steps[int(row.label[5:])].usage = row
    if snapshots:
        latest = snapshots[-1][1]
        summary.usage_by_purpose = _purpose_rows(latest.get("by_purpose", {}))
        summary.usage_total = _sum_rows("total", summary.usage_by_purpose)
    return summary


def _step_label(step: int | None) -> str:
    """Usage rows: step 0 is the work before the first step, ``None`` the end of the run."""
    if step is None:
        return "final evaluation"
    return f"step {step}" if step else "initial evaluation"


def _validation_changes(evaluations: list[Evaluation], steps: dict[int, StepRecord]) -> None:
    """For each step validated, the examples its proposal won and lost against the text in use
    (the initial one, or the last proposal kept)."""
    current: Evaluation | None = None
    for evaluation in evaluations:
        if evaluation.split != "val":
            continue
        if not evaluation.label.startswith("step "):
            current = current or evaluation
            continue
        record = steps.get(evaluation.step or 0)
        if record is None or current is None:
            continue
        before_text = list(current.extra.get("predictions") or [])
        after_text = list(evaluation.extra.get("predictions") or [])
        for index, (before, after) in enumerate(zip(current.scores, evaluation.scores)):
            if before == after:
                continue
            change = ValidationChange(
                index,
                before,
                after,
                before_text[index] if index < len(before_text) else "",
                after_text[index] if index < len(after_text) else "",
            )
            (record.val_won if after > before else record.val_lost).append(change)
        if any(u.decision == "kept" for u in record.updates):
            current = evaluation


def _usage_fields(event: Usage) -> dict[str, Any]:
    return {
        "calls": event.calls,
        "total_tokens": event.total_tokens,
        "cost_usd": event.cost_usd,
        "by_purpose": event.by_purpose,
    }


def _series(
    evaluations: list[Evaluation], steps: list[StepRecord], last: int
) -> dict[str, list[Point]]:
    """Evaluations as points per split; ``final`` ones sit at the ``last`` step."""
    reverted = {r.step for r in steps if any(u.decision == "reverted" for u in r.updates)}
    series: dict[str, list[Point]] = {}
    for evaluation in evaluations:
        label = evaluation.label
        ordinary = label in ("initial", "final") or label.startswith("step ")
        name = evaluation.split if ordinary else f"{evaluation.split} · {label}"
        x = last if label == "final" else (evaluation.step or 0)
        point = Point(
            x=x,
            accuracy=evaluation.accuracy,
            ci_low=evaluation.ci_low,
            ci_high=evaluation.ci_high,
            n=evaluation.n,
            label=label,
            rejected=label.startswith("step ") and x in reverted,
        )
        series.setdefault(name, []).append(point)
    return series


def _number(row: Mapping[str, Any], key: str) -> float:
    value = row.get(key, 0)
    return float(value) if isinstance(value, (int, float)) else 0.0


def _latency(row: Mapping[str, Any]) -> float | None:
    value = row.get("latency_s")
    return float(value) if isinstance(value, (int, float)) else None


def _purpose_rows(by_purpose: Mapping[str, Mapping[str, Any]]) -> list[UsageRow]:
    order = {name: index for index, name in enumerate(PURPOSES)}
    names = sorted(by_purpose, key=lambda name: (order.get(name, len(order)), name))
    return [
        UsageRow(
            name,
            calls=_number(by_purpose[name], "calls"),
            prompt_tokens=_number(by_purpose[name], "prompt_tokens"),
            completion_tokens=_number(by_purpose[name], "completion_tokens"),
            cost_usd=_number(by_purpose[name], "cost_usd"),
            latency_s=_latency(by_purpose[name]),
        )
        for name in names
    ]


def _sum_rows(label: str, rows: list[UsageRow]) -> UsageRow:
    """One row adding ``rows`` (latency only when every row knows it)."""
    latencies = [row.latency_s for row in rows]
    return UsageRow(
        label,
        calls=sum(row.calls for row in rows),
        prompt_tokens=sum(row.prompt_tokens for row in rows),
        completion_tokens=sum(row.completion_tokens for row in rows),
        cost_usd=sum(row.cost_usd for row in rows),
        latency_s=None if None in latencies else sum(x for x in latencies if x is not None),
    )


def _minus(label: str, now: UsageRow, before: UsageRow | None) -> UsageRow:
    base = before or UsageRow(label, latency_s=0.0)
    latency = None
    if now.latency_s is not None and base.latency_s is not None:
        latency = now.latency_s - base.latency_s
    return UsageRow(
        label,
        calls=now.calls - base.calls,
        prompt_tokens=now.prompt_tokens - base.prompt_tokens,
        completion_tokens=now.completion_tokens - base.completion_tokens,
        cost_usd=now.cost_usd - base.cost_usd,
        latency_s=latency,
    )


def _usage_deltas(snapshots: list[tuple[str, Mapping[str, Any]]]) -> list[UsageRow]:
    """Per-step usage from the log's running totals (each ``usage`` event is cumulative)."""
    rows: list[UsageRow] = []
    before: UsageRow | None = None
    for label, snapshot in snapshots:
        now = _sum_rows(label, _purpose_rows(snapshot.get("by_purpose", {})))
        rows.append(_minus(label, now, before))
        before = now
    return rows
