"""The task list that ``wordgrad tasks`` prints: every task with its split sizes.

Only data already on this machine is read (downloads are switched off while listing), so the
command is quick and works offline; a task whose data is missing says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from wordgrad.errors import DataError
from wordgrad.tasks import AVAILABLE_DATASETS, AVAILABLE_INSTANCE_DATASETS, load_instance_task
from wordgrad.tasks.bbh import BigBenchHard
from wordgrad.tasks.data import OFFLINE_ENV
from wordgrad.tasks.gsm8k import GSM8K_DSPy

PathLike = str | os.PathLike[str] | None


@contextmanager
def _offline() -> Iterator[None]:
    previous = os.environ.get(OFFLINE_ENV)
    os.environ[OFFLINE_ENV] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(OFFLINE_ENV, None)
        else:
            os.environ[OFFLINE_ENV] = previous


def _prompt_task_sizes(name: str, data_dir: PathLike) -> str:
    def size(split: str) -> int:
        if name == "GSM8K_DSPy":
            return len(GSM8K_DSPy(split, data_dir=data_dir))  # type: ignore[arg-type]
        return len(BigBenchHard(name[4:], split, data_dir=data_dir))  # type: ignore[arg-type]

    return "train {} / val {} / test {}".format(*(size(s) for s in ("train", "val", "test")))


def _instance_task_sizes(name: str, data_dir: PathLike) -> str:
    return f"{len(load_instance_task(name, None, data_dir=data_dir))} questions (test time)"


PROMPT_COMMANDS = ["eval", "optimize prompt"]
SOLUTION_COMMANDS = ["optimize solution"]


def commands_for(task: str) -> list[str] | None:
    """The commands that accept ``task`` ([] for a task used from Python only); None when
    the name is not a task."""
    from wordgrad.tasks.user import registered_tasks

    if task in AVAILABLE_DATASETS or task in registered_tasks():
        return PROMPT_COMMANDS
    if task.startswith(("MMLU_", "GPQA_")):
        return SOLUTION_COMMANDS
    if task in AVAILABLE_INSTANCE_DATASETS:
        return []  # code tasks: wordgrad.tasks.code runs their tests from Python
    return None


def task_names() -> list[str]:
    """Every task name ``wordgrad tasks`` lists."""
    from wordgrad.tasks.user import registered_tasks

    return [*AVAILABLE_DATASETS, *AVAILABLE_INSTANCE_DATASETS, *registered_tasks()]


def describe_commands(task: str) -> str:
    commands = commands_for(task) or []
    return ", ".join(commands) if commands else "Python only (wordgrad.tasks.code)"


def _registered_task_sizes(name: str, data_dir: PathLike) -> str:
    from wordgrad.tasks.user import get_registered_task

    task = get_registered_task(name)
    assert task is not None
    return f"train {len(task.train)} / val {len(task.val)} / test {len(task.test)} (yours)"


def task_rows(data_dir: PathLike = None) -> list[tuple[str, str]]:
    """``(name, sizes)`` for every task; sizes say "data not found locally" when missing."""
    from wordgrad.tasks.user import registered_tasks

    sizer: dict[str, Callable[[str, PathLike], str]] = {
        **dict.fromkeys(AVAILABLE_DATASETS, _prompt_task_sizes),
        **dict.fromkeys(AVAILABLE_INSTANCE_DATASETS, _instance_task_sizes),
        **dict.fromkeys(registered_tasks(), _registered_task_sizes),
    }
    rows = []
    with _offline():
        for name, describe in sizer.items():
            try:
                rows.append((name, describe(name, data_dir)))
            except DataError:
                rows.append((name, "data not found locally (downloaded on first use)"))
    return rows
