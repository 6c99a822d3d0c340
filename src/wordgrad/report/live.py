"""A live view of a run on the terminal: step, accuracy so far, updates, tokens and cost.

:class:`LiveView` takes events one at a time, in any of three ways, so a loop can plug it in
wherever it is convenient:

- ``view.write(type, step, **fields)``: the same signature as ``EventLog.write``, so a loop can
  hand every event it logs to the view as well;
- ``view(event)`` / ``view.update(event)``: a parsed :class:`~wordgrad.train.events.Event` or a
  decoded JSON line;
- :func:`follow`: tails ``<run_dir>/events.jsonl`` of a run going on elsewhere (another process)
  until it ends.

Used as a context manager it redraws itself in place with ``rich.live`` (a few times a second);
outside one, ``console.print(view)`` prints its current state once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from wordgrad.train.events import (
    EVENTS_FILE,
    Error,
    Evaluation,
    Event,
    Forward,
    RunEnd,
    RunStart,
    Step,
    Usage,
    decode_line,
    now,
    parse_event,
    redact,
)

DECISION_STYLES = {"kept": "green", "reverted": "red", "unchanged": "dim"}


def _accuracy(evaluation: Evaluation | None) -> str:
    if evaluation is None:
        return "–"
    return (
        f"{evaluation.accuracy:.1%} [{evaluation.ci_low:.1%}, {evaluation.ci_high:.1%}] "
        f"n={evaluation.n} ({evaluation.label})"
    )


class LiveView:
    """The state of a run as its events arrive, drawn as a small panel.

    Args:
        console: where to draw (default: a new ``rich`` console on stdout).
        title: the panel's title.
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        title: str = "wordgrad run",
        max_tokens: int | None = None,
        max_cost: float | None = None,
    ) -> None:
        self.console = console or Console()
        self.title = title
        self.max_tokens, self.max_cost = max_tokens, max_cost
        self.started = time.monotonic()
        self.calls_done = 0
        self.calls_planned: int | None = None
        self.live_tokens: int | None = None
        self.live_cost: float | None = None
        self.task: tuple[str, int, int] | None = None
        """What the loop is doing now: (description, items done, items in all)."""
        self.kind = ""
        self.total_steps: int | None = None
        self.step = 0
        self.epoch: int | None = None
        self.phase = "starting"
        self.batch_accuracy: float | None = None
        self.validation: Evaluation | None = None
        self.test: Evaluation | None = None
        self._proposal: Evaluation | None = None
        self.last_update: Step | None = None
        self.decisions: dict[str, int] = {"kept": 0, "reverted": 0, "unchanged": 0}
        self.usage: Usage | None = None
        self.errors: list[Error] = []
        self.status = "running"
        self._live: Live | None = None

    # ------------------------------------------------------------------ taking events

    def write(self, type: str, step: int | None = None, **fields: Any) -> None:
        """Take one event given as ``EventLog.write`` takes it."""
        record = {"type": type, "time": now(), "step": step, **redact(fields)}
        self.update(record)

    def __call__(self, event: Event | Mapping[str, Any]) -> None:
        self.update(event)

    def update(self, event: Event | Mapping[str, Any]) -> None:
        """Take one event (parsed or as a decoded JSON object) and redraw."""
        if not isinstance(event, Event):
            event = parse_event(event)
        self._take(event)
        if self._live is not None:
            self._live.refresh()

    def _take(self, event: Event) -> None:
        if event.type == "progress":  # a call returned (not a logged event)
            self.calls_done = int(event.extra.get("calls", self.calls_done))
            self.live_tokens = int(event.extra.get("total_tokens", 0))
            self.live_cost = float(event.extra.get("cost_usd", 0.0))
            return
        if event.type == "projection":
            self.calls_planned = int(event.extra.get("calls", 0)) or None
            return
        if event.step:
            self.step = max(self.step, event.step)
        if event.type in ("forward", "loss", "backward", "step", "evaluation"):
            self.phase = event.type
        if isinstance(event, RunStart):
            self.kind = event.kind
            self.total_steps = _planned_steps(event.config)
        elif isinstance(event, Forward):
            self.epoch = event.epoch
            self.batch_accuracy = sum(event.scores) / len(event.scores) if event.scores else None
        elif isinstance(event, Evaluation):
            self._take_evaluation(event)
        elif isinstance(event, Step):
            self.last_update = event
            self.decisions[event.decision] = self.decisions.get(event.decision, 0) + 1
            if event.decision == "kept" and self._proposal is not None:
                self.validation = self._proposal
            self._proposal = None
        elif isinstance(event, Usage):
            self.usage = event
            self.calls_done = max(self.calls_done, event.calls)
        elif isinstance(event, Error):
            self.errors.append(event)
        elif isinstance(event, RunEnd):
            self.status, self.phase = event.status, "done"
            final = (event.results or {}).get("usage")  # includes the final evaluations
            if isinstance(final, Mapping):
                self.usage = Usage(type="usage", time=event.time, **_usage_fields(final))
                self.calls_done = max(self.calls_done, self.usage.calls)

    def _take_evaluation(self, event: Evaluation) -> None:
        if event.split == "test":
            self.test = event
        elif event.split == "val" and event.label.startswith("step "):
            self._proposal = event  # counts once its step says the proposal was kept
        elif event.split == "val":
            self.validation = event

    # ------------------------------------------------------------------ drawing

    def __rich__(self) -> Panel:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        of = f" / {self.total_steps}" if self.total_steps else ""
        epoch = f", epoch {self.epoch}" if self.epoch is not None else ""
        grid.add_row("step", f"{self.step}{of}{epoch}  [dim]({self.phase})[/dim]")
        if self.task is not None and self.status == "running":
            description, done, total = self.task
            grid.add_row("now", f"{description}: {done} / {total}")
        grid.add_row("calls", self._calls())
        grid.add_row("time", self._time())
        if self.batch_accuracy is not None:
            grid.add_row("minibatch", f"{self.batch_accuracy:.1%}")
        grid.add_row("validation", _accuracy(self.validation))
        grid.add_row("test", _accuracy(self.test))
        grid.add_row("last update", self._last_update())
        grid.add_row(
            "updates",
            "  ".join(
                f"[{DECISION_STYLES.get(name, '')}]{count} {name}[/]"
                for name, count in self.decisions.items()
            ),
        )
        usage = self.usage
        tokens = self.live_tokens if self.live_tokens is not None else None
        cost = self.live_cost
        if usage is not None:
            tokens = max(tokens or 0, usage.total_tokens)
            cost = max(cost or 0.0, usage.cost_usd)
        if tokens is not None:
            limit = f" of {self.max_tokens:,} budget" if self.max_tokens else ""
            grid.add_row("tokens", f"{tokens:,}{limit}")
            limit = f" of ${self.max_cost:,.2f} budget" if self.max_cost is not None else ""
            grid.add_row("cost", f"${cost or 0.0:,.4f}{limit}")
        else:
            grid.add_row("tokens", "–")
        if self.errors:
            last = self.errors[-1]
            grid.add_row("errors", f"[red]{len(self.errors)}: {last.error_type}: {last.message}[/]")
        title = f"{self.title} · {self.kind}" if self.kind else self.title
        return Panel(grid, title=title, subtitle=self.status, expand=False)

    def set_task(self, description: str, done: int, total: int) -> None:
        """What the loop is doing now (e.g. "val (initial)", 7 of 20), shown until the next."""
        self.task = (description, done, total)
        self.phase = description
        if self._live is not None:
            self._live.refresh()

    def _calls(self) -> str:
        planned = self.calls_planned
        if planned:
            left = max(0, planned - self.calls_done)
            return f"{self.calls_done:,} done · about {left:,} to go (of ~{planned:,} projected)"
        return f"{self.calls_done:,} done"

    def _time(self) -> str:
        elapsed = time.monotonic() - self.started
        text = f"{_clock(elapsed)} elapsed"
        planned = self.calls_planned
        if planned and self.calls_done and self.status == "running":
            left = elapsed / self.calls_done * max(0, planned - self.calls_done)
            text += f" · about {_clock(left)} left"
        return text

    def _last_update(self) -> str:
        update = self.last_update
        if update is None:
            return "–"
        style = DECISION_STYLES.get(update.decision, "")
        text = f"step {update.step}: [{style}]{update.decision}[/]"
        if update.val_before is not None and update.val_after is not None:
            text += f" (validation {update.val_before:.1%} → {update.val_after:.1%})"
        return text

    # ------------------------------------------------------------------ live drawing

    def __enter__(self) -> LiveView:
        self._live = Live(self, console=self.console, refresh_per_second=4)
        self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.__exit__(exc_type, exc, tb)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _usage_fields(totals: Mapping[str, Any]) -> dict[str, Any]:
    names = ("total_tokens", "cost_usd", "calls", "by_purpose")
    return {name: totals[name] for name in names if name in totals}


