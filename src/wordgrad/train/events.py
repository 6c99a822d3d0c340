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
``seq``    the line's position in the log (0-based); a rebuilt log keeps the numbers, so a
           gap shows which events were lost
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
``repair``
    The run found a damaged file when it started and repaired it: ``path`` (the file),
    ``message`` (what was wrong and what was done), ``lost_events`` (log lines that could not be
    recovered; 0 when none).
``run_end``
    ``status``: "completed", "interrupted" (Ctrl-C), "budget" (stopped before exceeding the
    token or cost budget) or "failed"; ``message``; ``results`` (the content of
    ``results.json`` when completed, else ``null``).

Exactly-once: the events of a step are written and synced *before* the step's checkpoint, and the
checkpoint records the log's length in bytes, its number of lines and the SHA-256 of those bytes
(a :class:`Mark`). A resumed run checks the log against the mark and cuts it back to that length
(never extending it), so after any crash each step appears exactly once. A log that does not
match (cut short, deleted, a line overwritten) is rebuilt from its readable lines whose ``seq``
the checkpoint covers; the damaged file is kept beside it and a ``repair`` event says what was
lost. (Events of a step that was cut short are
dropped, as the step itself is redone.) A clean stop (Ctrl-C, budget, error) writes its
``run_end`` and moves the checkpoint's mark past it, so the record of the stop survives the
resume; after ``kill -9`` there is no ``run_end``, only the next ``run_start`` with its
``resumed_from``.

Secrets never reach the log: :func:`redact` replaces API keys (``sk-...``, ``Bearer ...``,
``Authorization`` values, and fields named like ``api_key``/``token``/``secret``/``password``)
with ``[REDACTED]`` before anything is written.

Reading: :func:`read_events` returns typed objects (one dataclass per type); an unknown type comes
back as a plain :class:`Event` with its fields in ``extra``. Lines that cannot be read (torn,
garbage, NUL bytes) are skipped; :func:`read_log` also says which ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

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
    seq: int | None = None
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
class Repair(Event):
    path: str = ""
    message: str = ""
    lost_events: int = 0


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
    "repair": Repair,
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


@dataclass(frozen=True)
class Mark:
    """A point in the log: ``offset`` bytes, ``count`` events written so far (the next event's
    ``seq``; a rebuilt log may hold fewer lines), and the SHA-256 of those bytes.

    A checkpoint stores one (:meth:`as_json`); the log is proven intact up to a mark when its
    first ``offset`` bytes hash to ``sha256``.
    """

    offset: int = 0
    count: int = 0
    sha256: str = hashlib.sha256(b"").hexdigest()

    def as_json(self) -> dict[str, Any]:
        return {
            "events_offset": self.offset,
            "events_count": self.count,
            "events_sha256": self.sha256,
        }


