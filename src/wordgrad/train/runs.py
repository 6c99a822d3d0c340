"""A run is a directory: its settings, its event log, its usage ledger, the newest checkpoints,
its results.

::

    runs/my-run/
        config.json               what the run computes (checked again on every resume)
        events.jsonl              the event log (schema: :mod:`wordgrad.train.events`)
        usage.jsonl               one line per finished LLM call, synced as the call finishes
        checkpoints/step-0003.json  everything needed to continue after step 3 (the newest
                                  ``keep_checkpoints`` are kept)
        results.json              written once, when the run completes
        .lock                     held (``fcntl.flock``) by the process running the run

**Saving.** A step is committed in this order: its events are appended to the log and the log is
fsynced; then the checkpoint, which records the log's :class:`~wordgrad.train.events.Mark`
(length, line count, SHA-256) and the usage ledger's length, is written atomically (a temporary
file, fsynced, ``os.replace``, the directory fsynced); then checkpoints older than the newest
``keep_checkpoints`` are removed. The end of a run appends the final events and ``run_end`` (with
the results) to the log and fsyncs it *before* ``results.json`` is written, so a crash between
the two is repaired on the next start from the log, without redoing anything. A crash anywhere
else resumes from the newest checkpoint: work after it is redone, and its log lines dropped.

**Usage.** Every finished call is appended to ``usage.jsonl`` and fsynced before its reply is
used; a checkpoint records the totals and the ledger's length, and a resume adds what the ledger
holds past that length. So calls of a step cut short by a crash still count, and ``max_cost``
holds across crashes.

**Damage.** A checkpoint carries a SHA-256 of its own content: a corrupt, cut, empty or edited one
is named in one line, moved aside (``step-0005.json.damaged``) and the next older one is used. A
log that does not match its checkpoint is rebuilt from its readable lines (the damaged file is
kept as ``events.jsonl.damaged-<time>``); a ``repair`` event records what was lost. A
``results.json`` that cannot be read is written again from the log. Each repair is logged on
the ``wordgrad.runs`` logger at WARNING and kept in :attr:`Run.repairs`.

**One process per directory.** :class:`Run` takes an exclusive lock on ``.lock``; a second
process gets :class:`RunLockedError` naming the process that holds it.

**Disks.** A full disk, a read-only directory or missing permissions raise
:class:`RunStorageError`: one line naming the file and what to do. After space is freed, running
the same command again continues from the newest checkpoint.

:class:`Run` is what loops use: it opens the directory, buffers each step's events and commits
them together with the step's checkpoint (so the log holds each finished step exactly once),
keeps token and cost totals across resumes, enforces a budget, and turns Ctrl-C into a clean
stop (:class:`RunStopped`).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import wordgrad
from wordgrad.engine.usage import UsageMeter, call_cost, price_for, track
from wordgrad.errors import WordgradError
from wordgrad.llm import Purpose, Response
from wordgrad.train.events import (
    EVENTS_FILE,
    EventLog,
    Mark,
    decode_line,
    iter_lines,
    redact,
    write_all,
)

CONFIG_FILE = "config.json"
RESULTS_FILE = "results.json"
USAGE_FILE = "usage.jsonl"
LOCK_FILE = ".lock"
CHECKPOINTS = "checkpoints"
DEFAULT_KEEP_CHECKPOINTS = 3
"""Checkpoints kept by default: the newest and two before it, so a damaged newest one still
leaves one to resume from."""
_CHECKPOINT_NAME = re.compile(r"^step-(\d+)\.json$")
_CHECKSUM = "checksum"
_RUN_KEYS = ("step", "events_offset", "usage", "usage_before_steps")

logger = logging.getLogger("wordgrad.runs")


class RunConfigError(WordgradError):
    """The run directory holds a run with different settings."""


class RunLockedError(WordgradError):
    """Another process is running the run in this directory (``pid``: its process id, if known)."""

    def __init__(self, message: str, *, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


class RunStorageError(WordgradError, OSError):
    """A file of the run cannot be written or read: a full disk, a read-only directory, missing
    permissions. The message names the file and what to do; ``path`` is the file."""

    def __init__(self, message: str, *, path: Path, error_number: int | None) -> None:
        super().__init__(message)
        self.path = path
        self.error_number = error_number


class RunDamagedError(WordgradError):
    """A file of the run is damaged in a way that cannot be repaired without losing work the
    user may want; the message says which file and what to do."""


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


_FULL = {errno.ENOSPC, errno.EDQUOT}
_READ_ONLY = {errno.EROFS}
_DENIED = {errno.EACCES, errno.EPERM}


def explain_os_error(error: OSError) -> tuple[str, str]:
    """``(what went wrong, what to do)`` for an error of the disk or the file system."""
    number = error.errno
    if number in _FULL:
        return (
            "no space left on the device",
            "free some space, then run the same command again to continue from the last checkpoint",
        )
    if number in _READ_ONLY:
        return (
            "the file system is read-only",
            "give a writable --run-dir (or remount it read-write)",
        )
    if number in _DENIED:
        return (
            "permission denied",
            "make the directory writable for this user (chmod/chown) or give another --run-dir",
        )
    return (
        error.strerror or str(error),
        "check the disk and the directory, then run the same command again",
    )


def storage_error(path: Path, error: OSError, doing: str = "write") -> RunStorageError:
    """``error`` (raised while doing ``doing`` to ``path``) as one line saying what to do."""
    where = Path(error.filename) if error.filename else path
    why, fix = explain_os_error(error)
    return RunStorageError(
        f"cannot {doing} {where}: {why}; {fix}", path=where, error_number=error.errno
    )


@contextmanager
def _storage(path: Path, doing: str = "write") -> Iterator[None]:
    """Turn an ``OSError`` inside the block into a :class:`RunStorageError` about ``path``."""
    try:
        yield
    except RunStorageError:
        raise
    except OSError as error:
        raise storage_error(path, error, doing) from error


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as compact JSON to ``path`` so that a crash leaves the old file or the new
    one (:func:`write_text_atomic`)."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves the old file or the new one.

    A temporary file beside it is written and fsynced, renamed over ``path`` (``os.replace``),
    and the directory fsynced. Raises :class:`RunStorageError` when the disk refuses.
    """
    data = text.encode("utf-8")
    with _storage(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            try:
                write_all(handle, data)
                os.fsync(handle)
            finally:
                os.close(handle)
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


def _checksum(content: Mapping[str, Any]) -> str:
    """SHA-256 of ``content`` without its checksum, as canonical JSON."""
    body = {k: v for k, v in content.items() if k != _CHECKSUM}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CheckpointDamaged(Exception):
    """Internal: a checkpoint that does not read back whole; the message says why."""


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
    def usage_path(self) -> Path:
        return self.path / USAGE_FILE

    @property
    def lock_path(self) -> Path:
        return self.path / LOCK_FILE

    @property
    def checkpoints_path(self) -> Path:
        return self.path / CHECKPOINTS

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_path / f"step-{step:04d}.json"

    def checkpoint_steps(self) -> list[int]:
        """The steps that have a checkpoint file, in order (damaged ones included)."""
        if not self.checkpoints_path.is_dir():
            return []
        found = (_CHECKPOINT_NAME.match(p.name) for p in self.checkpoints_path.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def read_checkpoint(self, step: int) -> dict[str, Any]:
        """The checkpoint of ``step``, checked whole (its checksum, its run keys, its step).

        Raises:
            CheckpointDamaged: it cannot be read, is cut short or empty, lacks a key, or its
                content does not match its checksum.
        """
        path = self.checkpoint_path(step)
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise CheckpointDamaged(f"cannot be read ({error.strerror})") from error
        if not raw.strip():
            raise CheckpointDamaged("is empty")
        try:
            content = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CheckpointDamaged(f"is not whole JSON ({error})") from error
        if not isinstance(content, dict):
            raise CheckpointDamaged("does not hold a JSON object")
        missing = [key for key in _RUN_KEYS if key not in content]
        if missing:
            raise CheckpointDamaged(f"lacks {', '.join(missing)}")
        if _CHECKSUM in content and content[_CHECKSUM] != _checksum(content):
            raise CheckpointDamaged("does not match its checksum (edited or partly overwritten)")
        if content["step"] != step:
            raise CheckpointDamaged(f"holds step {content['step']!r}, not {step}")
        return content

    def whole_checkpoints(self) -> Iterator[tuple[int, dict[str, Any] | CheckpointDamaged]]:
        """``(step, checkpoint or why it is damaged)``, newest first."""
        for step in reversed(self.checkpoint_steps()):
            try:
                yield step, self.read_checkpoint(step)
            except CheckpointDamaged as damage:
                yield step, damage

    def latest_checkpoint(self) -> dict[str, Any] | None:
        """The newest checkpoint that reads back whole, or None."""
        for _, checkpoint in self.whole_checkpoints():
            if not isinstance(checkpoint, CheckpointDamaged):
                return checkpoint
        return None

    def results(self) -> dict[str, Any] | None:
        """``results.json`` of a completed run, or None (also when it cannot be read)."""
        try:
            results = read_json(self.results_path)
        except (OSError, ValueError):
            return None
        return results if isinstance(results, dict) else None

    def clear(self) -> None:
        """Remove everything a run wrote (for ``force=True``); the lock file stays."""
        for path in (self.config_path, self.events_path, self.results_path, self.usage_path):
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
    return _with_totals(by_purpose)


def _with_totals(by_purpose: dict[str, dict[str, float]]) -> dict[str, Any]:
    rows = by_purpose.values()
    return {
        "calls": int(sum(r["calls"] for r in rows)),
        "total_tokens": int(sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows)),
        "cost_usd": float(sum(r["cost_usd"] for r in rows)),
        "by_purpose": dict(sorted(by_purpose.items())),
    }


def add_ledger_entry(usage: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """``usage`` (as :func:`usage_totals` gives it) plus one line of ``usage.jsonl``."""
    by_purpose = {purpose: dict(row) for purpose, row in usage.get("by_purpose", {}).items()}
    row = by_purpose.setdefault(str(entry.get("purpose", "other")), dict.fromkeys(_USAGE_FIELDS, 0))
    row["calls"] = row.get("calls", 0) + 1
    if entry.get("cached"):
        row["cached_calls"] = row.get("cached_calls", 0) + 1
    else:
        for name in ("prompt_tokens", "completion_tokens", "cost_usd", "latency_s"):
            row[name] = row.get(name, 0) + _number(entry.get(name))
    return _with_totals(by_purpose)


def _number(value: Any) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


class UsageLedger(UsageMeter):
    """A usage meter that also appends every call to ``usage.jsonl`` and fsyncs it before the
    call's reply is used, so a crash cannot lose a paid call.

    Each line: ``{"time", "engine", "model", "purpose", "prompt_tokens", "completion_tokens",
    "cost_usd", "latency_s", "cached"}``. :meth:`snapshot` gives the totals together with the
    ledger's length, as one consistent pair (what a checkpoint records).

    Raises:
        RunStorageError: the ledger cannot be written (full disk, read-only directory).
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._ledger_lock = threading.Lock()
        with _storage(path):
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self._offset = os.fstat(self._fd).st_size

    def record(self, engine_name: str, purpose: Purpose, response: Response) -> None:
        model = response.model or engine_name
        cost = 0.0 if response.cached else call_cost(price_for(engine_name, model), response)
        entry = {
            "time": datetime.now(timezone.utc).isoformat(),
            "engine": engine_name,
            "model": model,
            "purpose": purpose,
            "prompt_tokens": response.usage.prompt_tokens,
            "completion_tokens": response.usage.completion_tokens,
            "cost_usd": cost,
            "latency_s": response.latency_s,
            "cached": bool(response.cached),
        }
        line = (json.dumps(entry, separators=(",", ":")) + "\n").encode("utf-8")
        with self._ledger_lock:
            if self._fd >= 0:
                with _storage(self.path):
                    try:
                        write_all(self._fd, line)
                        if not response.cached:  # a cache hit cost nothing: no need to wait
                            os.fsync(self._fd)
                    except OSError:  # e.g. a full disk: no half line is left behind
                        with suppress(OSError):
                            os.ftruncate(self._fd, self._offset)
                        raise
                self._offset += len(line)
            super().record(engine_name, purpose, response)

    def snapshot(self, base: Mapping[str, Any] | None) -> tuple[dict[str, Any], int]:
        """``(usage totals including base, the ledger's length in bytes)``, taken together."""
        with self._ledger_lock:
            return usage_totals(self, base), self._offset

    def close(self) -> None:
        with self._ledger_lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def read_ledger_tail(path: Path, offset: int) -> tuple[list[dict[str, Any]], str | None]:
    """The calls ``usage.jsonl`` records after byte ``offset``, and what was wrong with it
    (None when nothing was): shorter than ``offset`` (cut or deleted) or unreadable lines."""
    if not path.exists():
        return [], (f"{path} is missing" if offset else None)
    entries: list[dict[str, Any]] = []
    unreadable = 0
    size = path.stat().st_size
    if size < offset:
        return [], f"{path} holds {size} bytes, fewer than the {offset} a checkpoint counted"
    with open(path, "rb") as handle:
        handle.seek(offset)
        for raw in handle:
            try:
                entry = json.loads(raw.decode("utf-8")) if raw.endswith(b"\n") else None
            except (UnicodeDecodeError, json.JSONDecodeError):
                entry = None
            if isinstance(entry, dict) and "purpose" in entry:
                entries.append(entry)
            elif raw.strip(b"\x00 \t\r\n"):
                unreadable += 1
    problem = f"{unreadable} unreadable line(s) in {path} were not counted" if unreadable else None
    return entries, problem


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
    """One run of a loop in a directory: lock, resume, repairs, events, checkpoints, usage,
    budget, Ctrl-C.

    Use it as a context manager::

        with Run(path, kind="prompt", config=settings) as run:
            if run.results is not None:        # the run already completed
                return run.results
            state = run.checkpoint             # None on a fresh start
            ...
            run.emit("step", step, ...)       # buffered until commit
            run.commit(step, state_dict)       # events, then checkpoint (see the module docs)
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
        keep_checkpoints: how many of the newest checkpoints to keep (at least 1; ``None``:
            all). The last one of a completed run is always among them.

    Raises (on entering):
        RunLockedError: another process runs this directory.
        RunConfigError: the directory holds checkpoints of other settings.
        RunStorageError: the directory cannot be written.
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
        keep_checkpoints: int | None = DEFAULT_KEEP_CHECKPOINTS,
    ) -> None:
        if keep_checkpoints is not None and keep_checkpoints < 1:
            raise ValueError(
                f"keep_checkpoints must be at least 1 (or None), got {keep_checkpoints}"
            )
        self.dir = RunDir(run_dir)
        self.on_event = on_event
        self.kind = kind
        self.config = json.loads(json.dumps(redact(dict(config))))
        self.force = force
        self.budget = budget or Budget()
        self.keep_checkpoints = keep_checkpoints
        self.checkpoint: dict[str, Any] | None = None
        self.results: dict[str, Any] | None = None
        self.repairs: list[str] = []
        """One line per damaged file found and repaired when the run started."""
        self._repair_events: list[dict[str, Any]] = []
        self._pending: list[tuple[str, int | None, dict[str, Any]]] = []
        self._stack = ExitStack()
        self._meter: UsageMeter = UsageMeter()
        self._ledger: UsageLedger | None = None
        self._base_usage: dict[str, Any] = {}
        self._before_steps: dict[str, Any] = {}
        self._log: EventLog | None = None
        self._mark = Mark()
        self._after_start = 0

    @property
    def path(self) -> Path:
        return self.dir.path

    # ------------------------------------------------------------------ opening and closing

    def __enter__(self) -> Run:
        try:
            self._open()
        except BaseException:
            self._stack.close()
            raise
        return self

    def _open(self) -> None:
        with _storage(self.dir.path, "create"):
            self.dir.path.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        if self.force:
            with _storage(self.dir.path, "clear"):
                self.dir.clear()
        self.checkpoint = self._newest_checkpoint()
        self._check_config()
        self.results = self._completed_results()
        if self.checkpoint is not None:
            self._before_steps = dict(self.checkpoint["usage_before_steps"])
        if self.results is not None:
            return  # complete: nothing to append
        self._base_usage = self._usage_so_far()
        self._ledger = UsageLedger(self.dir.usage_path)
        self._stack.callback(self._ledger.close)
        self._meter = self._stack.enter_context(track(self._ledger, scope="context"))
        self._log = self._open_log()
        self._stack.callback(self._log.close)
        self._write(
            "run_start",
            kind=self.kind,
            config=self.config,
            resumed_from=self.checkpoint["step"] if self.checkpoint else None,
            wordgrad_version=wordgrad.__version__,
        )
        for repair in self._repair_events:
            self._write("repair", None, **repair)
        with _storage(self.dir.events_path):
            self._after_start = self._log.sync().offset

    def _take_lock(self) -> None:
        """Hold an exclusive ``flock`` on ``.lock`` until the run closes; it names our pid."""
        path = self.dir.lock_path
        with _storage(path):
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(descriptor)
            if error.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                raise storage_error(path, error, "lock") from error
            holder = _lock_holder(path)
            pid = int(holder.split()[0]) if holder and holder.split()[0].isdigit() else None
            who = f"process {holder}" if holder else "another process"
            raise RunLockedError(
                f"{self.dir.path} is in use by {who}; wait for it to finish or stop it "
                "(one process per run directory), or give another --run-dir",
                pid=pid,
            ) from None
        self._stack.callback(os.close, descriptor)
        words = [os.path.basename(sys.argv[0]), *sys.argv[1:]] if sys.argv else []
        command = str(redact(" ".join(words)))
        with _storage(path):
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{os.getpid()} ({command[:200]})\n".encode(), 0)

    def _repair(self, path: Path, message: str, lost_events: int = 0) -> None:
        """Record a repair: a warning now, a ``repair`` event in the log once it is open."""
        self.repairs.append(message)
        self._repair_events.append(
            {"path": str(path), "message": message, "lost_events": lost_events}
        )
        logger.warning("%s", message)

    def _newest_checkpoint(self) -> dict[str, Any] | None:
        """The newest checkpoint that reads back whole; damaged newer ones are moved aside."""
        damaged: list[str] = []
        found: dict[str, Any] | None = None
        for step, checkpoint in self.dir.whole_checkpoints():
            if not isinstance(checkpoint, CheckpointDamaged):
                found = checkpoint
                break
            path = self.dir.checkpoint_path(step)
            with _storage(path, "move aside"):
                os.replace(path, path.with_name(path.name + ".damaged"))
            damaged.append(f"checkpoint {path} {checkpoint} (kept as {path.name}.damaged)")
        for line in damaged:
            where = f"step {found['step']}" if found is not None else "the start"
            self._repair(self.dir.checkpoints_path, f"{line}; resuming from {where}")
        return found

    def _check_config(self) -> None:
        saved_path = self.dir.config_path
        try:
            saved: Any = read_json(saved_path)
            problem = None if isinstance(saved, dict) else "does not hold a JSON object"
        except FileNotFoundError:
            saved, problem = None, "is missing"
        except (OSError, ValueError) as error:
            saved, problem = None, f"cannot be read ({error})"
        if problem is None and not self.force:
            differences = config_differences(saved, self.config)
            if differences and (self.checkpoint is not None or self.dir.results() is not None):
                raise RunConfigError(
                    f"{self.dir.path} holds a run with other settings ("
                    + "; ".join(differences)
                    + "). Use another --run-dir, or --force to discard that run and start over"
                )
            if not differences:
                return
            with _storage(self.dir.path, "clear"):  # nothing was saved: a new try
                self.dir.clear()
        elif problem is not None and self.checkpoint is not None and not self.force:
            wanted = _checksum(self.config)
            if self.checkpoint.get("config_sha256", wanted) != wanted:
                raise RunConfigError(
                    f"{saved_path} {problem} and the checkpoints in {self.dir.path} were made "
                    "with other settings. Use another --run-dir, or --force to discard that "
                    "run and start over"
                )
            self._repair(saved_path, f"{saved_path} {problem}; written again from the settings")
        write_json_atomic(saved_path, self.config)

    def _completed_results(self) -> dict[str, Any] | None:
        """``results.json``; when it is missing or damaged but the log holds the run's
        completed ``run_end`` (a crash between the two writes), it is written again from it."""
        results = self.dir.results()
        if results is not None:
            return results
        offset = int(self.checkpoint["events_offset"]) if self.checkpoint else 0
        if not self.dir.events_path.exists():
            return None
        found: dict[str, Any] | None = None
        with _storage(self.dir.events_path, "read"):
            for position, raw in iter_lines(self.dir.events_path):
                if position < offset:
                    continue
                record = decode_line(raw)
                if (
                    isinstance(record, dict)
                    and record.get("type") == "run_end"
                    and record.get("status") == "completed"
                    and isinstance(record.get("results"), dict)
                ):
                    found = record["results"]
        if found is None:
            if self.dir.results_path.exists():
                self._repair(
                    self.dir.results_path,
                    f"{self.dir.results_path} cannot be read and the log has no completed "
                    "end to rebuild it from; finishing the run again",
                )
            return None
        self._repair(self.dir.results_path, f"{self.dir.results_path} written again from the log")
        write_json_atomic(self.dir.results_path, found)
        return found

    def _usage_so_far(self) -> dict[str, Any]:
        """The newest checkpoint's usage plus every call the ledger holds after it."""
        usage: dict[str, Any] = dict(self.checkpoint["usage"]) if self.checkpoint else {}
        offset = int(self.checkpoint.get("usage_offset", 0)) if self.checkpoint else 0
        with _storage(self.dir.usage_path, "read"):
            entries, problem = read_ledger_tail(self.dir.usage_path, offset)
        for entry in entries:
            usage = add_ledger_entry(usage, entry)
        if problem is not None:
            self._repair(self.dir.usage_path, f"{problem}; counted what could be read")
            if self.checkpoint is not None:  # the checkpoint takes the totals; a fresh ledger
                aside = self.dir.usage_path.with_name(f"{USAGE_FILE}.damaged-{_stamp()}")
                with _storage(self.dir.usage_path):
                    if self.dir.usage_path.exists():
                        os.replace(self.dir.usage_path, aside)
                self.checkpoint = {**self.checkpoint, "usage": usage, "usage_offset": 0}
                self._save_checkpoint(self.checkpoint)
        return usage

    def _open_log(self) -> EventLog:
        """The log, checked against the checkpoint's mark, cut back to it (never extended), or
        rebuilt when it does not match."""
        path = self.dir.events_path
        if self.checkpoint is None:
            with _storage(path):
                if _records_saved_steps(path):  # its checkpoints are gone: keep it, start over
                    aside = path.with_name(f"{path.name}.damaged-{_stamp()}")
                    os.replace(path, aside)
                    self._repair(
                        path,
                        f"{path} records saved steps but no checkpoint of them reads back whole; "
                        f"starting over (the old log is kept as {aside.name})",
                    )
                return EventLog(path, Mark())
        mark = _mark_of(self.checkpoint)
        with _storage(path, "read"):
            intact, hasher, why = _check_prefix(path, mark)
        if intact:
            with _storage(path):
                log = EventLog(path, mark, hasher=hasher)
            self._mark = mark
            return log
        if mark.sha256 == "":
            raise RunDamagedError(
                f"{path} {why}, and the checkpoint (an older format) cannot tell which lines "
                "are whole. Use --force to start over, or another --run-dir"
            )
        with _storage(path):
            rebuilt = self._rebuild_log(path, mark, why)
            log = EventLog(path, rebuilt, hasher=hashlib.sha256(path.read_bytes()))
        self._mark = rebuilt
        return log

    def _rebuild_log(self, path: Path, mark: Mark, why: str) -> Mark:
        """Rewrite the log from its readable lines that the checkpoint covers (``seq`` below
        its count); keep the damaged file beside it; point the checkpoint at the result."""
        kept: dict[int, bytes] = {}
        if path.exists():
            for _, raw in iter_lines(path):
                record = decode_line(raw)
                if not isinstance(record, dict):
                    continue
                seq = record.get("seq")
                if isinstance(seq, int) and 0 <= seq < mark.count and seq not in kept:
                    kept[seq] = raw
        content = b"".join(kept[seq] for seq in sorted(kept))
        lost = mark.count - len(kept)
        aside = path.with_name(f"{path.name}.damaged-{_stamp()}")
        if path.exists():
            os.replace(path, aside)
            kept_as = f"; the damaged file is kept as {aside.name}"
        else:
            kept_as = ""
        write_text_atomic(path, content.decode("utf-8"))
        rebuilt = Mark(len(content), mark.count, hashlib.sha256(content).hexdigest())
        assert self.checkpoint is not None
        self.checkpoint = {**self.checkpoint, **rebuilt.as_json()}
        self._save_checkpoint(self.checkpoint)
        self._repair(
            path,
            f"{path} {why}; rebuilt from the {len(kept)} of {mark.count} events up to step "
            f"{self.checkpoint['step']} that could still be read ({lost} lost){kept_as}",
            lost_events=lost,
        )
        return rebuilt

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        try:
            if exc is None or self._log is None or self.results is not None:
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
            if isinstance(exc, RunStorageError):
                return  # the disk refuses: writing more would fail too
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

    def _end(self, status: str, message: str) -> None:
        """Write ``run_end`` of a run that stops early; keep it (and this process's
        ``run_start``) past the newest checkpoint's mark, and drop events of a step cut short."""
        assert self._log is not None
        self._pending.clear()
        on_disk = self.dir.latest_checkpoint()  # Ctrl-C may land after a checkpoint's rename
        if on_disk is not None and int(on_disk["step"]) > (self.last_step or -1):
            self.checkpoint, self._mark = on_disk, _mark_of(on_disk)
        with _storage(self.dir.events_path):
            if self.checkpoint is not None:
                self._log.rewind(max(self._mark.offset, self._after_start))
            self._write("run_end", status=status, message=message, results=None)
            mark = self._log.sync()
        if self.checkpoint is not None:
            self.checkpoint = {**self.checkpoint, **mark.as_json()}
            self._save_checkpoint(self.checkpoint)
            self._mark = mark

    def _write(self, type: str, step: int | None = None, **fields: Any) -> None:
        assert self._log is not None
        with _storage(self.dir.events_path):
            self._log.write(type, step, **fields)
        if self.on_event is not None:
            self.on_event(type, step, **fields)

    def _save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint.pop(_CHECKSUM, None)
        checkpoint[_CHECKSUM] = _checksum(checkpoint)
        write_json_atomic(self.dir.checkpoint_path(int(checkpoint["step"])), checkpoint)

    def _prune(self) -> None:
        """Remove checkpoints older than the newest ``keep_checkpoints``."""
        if self.keep_checkpoints is None:
            return
        for step in self.dir.checkpoint_steps()[: -self.keep_checkpoints]:
            path = self.dir.checkpoint_path(step)
            with _storage(path, "remove"):
                path.unlink(missing_ok=True)

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
        return self._usage_snapshot()[0]

    def _usage_snapshot(self) -> tuple[dict[str, Any], int]:
        if self._ledger is None:
            return usage_totals(self._meter, self._base_usage), 0
        return self._ledger.snapshot(self._base_usage)

    def emit(self, type: str, step: int | None, **fields: Any) -> None:
        """Add an event to the current step; it is written by the next :meth:`commit`."""
        self._pending.append((type, step, fields))

    def _flush_pending(self) -> None:
        for type, event_step, fields in self._pending:
            self._write(type, event_step, **fields)
        self._pending.clear()

    def commit(self, step: int, state: Mapping[str, Any]) -> None:
        """Save a finished step: its events (appended to the log, then fsynced), then its
        checkpoint (``state`` plus the run's own state, written atomically), then drop
        checkpoints beyond ``keep_checkpoints``. A crash anywhere in between resumes from the
        previous checkpoint."""
        assert self._log is not None, "commit() is only for a run opened with 'with'"
        usage, ledger_offset = self._usage_snapshot()
        if step == 0:
            self._before_steps = usage
        self.emit("usage", step, **usage)
        self._flush_pending()
        with _storage(self.dir.events_path):
            mark = self._log.sync()
        checkpoint = {
            **state,
            "step": step,
            **mark.as_json(),
            "usage": usage,
            "usage_offset": ledger_offset,
            "usage_before_steps": self._before_steps,
            "config_sha256": _checksum(self.config),
        }
        self._save_checkpoint(checkpoint)
        self.checkpoint, self._mark = checkpoint, mark
        self._prune()

    def check_budget(self, steps_done: int) -> None:
        """Raise :class:`RunStopped` ("budget") if the next step would exceed the budget."""
        reason = self.budget.refusal(self.usage, steps_done, self._before_steps)
        if reason is not None:
            raise RunStopped(
                self._stopped_message(f"stopped: {reason}"), status="budget", run_dir=self.path
            )

    def finish(self, results: Mapping[str, Any]) -> dict[str, Any]:
        """Write the remaining events and ``run_end`` (with the results), fsync the log, then
        write ``results.json``; returns the results."""
        assert self._log is not None
        final = {**results, "usage": self.usage, "run_dir": str(self.path)}
        self.emit("usage", None, **final["usage"])  # the whole run's, final evaluations included
        self._flush_pending()
        message = f"run completed; results in {self.dir.results_path}"
        self._write("run_end", status="completed", message=message, results=final)
        with _storage(self.dir.events_path):
            self._log.sync()
        write_json_atomic(self.dir.results_path, final)
        self.results = final
        return final


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def _lock_holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def _records_saved_steps(path: Path) -> bool:
    """Whether a log holds a ``usage`` event: one is written with every checkpoint."""
    if not path.exists():
        return False
    return any(
        isinstance(record, dict) and record.get("type") == "usage"
        for record in (decode_line(raw) for _, raw in iter_lines(path))
    )


def _mark_of(checkpoint: Mapping[str, Any]) -> Mark:
    """The log mark a checkpoint recorded (``sha256`` empty for checkpoints of older versions)."""
    return Mark(
        int(checkpoint["events_offset"]),
        int(checkpoint.get("events_count", 0)),
        str(checkpoint.get("events_sha256", "")),
    )


def _check_prefix(path: Path, mark: Mark) -> tuple[bool, Any, str]:
    """Whether ``path`` starts with the bytes ``mark`` describes: ``(intact, hasher of the
    prefix, what is wrong)``. A checkpoint of an older version (no hash) is checked by length."""
    if not path.exists():
        return False, None, "is missing"
    hasher = hashlib.sha256()
    remaining = mark.offset
    with open(path, "rb") as handle:
        while remaining:
            chunk = handle.read(min(remaining, 1 << 20))
            if not chunk:
                return (
                    False,
                    None,
                    f"is shorter than the {mark.offset} bytes the checkpoint saw (cut short)",
                )
            hasher.update(chunk)
            remaining -= len(chunk)
    if mark.sha256 and hasher.hexdigest() != mark.sha256:
        return False, None, "does not match what the checkpoint saw (lines changed or unreadable)"
    return True, hasher, ""


def iter_checkpoints(run_dir: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every checkpoint of a run that reads back whole, oldest first (damaged ones skipped)."""
    directory = RunDir(run_dir)
    for step in directory.checkpoint_steps():
        try:
            yield directory.read_checkpoint(step)
        except CheckpointDamaged:
            continue
