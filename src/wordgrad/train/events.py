"""The event log of a run: ``<run_dir>/events.jsonl``, one JSON object per line.

This is the record that reports, dashboards and the resume logic read, so its schema is a
contract: fields are only ever *added* (readers must ignore unknown fields and unknown event
types); a change that removes or renames a field bumps :data:`SCHEMA_VERSION`.

Every line has these fields:

=========  ===============================================================================
``v``      schema version (:data:`SCHEMA_VERSION`, an int)
``type``   one of the event types below
``time``   when it was written, ISO 8601 in UTC (``2026-01-31T12:00:00.123456+00:00``)
``step``   the optimization step it belongs to (1-based); 0 for work before the first step
           (the initial evaluation) and at the end (final evaluations); ``null`` for run-level
           events (``run_start``, ``run_end``, ``error`` outside a step)
=========  ===============================================================================

Event types and their own fields:

``run_start``
    ``kind`` ("prompt" or "solution"), ``config`` (the run's settings, as in ``config.json``),
    ``resumed_from`` (the step of the checkpoint this process resumed from, or ``null`` for a
    fresh run), ``wordgrad_version``.
``forward``
    A training minibatch went through the model: ``epoch``, ``indices`` (positions in the train
    split), ``predictions`` (the model's outputs), ``scores`` (per-example metric, 0..1).
``loss``
    ``values``: the per-example loss texts that ``backward()`` started from.
``backward``
    ``feedback``: list of ``{"parameter": role, "text": feedback}``, the textual gradients
    each trainable variable received.
``step``
    One optimizer update of one parameter: ``epoch``, ``parameter`` (role), ``old_value``,
    ``new_value`` (what the optimizer proposed), ``feedback`` (the texts it was given),
    ``decision``: "kept", "reverted" (validation got worse, so ``old_value`` was restored),
    "unchanged" (the optimizer left the value as it was, e.g. it could not parse a reply), and
    ``val_before`` / ``val_after`` (validation accuracy before and after, ``null`` without
    validation), ``parse_errors`` (optimizer replies that held no usable value).
``evaluation``
    ``split`` ("train", "val", "test"), ``label`` (what was evaluated: "initial", "final",
    "step 3", "zero-shot", "majority vote" ...), ``accuracy`` with ``ci_low``/``ci_high`` (95%
    bootstrap interval), ``n``, ``scores`` (per-example, in split order, so two evaluations of
    the same split can be paired).
``question``
    Solution optimization only: one question finished. ``index``, ``answer`` (correct letter),
    ``iterates`` (the solution after each iteration, the zero-shot one first), ``votes``
    (letter read from each iterate), ``majority`` (the voted letter), ``zero_shot_score``,
    ``majority_score``.
``iterate``
    Test-time optimization of a value (:mod:`wordgrad.train.instance_optimization`): one
    value of one instance was measured. ``instance`` (its id), ``index`` (its position among
    the run's instances), ``iteration`` (0: the starting
    value), ``value``, ``score`` (higher is better), ``feedback`` (the measurement's text, shown
    to the critic), ``details`` (the measurement's other numbers), ``critique`` and ``gradient``
    (the review and feedback that led from the previous value to this one; "" at 0),
    ``parse_error`` (the optimizer's reply held no new value, so the value was kept), ``done``
    (the instance's last iterate), ``stopped`` ("iterations" or "stop_when" when done).
``usage``
    Written with each step's checkpoint (its ``step``) and once more at the end (``step`` null,
    after the final evaluations). Totals so far for the whole run (across resumes):
    ``total_tokens``, ``cost_usd``, ``calls``, and ``by_purpose``: ``{purpose: {"calls",
    "cached_calls", "prompt_tokens", "completion_tokens", "cost_usd", "latency_s"}}`` with
    purpose one of "forward" (training answers), "backward", "optimizer", "evaluation" (judges,
    losses, and all calls made while evaluating a split), "other". ``latency_s`` is the summed
    latency of the calls.
``error``
    ``error_type`` (exception class name), ``message``.
``run_end``
    ``status``: "completed", "interrupted" (Ctrl-C), "budget" (stopped before exceeding the
    token or cost budget) or "failed"; ``message``; ``results`` (the content of
    ``results.json`` when completed, else ``null``).

Exactly-once: the events of a step are written and synced *before* the step's checkpoint, and the
checkpoint records the log's length in bytes. A resumed run cuts the log back to that length, so
after any crash each step appears exactly once. (Events of a step that was cut short are
dropped, as the step itself is redone.) A clean stop (Ctrl-C, budget, error) writes its
``run_end`` and moves the checkpoint's mark past it, so the record of the stop survives the
resume; after ``kill -9`` there is no ``run_end``, only the next ``run_start`` with its
``resumed_from``.

Secrets never reach the log: :func:`redact` replaces API keys (``sk-...``, ``Bearer ...``,
``Authorization`` values, and fields named like ``api_key``/``token``/``secret``/``password``)
with ``[REDACTED]`` before anything is written.

Reading: :func:`read_events` returns typed objects (one dataclass per type); an unknown type comes
back as a plain :class:`Event` with its fields in ``extra``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

SCHEMA_VERSION = 1
EVENTS_FILE = "events.jsonl"
REDACTED = "[REDACTED]"

# --------------------------------------------------------------------------- the event types


@dataclass(frozen=True)
class Event:
    """Fields every event has; ``extra`` holds fields this version does not know."""

    type: str
    time: str
    step: int | None = None
    v: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class RunStart(Event):
    kind: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    resumed_from: int | None = None
    wordgrad_version: str = ""


@dataclass(frozen=True)
class Forward(Event):
    epoch: int = 0
    indices: list[int] = field(default_factory=list)
    predictions: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Loss(Event):
    values: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Backward(Event):
    feedback: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Step(Event):
    epoch: int = 0
    parameter: str = ""
    old_value: str = ""
    new_value: str = ""
    feedback: list[str] = field(default_factory=list)
    decision: str = "kept"
    val_before: float | None = None
    val_after: float | None = None
    parse_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Evaluation(Event):
    split: str = ""
    label: str = ""
    accuracy: float = 0.0
    ci_low: float = 0.0
    ci_high: float = 0.0
    n: int = 0
    scores: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Question(Event):
    index: int = 0
    answer: str = ""
    iterates: list[str] = field(default_factory=list)
    votes: list[str | None] = field(default_factory=list)
    majority: str | None = None
    zero_shot_score: float = 0.0
    majority_score: float = 0.0


@dataclass(frozen=True)
class Iterate(Event):
    instance: str = ""
    index: int = 0
    iteration: int = 0
    value: str = ""
    score: float = 0.0
    feedback: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    critique: str = ""
    gradient: str = ""
    parse_error: str = ""
    done: bool = False
    stopped: str | None = None


@dataclass(frozen=True)
class Usage(Event):
    total_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    by_purpose: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Error(Event):
    error_type: str = ""
    message: str = ""


@dataclass(frozen=True)
class RunEnd(Event):
    status: str = ""
    message: str = ""
    results: dict[str, Any] | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    "run_start": RunStart,
    "forward": Forward,
    "loss": Loss,
    "backward": Backward,
    "step": Step,
    "evaluation": Evaluation,
    "question": Question,
    "iterate": Iterate,
    "usage": Usage,
    "error": Error,
    "run_end": RunEnd,
}
"""Event type name → its dataclass."""

# --------------------------------------------------------------------------- secrets

_SECRET_KEY = re.compile(
    r"(?:^|_)(?:api[_-]?key|authorization|(?:access_|auth_|bearer_|refresh_)?token|secret|"
    r"password)$",
    re.IGNORECASE,
)
"""Field names whose string values are secrets: whole words, so ``max_tokens`` stays."""
_SECRET_TEXT = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"),  # Google API keys
    re.compile(r"\b(?:hf|ghp|gho|ghs|github_pat|xox[bp])_[A-Za-z0-9_]{16,}"),  # HF, GitHub, Slack
    re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/\-]+=*"),
    re.compile(r"(?i)(authorization\s*[:=]\s*)([^\s,;]+(\s+[^\s,;]+)?)"),
    re.compile(r"(?i)((?:api[_-]?key|x-api-key)\s*[:=]\s*)([^\s,;\"']+)"),
)


def redact(value: Any) -> Any:
    """``value`` with secrets replaced by ``[REDACTED]`` (recursing into dicts and lists)."""
    if isinstance(value, str):
        for pattern in _SECRET_TEXT:
            if pattern.groups >= 2:
                value = pattern.sub(lambda m: m.group(1) + REDACTED, value)
            else:
                value = pattern.sub(REDACTED, value)
        return value
    if isinstance(value, Mapping):
        return {
            str(k): (
                REDACTED if _SECRET_KEY.search(str(k)) and isinstance(v, str) and v else redact(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


# --------------------------------------------------------------------------- writing


def now() -> str:
    """The current time in UTC, ISO 8601."""
    return datetime.now(timezone.utc).isoformat()


class EventLog:
    """Appends events to ``events.jsonl``; :meth:`sync` makes what was written durable.

    Args:
        path: the log file (created if missing).
        truncate_to: cut the file to this many bytes first (a resume's last checkpoint).
    """

    def __init__(self, path: Path, truncate_to: int | None = None) -> None:
        self.path = path
        self._file: IO[bytes] = open(path, "ab")  # noqa: SIM115 - closed in close()
        if truncate_to is not None:
            self._file.truncate(truncate_to)
            self._file.seek(truncate_to)

    def write(self, type: str, step: int | None = None, **fields: Any) -> None:
        """Append one event of ``type`` with ``fields`` (secrets redacted)."""
        if type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type!r}; known: {', '.join(EVENT_TYPES)}")
        record = {"v": SCHEMA_VERSION, "type": type, "time": now(), "step": step}
        record.update(redact(fields))
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        self._file.write(line.encode("utf-8"))

    def truncate(self, size: int) -> None:
        """Cut the log back to ``size`` bytes (dropping events after a checkpoint)."""
        self._file.flush()
        self._file.truncate(size)
        self._file.seek(size)

    def sync(self) -> int:
        """Flush and fsync; returns the log's length in bytes (what a checkpoint records)."""
        self._file.flush()
        os.fsync(self._file.fileno())
        return self._file.tell()

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()


# --------------------------------------------------------------------------- reading


def parse_event(record: Mapping[str, Any]) -> Event:
    """One decoded JSON line as its dataclass (unknown fields go to ``extra``)."""
    cls = EVENT_TYPES.get(str(record.get("type")), Event)
    names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
    known = {k: v for k, v in record.items() if k in names}
    extra = {k: v for k, v in record.items() if k not in names}
    return cls(**known, extra=extra)


def iter_events(run_dir: str | os.PathLike[str]) -> Iterator[Event]:
    """The events of a run, in order. A torn last line (a crash mid-write) is skipped."""
    path = Path(run_dir) / EVENTS_FILE
    if not path.exists():
        return
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                break
            yield parse_event(json.loads(line))


def read_events(run_dir: str | os.PathLike[str]) -> list[Event]:
    """All events of the run in ``run_dir`` as typed objects (e.g. ``Step``, ``Evaluation``)."""
    return list(iter_events(run_dir))


__all__ = [
    "EVENTS_FILE",
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "Backward",
    "Error",
    "Evaluation",
    "Event",
    "EventLog",
    "Forward",
    "Iterate",
    "Loss",
    "Question",
    "RunEnd",
    "RunStart",
    "Step",
    "Usage",
    "parse_event",
    "read_events",
    "redact",
]