def encode_event(type: str, step: int | None, seq: int, fields: Mapping[str, Any]) -> bytes:
    """One log line (UTF-8, newline-terminated) for an event; secrets redacted."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}; known: {', '.join(EVENT_TYPES)}")
    record = {"v": SCHEMA_VERSION, "type": type, "time": now(), "step": step, "seq": seq}
    record.update(redact(dict(fields)))
    return (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")


class EventLog:
    """Appends events to ``events.jsonl``; :meth:`sync` makes what was written durable.

    Writes go straight to the file (``os.write``), so a line is in the operating system's hands
    once :meth:`write` returns; :meth:`sync` fsyncs and returns the :class:`Mark` a checkpoint
    records. The log is never extended by anything but whole lines: cutting it back
    (:meth:`rewind`) only goes to a mark this object made or was opened at.

    Args:
        path: the log file (created if missing).
        start: where the log's proven part ends (a resume's checkpoint); anything after it is
            cut off. ``None``: continue after what the file holds (each of its lines counted).
        hasher: a ``hashlib.sha256`` object that has already read the file's first
            ``start.offset`` bytes (saves reading them again).

    Raises:
        OSError: the file cannot be opened or is shorter than ``start`` says.
    """

    def __init__(self, path: Path, start: Mark | None = None, *, hasher: Any = None) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            size = os.fstat(self._fd).st_size
            if start is None:
                data = _read_all(self._fd)
                start = Mark(len(data), data.count(b"\n"), hashlib.sha256(data).hexdigest())
                hasher = hashlib.sha256(data)
            elif size < start.offset:
                raise OSError(f"{path} holds {size} bytes, fewer than the {start.offset} expected")
            if hasher is None:
                hasher = hashlib.sha256(_read_all(self._fd)[: start.offset])
            if size > start.offset:
                os.ftruncate(self._fd, start.offset)
        except BaseException:
            os.close(self._fd)
            raise
        os.lseek(self._fd, start.offset, os.SEEK_SET)
        self._offset, self._count, self._hasher = start.offset, start.count, hasher
        self._marks: dict[int, tuple[int, Any]] = {start.offset: (start.count, hasher.copy())}

    @property
    def count(self) -> int:
        """Events written so far (the next event's ``seq``)."""
        return self._count

    def write(self, type: str, step: int | None = None, **fields: Any) -> None:
        """Append one event of ``type`` with ``fields`` (secrets redacted)."""
        line = encode_event(type, step, self._count, fields)
        write_all(self._fd, line)
        self._hasher.update(line)
        self._offset += len(line)
        self._count += 1

    def mark(self) -> Mark:
        """Where the log stands now (not synced; :meth:`sync` syncs and returns it)."""
        self._marks[self._offset] = (self._count, self._hasher.copy())
        return Mark(self._offset, self._count, self._hasher.hexdigest())

    def sync(self) -> Mark:
        """fsync the log; returns its :class:`Mark` (what a checkpoint records)."""
        os.fsync(self._fd)
        return self.mark()

    def rewind(self, offset: int) -> None:
        """Cut the log back to ``offset``, a mark made earlier (dropping what came after)."""
        if offset not in self._marks:
            raise ValueError(f"{offset} is not a mark of {self.path}")
        count, hasher = self._marks[offset]
        os.ftruncate(self._fd, offset)
        os.lseek(self._fd, offset, os.SEEK_SET)
        self._offset, self._count, self._hasher = offset, count, hasher.copy()

    def close(self) -> None:
        if self._fd >= 0:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = -1


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until all of ``data`` is written (a write may take only part of it)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


# --------------------------------------------------------------------------- reading


def parse_event(record: Mapping[str, Any]) -> Event:
    """One decoded JSON line as its dataclass (unknown fields go to ``extra``)."""
    cls = EVENT_TYPES.get(str(record.get("type")), Event)
    names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
    known = {k: v for k, v in record.items() if k in names}
    extra = {k: v for k, v in record.items() if k not in names}
    return cls(**known, extra=extra)


@dataclass(frozen=True)
class SkippedLine:
    """A line of the log that could not be read: its 1-based ``line`` number and why."""

    line: int
    reason: str


@dataclass
class LogContents:
    """What :func:`read_log` found: the events, and the lines it had to skip."""

    events: list[Event] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)

    def describe_skipped(self, name: str = EVENTS_FILE) -> str:
        """One line saying which lines were skipped and why ("" when none were)."""
        if not self.skipped:
            return ""
        shown = ", ".join(f"{s.line} ({s.reason})" for s in self.skipped[:5])
        more = f" and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
        count = len(self.skipped)
        lines = f"{count} line{'s' * (count != 1)}"
        return f"{lines} of {name} could not be read and were skipped: {shown}{more}"


def decode_line(raw: bytes) -> dict[str, Any] | str:
    """A log line's JSON object, or why it cannot be read."""
    if not raw.endswith(b"\n"):
        return "cut short"
    if b"\x00" in raw:
        return "NUL bytes"
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8"
    except json.JSONDecodeError:
        return "not JSON"
    if not isinstance(record, dict) or not isinstance(record.get("type"), str):
        return "not an event"
    return record


def iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(byte offset, raw line)`` for each line of ``path`` (the last may lack its newline)."""
    offset = 0
    with open(path, "rb") as handle:
        for raw in handle:
            yield offset, raw
            offset += len(raw)


def read_log(run_dir: str | os.PathLike[str]) -> LogContents:
    """The events of the run in ``run_dir``, skipping lines that cannot be read (torn, garbage,
    NUL bytes, not an event), and which lines those were. A missing log has no events."""
    path = Path(run_dir) / EVENTS_FILE
    contents = LogContents()
    if not path.exists():
        return contents
    for number, (_, raw) in enumerate(iter_lines(path), start=1):
        record = decode_line(raw)
        if isinstance(record, str):
            if raw.strip(b"\x00 \t\r\n"):
                contents.skipped.append(SkippedLine(number, record))
            elif b"\x00" in raw:
                contents.skipped.append(SkippedLine(number, "NUL bytes"))
            continue
        try:
            contents.events.append(parse_event(record))
        except TypeError:
            contents.skipped.append(SkippedLine(number, "fields of the wrong kind"))
    return contents


def iter_events(run_dir: str | os.PathLike[str]) -> Iterator[Event]:
    """The events of a run, in order; lines that cannot be read are skipped (see
    :func:`read_log` to learn which)."""
    yield from read_log(run_dir).events


def read_events(run_dir: str | os.PathLike[str]) -> list[Event]:
    """All events of the run in ``run_dir`` as typed objects (e.g. ``Step``, ``Evaluation``);
    unreadable lines are skipped (:func:`read_log` says which)."""
    return read_log(run_dir).events


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
    "LogContents",
    "Loss",
    "Mark",
    "Question",
    "Repair",
    "RunEnd",
    "RunStart",
    "Step",
    "Usage",
    "parse_event",
    "read_events",
    "read_log",
    "redact",
]
