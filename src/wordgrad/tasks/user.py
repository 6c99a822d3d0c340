"""One's own tasks: data from records or JSONL / CSV files, a metric, a starting prompt; and
tasks registered by name.

::

    from wordgrad.tasks.user import make_task
    task = make_task("train.jsonl", "val.jsonl", input_field="question", target_field="answer",
                     metric="exact", prompt="Answer the question.")

    # or in code, with a function metric that explains its verdict
    def metric(prediction, example):
        ok = example.target in prediction
        return (1.0, "") if ok else (0.0, f"the answer must mention {example.target}")
    task = make_task([{"question": "2+2?", "answer": "4"}, ...], metric=metric, prompt="...")

Files: ``.jsonl`` (one JSON object per line), ``.json`` (a list of objects) or ``.csv`` (a header
row names the fields). Every record must have the input field and the target field; a missing
field or an empty file is an error that names the file, the line and the fields it has.

**Registered tasks** work wherever a built-in task name does (``--task my_task``,
``wordgrad tasks``, ``load_task``)::

    from wordgrad.tasks.user import register_task
    register_task("my_task", lambda: make_task("data/train.jsonl", "data/val.jsonl", ...))

Put that in a module and load it with ``--plugin my_module`` (or ``$WORDGRAD_PLUGINS``), or name
the factory in an installed package's entry points, group ``wordgrad.tasks``::

    [project.entry-points."wordgrad.tasks"]
    my_task = "my_package.tasks:make_my_task"
"""

from __future__ import annotations

import csv
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from wordgrad.errors import ConfigurationError, DataError
from wordgrad.tasks.objectives import Example, Metric, make_metric

ENTRY_POINT_GROUP = "wordgrad.tasks"

Records = str | os.PathLike[str] | Sequence[Mapping[str, Any]]
"""A file's path, or records in code (a list of dicts)."""


