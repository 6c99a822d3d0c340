"""A run is a directory: its settings, its event log, a checkpoint after every step, its results.

::

    runs/my-run/
        config.json               what the run computes (checked again on every resume)
        events.jsonl              the event log (schema: :mod:`wordgrad.train.events`)
        checkpoints/step-0003.json  everything needed to continue after step 3
        results.json              written once, when the run completes

Every file is written atomically (a temporary file, flushed and fsynced, then ``os.replace`` and
an fsync of the directory), so a crash at any moment, ``kill -9`` included, leaves either the old
file or the new one. Starting a run on a directory that holds checkpoints of the *same* settings
continues from the newest one; different settings are refused (:class:`RunConfigError`) unless
``force=True``, which starts over.

:class:`Run` is what loops use: it opens the directory, buffers each step's events and commits
them together with the step's checkpoint (so the log holds each finished step exactly once),
keeps token and cost totals across resumes, enforces a budget, and turns Ctrl-C into a clean
stop (:class:`RunStopped`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wordgrad
from wordgrad.engine.usage import UsageMeter, track
from wordgrad.errors import WordgradError
from wordgrad.train.events import EVENTS_FILE, EventLog, redact

CONFIG_FILE = "config.json"
RESULTS_FILE = "results.json"
CHECKPOINTS = "checkpoints"
_CHECKPOINT_NAME = re.compile(r"^step-(\d+)\.json$")


class RunConfigError(WordgradError):
    """The run directory holds a run with different settings."""


class RunStopped(WordgradError):
    """The run stopped before finishing, after saving its last checkpoint.

    ``status`` is ``"interrupted"`` (Ctrl-C) or ``"budget"``; running the same command again
    continues from the checkpoint.
    """

    def __init__(self, message: str, *, status: str, run_dir: Path) -> None:
        super().__init__(message)
        self.status = status
        self.run_dir = run_dir


# --------------------------------------------------------------------------- files


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` so that a crash leaves the old file or the new one."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=1))


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as file:
        return json.load(file)


class RunDir:
    """The files of one run directory (nothing is created until something is written)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def events_path(self) -> Path:
        return self.path / EVENTS_FILE

    @property
    def results_path(self) -> Path:
        return self.path / RESULTS_FILE

    @property
    def checkpoints_path(self) -> Path:
        return self.path / CHECKPOINTS

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_path / f"step-{step:04d}.json"

    def checkpoint_steps(self) -> list[int]:
        """The steps that have a checkpoint, in order."""
        if not self.checkpoints_path.is_dir():
            return []
        found = (_CHECKPOINT_NAME.match(p.name) for p in self.checkpoints_path.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def latest_checkpoint(self) -> dict[str, Any] | None:
        """The newest checkpoint's content, or None."""
        steps = self.checkpoint_steps()
        if not steps:
            return None
        checkpoint: dict[str, Any] = read_json(self.checkpoint_path(steps[-1]))
        return checkpoint

    def results(self) -> dict[str, Any] | None:
        """``results.json`` of a completed run, or None."""
        if not self.results_path.exists():
            return None
        results: dict[str, Any] = read_json(self.results_path)
        return results

    def clear(self) -> None:
        """Remove everything a run wrote (for ``force=True``)."""
        for path in (self.config_path, self.events_path, self.results_path):
            path.unlink(missing_ok=True)
        shutil.rmtree(self.checkpoints_path, ignore_errors=True)


def config_differences(saved: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """``"name: saved -> wanted"`` for each setting that differs."""
    names = sorted(set(saved) | set(wanted))
    return [
        f"{name}: {saved.get(name)!r} -> {wanted.get(name)!r}"
        for name in names
        if saved.get(name) != wanted.get(name)
    ]


# --------------------------------------------------------------------------- usage


_USAGE_FIELDS = (
    "calls",
    "cached_calls",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "latency_s",
)
"""What each purpose's row of the usage totals holds (``latency_s``: summed call latency)."""


def usage_totals(meter: UsageMeter, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """JSON-able usage: ``base`` (earlier processes of the run) plus what ``meter`` saw."""
    by_purpose: dict[str, dict[str, float]] = {
        purpose: dict(row) for purpose, row in (base or {}).get("by_purpose", {}).items()
    }
    for purpose, totals in meter.by_purpose.items():
        row = by_purpose.setdefault(purpose, dict.fromkeys(_USAGE_FIELDS, 0))
        for name in _USAGE_FIELDS:
            row[name] = row.get(name, 0) + getattr(totals, name)
    rows = by_purpose.values()
    return {
        "calls": int(sum(r["calls"] for r in rows)),
        "total_tokens": int(sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows)),
        "cost_usd": float(sum(r["cost_usd"] for r in rows)),
        "by_purpose": dict(sorted(by_purpose.items())),
    }


@dataclass(frozen=True)
class Budget:
    """Stop before a step would take the run past ``max_tokens`` or ``max_cost`` (USD).

    The next step is assumed to cost what the average finished step did (initial evaluations
    left out); before any step has finished, the run stops only once the budget is used up.
    """

    max_tokens: int | None = None
    max_cost: float | None = None

    def refusal(
        self, usage: Mapping[str, Any], steps_done: int, before_steps: Mapping[str, Any]
    ) -> str | None:
        """Why the next step would exceed the budget, or None when it fits.

        ``usage`` is the run's usage so far, ``before_steps`` its usage before the first step.
        """
        checks = (
            ("tokens", "total_tokens", self.max_tokens, "{:,.0f}"),
            ("cost", "cost_usd", self.max_cost, "${:.4f}"),
        )
        for name, key, limit, shown in checks:
            if limit is None:
                continue
            used = float(usage[key])
            spent = used - float(before_steps.get(key, 0))
            average = spent / steps_done if steps_done else 0.0
            if used + average > limit or (not steps_done and used >= limit):
                return (
                    f"the {name} budget of {shown.format(limit)} would be exceeded: "
                    f"{shown.format(used)} used so far, about {shown.format(average)} per step"
                )
        return None


# --------------------------------------------------------------------------- the run


EventObserver = Callable[..., None]
"""Told about each event as it is written: ``observer(type, step, **fields)``."""


class Run:
    """One run of a loop in a directory: resume, events, checkpoints, budget, Ctrl-C.

    Use it as a context manager::

        with Run(path, kind="prompt", config=settings) as run:
            if run.results is not None:        # the run already completed
                return run.results
            state = run.checkpoint             # None on a fresh start
            ...
            run.emit("step", step, ...)       # buffered until commit
            run.commit(step, state_dict)       # events + checkpoint, atomically in that order
            run.check_budget(steps_done)       # raises RunStopped("budget")
            run.finish(results)

    Leaving the block with Ctrl-C (``KeyboardInterrupt``) records ``run_end`` with status
    "interrupted" and raises :class:`RunStopped`; the newest checkpoint stays the place to resume.
    Any other error is recorded (``error`` and ``run_end`` "failed") and re-raised.

    Args:
        run_dir: the run's directory (created if missing).
        kind: "prompt" or "solution", recorded in ``run_start``.
        config: the settings that determine the run's results (JSON-able).
        force: start over even if the directory holds a run with other settings.
        budget: the token / cost limits.
        on_event: called with ``(type, step, **fields)`` for every event written to the log
            (e.g. a live view's ``write``).
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        *,
        kind: str,
        config: Mapping[str, Any],
        force: bool = False,
        budget: Budget | None = None,
        on_event: EventObserver | None = None,
    ) -> None:
        self.dir = RunDir(run_dir)
        self.on_event = on_event
        self.kind = kind
        self.config = json.loads(json.dumps(redact(dict(config))))
        self.force = force
        self.budget = budget or Budget()
        self.checkpoint: dict[str, Any] | None = None
        self.results: dict[str, Any] | None = None
        self._pending: list[tuple[str, int | None, dict[str, Any]]] = []
        self._stack = ExitStack()
        self._meter = UsageMeter()
        self._base_usage: dict[str, Any] = {}
        self._before_steps: dict[str, Any] = {}
        self._log: EventLog | None = None
        self._after_start = 0

    @property
    def path(self) -> Path:
        return self.dir.path

    # ------------------------------------------------------------------ opening and closing

    def __enter__(self) -> Run:
        self.dir.path.mkdir(parents=True, exist_ok=True)
        self._check_config()
        self.results = self.dir.results()
        self.checkpoint = self.dir.latest_checkpoint()
        offset = 0
        if self.checkpoint is not None:
            offset = int(self.checkpoint["events_offset"])
            self._base_usage = dict(self.checkpoint["usage"])
            self._before_steps = dict(self.checkpoint["usage_before_steps"])
        if self.results is not None:
            return self  # complete: nothing to append
        self._log = self._stack.enter_context(closing(EventLog(self.dir.events_path, offset)))
        self._meter = self._stack.enter_context(track(scope="context"))
        self._write(
            "run_start",
            kind=self.kind,
            config=self.config,
            resumed_from=self.checkpoint["step"] if self.checkpoint else None,
            wordgrad_version=wordgrad.__version__,
        )
        self._after_start = self._log.sync()
        return self

    def _check_config(self) -> None:
        saved_path = self.dir.config_path
        if saved_path.exists() and not self.force:
            saved = read_json(saved_path)
            differences = config_differences(saved, self.config)
            if differences:
                raise RunConfigError(
                    f"{self.dir.path} holds a run with other settings ("
                    + "; ".join(differences)
                    + "). Use another --run-dir, or --force to discard that run and start over"
                )
            return
        if self.force:
            self.dir.clear()
        write_json_atomic(saved_path, self.config)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        try:
            if exc is None or self._log is None:
                return
            if isinstance(exc, KeyboardInterrupt):
                self._end("interrupted", self._stopped_message("interrupted (Ctrl-C)"))
                raise RunStopped(
                    self._stopped_message("interrupted (Ctrl-C)"),
                    status="interrupted",
                    run_dir=self.path,
                ) from None
            if isinstance(exc, RunStopped):
                self._end(exc.status, str(exc))
                return
            self._write("error", error_type=type(exc).__name__, message=str(exc))
            self._end("failed", str(exc))
        finally:
            self._stack.close()

    def _stopped_message(self, why: str) -> str:
        step = self.last_step
        saved = f"step {step}" if step is not None else "no step yet"
        return (
            f"run {why}; the last checkpoint is {saved}. Run the same command again "
            f"(same --run-dir {self.path}) to continue from it"
        )

    def _end(self, status: str, message: str, results: dict[str, Any] | None = None) -> None:
        """Write ``run_end``; when stopping early, keep it (and this process's ``run_start``)
        past the newest checkpoint's mark, and drop events of a step cut short."""
        assert self._log is not None
        self._pending.clear()
        checkpoint = self.dir.latest_checkpoint() if status != "completed" else None
        if checkpoint is not None:
            self._log.truncate(max(int(checkpoint["events_offset"]), self._after_start))
        self._write("run_end", status=status, message=message, results=results)
        offset = self._log.sync()
        if checkpoint is not None:
            checkpoint["events_offset"] = offset
            write_json_atomic(self.dir.checkpoint_path(int(checkpoint["step"])), checkpoint)

    def _write(self, type: str, step: int | None = None, **fields: Any) -> None:
        assert self._log is not None
        self._log.write(type, step, **fields)
        if self.on_event is not None:
            self.on_event(type, step, **fields)

    # ------------------------------------------------------------------ during the run

    def write_graph(self, step: int, dot: str) -> None:
        """Keep the computation graph of ``step`` (DOT text) as ``graphs/step-NNNN.dot``."""
        write_text_atomic(self.dir.path / "graphs" / f"step-{step:04d}.dot", dot)

    @property
    def last_step(self) -> int | None:
        """The step of the newest checkpoint (0: the initial evaluation), or None."""
        return None if self.checkpoint is None else int(self.checkpoint["step"])

    @property
    def usage(self) -> dict[str, Any]:
        """Tokens, cost and calls of the whole run so far, earlier processes included."""
        return usage_totals(self._meter, self._base_usage)

    def emit(self, type: str, step: int | None, **fields: Any) -> None:
        """Add an event to the current step; it is written by the next :meth:`commit`."""
        self._pending.append((type, step, fields))

    def commit(self, step: int, state: Mapping[str, Any]) -> None:
        """Write the step's events, then its checkpoint (``state`` plus the run's own state)."""
        assert self._log is not None, "commit() is only for a run opened with 'with'"
        usage = self.usage
        if step == 0:
            self._before_steps = usage
        self.emit("usage", step, **usage)
        for type, event_step, fields in self._pending:
            self._write(type, event_step, **fields)
        self._pending.clear()
        offset = self._log.sync()
        checkpoint = {
            **state,
            "step": step,
            "events_offset": offset,
            "usage": usage,
            "usage_before_steps": self._before_steps,
        }
        write_json_atomic(self.dir.checkpoint_path(step), checkpoint)
        self.checkpoint = checkpoint

    def check_budget(self, steps_done: int) -> None:
        """Raise :class:`RunStopped` ("budget") if the next step would exceed the budget."""
        reason = self.budget.refusal(self.usage, steps_done, self._before_steps)
        if reason is not None:
            raise RunStopped(
                self._stopped_message(f"stopped: {reason}"), status="budget", run_dir=self.path
            )

    def finish(self, results: Mapping[str, Any]) -> dict[str, Any]:
        """Write the remaining events, ``results.json`` and ``run_end``; returns the results."""
        assert self._log is not None
        final = {**results, "usage": self.usage, "run_dir": str(self.path)}
        self.emit(
            "usage", None, **final["usage"]
        )  # the whole run's totals, final evaluations included
        for type, event_step, fields in self._pending:
            self._write(type, event_step, **fields)
        self._pending.clear()
        write_json_atomic(self.dir.results_path, final)
        self._end("completed", f"run completed; results in {self.dir.results_path}", final)
        self.results = final
        return final


def iter_checkpoints(run_dir: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every checkpoint of a run, oldest first."""
    directory = RunDir(run_dir)
    for step in directory.checkpoint_steps():
        checkpoint: dict[str, Any] = read_json(directory.checkpoint_path(step))
        yield checkpoint
