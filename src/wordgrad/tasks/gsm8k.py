"""GSM8K grade-school maths word problems, split as DSPy (and the TextGrad paper) split them.

The official train and test lists are each shuffled with their own ``random.Random(0)``; the
first 200 shuffled training problems train, the next 300 validate, and all 1319 test problems
(in shuffled order) test. Items are ``("Question: <problem>", "<integer answer>")``.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any, Literal

from wordgrad import prompts
from wordgrad.errors import DataError
from wordgrad.tasks.data import Source, fetch, field, read_jsonl
from wordgrad.tasks.dataset import Dataset, check_split

Split = Literal["train", "val", "test"]

_COMMIT = "3101c7d5072418e28b9008a6636bde82a006892c"
_URL = (
    f"https://raw.githubusercontent.com/openai/grade-school-math/{_COMMIT}"
    "/grade_school_math/data/{name}.jsonl"
)
TRAIN_SIZE = 200
VAL_SIZE = 300
SHUFFLE_SEED = 0

TASK_DESCRIPTION = prompts.render("task.gsm8k_description")


def source(name: Literal["train", "test"]) -> Source:
    """The official ``train`` or ``test`` file, locally and upstream."""
    return Source(f"gsm8k/{name}.jsonl", _URL.format(name=name))


def final_answer(solution: str, path: Path) -> str:
    """The integer after ``####`` at the end of a worked solution, without thousands commas."""
    tokens = solution.strip().split()
    if len(tokens) < 2 or tokens[-2] != "####":
        raise DataError(f"a solution in data file {path} does not end with '#### <answer>'.")
    try:
        return str(int(tokens[-1].replace(",", "")))
    except ValueError:
        raise DataError(f"a final answer in {path} is not an integer: {tokens[-1]!r}.") from None


def _shuffled_items(name: Literal["train", "test"], data_dir: Any) -> list[tuple[str, str]]:
    path = fetch(source(name), data_dir)
    items = [
        (
            "Question: " + str(field(r, "question", path)),
            final_answer(field(r, "answer", path), path),
        )
        for r in read_jsonl(path)
    ]
    random.Random(SHUFFLE_SEED).shuffle(items)
    return items


class GSM8K_DSPy(Dataset[tuple[str, str]]):
    """The DSPy split of GSM8K: 200 train / 300 val / 1319 test ``(question, answer)`` pairs.

    Args:
        split: ``"train"``, ``"val"`` or ``"test"``.
        data_dir: a data folder to read first (else ``$WORDGRAD_DATA``, then the download cache).
    """

    def __init__(
        self, split: Split = "train", *, data_dir: str | os.PathLike[str] | None = None
    ) -> None:
        check_split(split)
        if split == "test":
            items = _shuffled_items("test", data_dir)
        else:
            shuffled = _shuffled_items("train", data_dir)
            bounds = (0, TRAIN_SIZE) if split == "train" else (TRAIN_SIZE, TRAIN_SIZE + VAL_SIZE)
            items = shuffled[bounds[0] : bounds[1]]
        super().__init__(items)
        self.split = split

    def get_task_description(self) -> str:
        """A starting system prompt: reason, then end with ``Answer: <number>``."""
        return TASK_DESCRIPTION


class GSM8K(Dataset[tuple[str, str]]):
    """GSM8K split as upstream's base class splits it: ``test`` is the first 300 test problems,
    ``val`` the first 100 training problems and ``train`` the rest, in file order.

    Args:
        subset: ``"main"`` (the only subset with plain answers).
        root: a data folder to read first (else ``$WORDGRAD_DATA``, then the download cache).
        split: ``"train"``, ``"val"`` or ``"test"``.
    """

    def __init__(
        self,
        subset: str = "main",
        root: str | os.PathLike[str] | None = None,
        split: Split = "train",
    ) -> None:
        if subset != "main":
            raise ValueError(f"GSM8K subset must be 'main', got {subset!r}")
        check_split(split)
        path = fetch(source("test" if split == "test" else "train"), root)
        items = [
            (
                "Question: " + str(field(r, "question", path)),
                final_answer(field(r, "answer", path), path),
            )
            for r in read_jsonl(path)
        ]
        bounds = {"test": (0, 300), "val": (0, 100), "train": (100, None)}[split]
        super().__init__(items[bounds[0] : bounds[1]])
        self.split = split

    def get_task_description(self) -> str:
        """A starting system prompt: reason, then end with ``Answer: <number>``."""
        return TASK_DESCRIPTION