@dataclass
class Task:
    """Data, a metric and a starting prompt: what prompt optimization and evaluation need.

    Attributes:
        name: shown in results and reports.
        train / val / test: the splits (``val`` and ``test`` may be empty).
        metric: scores a prediction against an example.
        prompt: the starting system prompt ("" when the user gives none).
        input_field / target_field: the record fields read (for the record).
    """

    name: str
    train: list[Example]
    val: list[Example] = field(default_factory=list)
    test: list[Example] = field(default_factory=list)
    metric: Metric = field(default_factory=lambda: make_metric("exact"))
    prompt: str = ""
    input_field: str = "question"
    target_field: str = "answer"

    def split(self, name: str) -> list[Example]:
        """``"train"``, ``"val"`` or ``"test"``."""
        if name not in ("train", "val", "test"):
            raise ConfigurationError(f"split must be train, val or test, not {name!r}")
        examples: list[Example] = getattr(self, name)
        return examples


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a ``.jsonl``, ``.json`` or ``.csv`` file.

    Raises:
        DataError: the file is missing, empty, or not valid for its extension (the message
            names the line).
    """
    source = Path(path)
    if not source.is_file():
        raise DataError(f"no data file at {source}")
    suffix = source.suffix.lower()
    records: list[dict[str, Any]] = []
    if suffix == ".jsonl":
        with open(source, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataError(f"{source}, line {number}: not JSON ({error.msg})") from None
                if not isinstance(record, dict):
                    raise DataError(f"{source}, line {number}: expected a JSON object")
                records.append(record)
    elif suffix == ".json":
        try:
            loaded = json.loads(source.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise DataError(f"{source}: not JSON ({error})") from None
        if not isinstance(loaded, list) or not all(isinstance(r, dict) for r in loaded):
            raise DataError(f"{source}: expected a list of JSON objects")
        records = loaded
    elif suffix in (".csv", ".tsv"):
        with open(source, encoding="utf-8", newline="") as handle:
            records = [dict(row) for row in csv.DictReader(handle, dialect=_dialect(suffix))]
    else:
        raise DataError(f"{source}: use a .jsonl, .json or .csv file (got {suffix or 'none'})")
    if not records:
        raise DataError(f"{source} holds no records")
    return records


def _dialect(suffix: str) -> type[csv.Dialect]:
    return csv.excel_tab if suffix == ".tsv" else csv.excel


def examples_from(
    data: Records, input_field: str, target_field: str, *, where: str = "data"
) -> list[Example]:
    """Records (or a file of them) as :class:`Example` objects.

    Raises:
        DataError: a record lacks ``input_field`` or ``target_field`` (naming the record and
            the fields it has).
    """
    if isinstance(data, (str, os.PathLike)):
        where = str(data)
        records: Sequence[Mapping[str, Any]] = read_records(data)
    else:
        records = data
    examples = []
    for number, record in enumerate(records, 1):
        if not isinstance(record, Mapping):
            raise DataError(f"{where}, record {number}: expected a dict, got {type(record)}")
        missing = [name for name in (input_field, target_field) if name not in record]
        if missing:
            raise DataError(
                f"{where}, record {number} has no field {missing[0]!r}; its fields are "
                f"{sorted(record)}. Name the fields with --input-field and --target-field"
            )
        examples.append(
            Example(_text(record[input_field]), _text(record[target_field]), dict(record))
        )
    return examples


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def make_task(
    train: Records,
    val: Records | None = None,
    test: Records | None = None,
    *,
    input_field: str = "question",
    target_field: str = "answer",
    metric: Any = "exact",
    prompt: str = "",
    pattern: str | None = None,
    rubric: str | None = None,
    name: str | None = None,
) -> Task:
    """A :class:`Task` from records or files; see the module docs.

    ``metric`` is a name (``exact``, ``numeric``, ``choice``, ``regex`` with ``pattern``,
    ``judge`` with ``rubric``), ``"module:function"``, a function or a
    :class:`~wordgrad.tasks.objectives.Metric`.
    """
    label = name or (Path(train).stem if isinstance(train, (str, os.PathLike)) else "own")

    def load(data: Records | None) -> list[Example]:
        return [] if data is None else examples_from(data, input_field, target_field)

    return Task(
        name=label,
        train=load(train),
        val=load(val),
        test=load(test),
        metric=make_metric(metric, pattern=pattern, rubric=rubric),
        prompt=prompt,
        input_field=input_field,
        target_field=target_field,
    )


# --------------------------------------------------------------------------- registry

TaskFactory = Callable[[], Task]
_registry: dict[str, TaskFactory] = {}
_lock = threading.Lock()
_entry_points_loaded = False


def register_task(name: str, factory: TaskFactory) -> None:
    """Make ``name`` a task: ``factory()`` returns its :class:`Task` (called on each use)."""
    if not name or not callable(factory):
        raise ConfigurationError("register_task needs a name and a function returning a Task")
    with _lock:
        _registry[name] = factory


def registered_tasks() -> list[str]:
    """Names of the registered tasks (entry points included), in order of registration."""
    _load_entry_points()
    with _lock:
        return list(_registry)


def get_registered_task(name: str) -> Task | None:
    """The registered task ``name`` (built by its factory), or None when there is none.

    Raises:
        ConfigurationError: the factory did not return a :class:`Task`.
    """
    _load_entry_points()
    with _lock:
        factory = _registry.get(name)
    if factory is None:
        return None
    task = factory()
    if not isinstance(task, Task):
        raise ConfigurationError(
            f"the factory of task {name!r} returned {type(task).__name__}, not a Task; "
            "build it with wordgrad.tasks.user.make_task"
        )
    return task


def _load_entry_points() -> None:
    global _entry_points_loaded
    with _lock:
        if _entry_points_loaded:
            return
        _entry_points_loaded = True
    for entry in _entry_points():
        try:
            factory = entry.load()
        except Exception as error:  # a broken plugin must not hide the others
            raise ConfigurationError(
                f"task {entry.name!r} (entry point {entry.value!r}) failed to load: {error}"
            ) from error
        with _lock:
            _registry.setdefault(entry.name, factory)


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)