def _planned_steps(config: Mapping[str, Any]) -> int | None:
    """How many steps a run's settings ask for, when they say (``steps``, or epochs x steps)."""
    steps, epochs, per_epoch = (config.get(k) for k in ("steps", "max_epochs", "steps_per_epoch"))
    if isinstance(steps, int):
        return steps
    if isinstance(epochs, int) and isinstance(per_epoch, int):
        return epochs * per_epoch
    return None


def tail_events(
    run_dir: str | Path, *, poll_s: float = 0.5, stop: Callable[[], bool] | None = None
) -> Iterator[Event]:
    """The events of ``run_dir`` as they are written, until ``run_end`` (or ``stop()``).

    Waits for ``events.jsonl`` to appear; reads only whole lines, so a line being written is
    picked up on the next poll. Lines that cannot be read are skipped.
    """
    path = Path(run_dir) / EVENTS_FILE
    while not path.exists():
        if stop is not None and stop():
            return
        time.sleep(poll_s)
    with open(path, "rb") as handle:
        partial = b""
        while True:
            chunk = handle.readline()
            if chunk:
                partial += chunk
                if not partial.endswith(b"\n"):
                    continue
                record, partial = decode_line(partial), b""
                if isinstance(record, str):
                    continue  # a line that cannot be read (garbage, NUL bytes) is skipped
                event = parse_event(record)
                yield event
                if isinstance(event, RunEnd):
                    return
            elif stop is not None and stop():
                return
            else:
                time.sleep(poll_s)


def follow(
    run_dir: str | Path,
    view: LiveView | None = None,
    *,
    poll_s: float = 0.5,
    stop: Callable[[], bool] | None = None,
) -> LiveView:
    """Show the run in ``run_dir`` live until it ends (or ``stop()``); returns the view."""
    view = view or LiveView(title=f"wordgrad run {Path(run_dir).name}")
    with view:
        for event in tail_events(run_dir, poll_s=poll_s, stop=stop):
            view.update(event)
    return view
