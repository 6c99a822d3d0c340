"""BIG-Bench Hard: 27 reasoning tasks, each a list of ``(question, target)`` pairs.

Splits follow upstream textgrad's code: the first 50 examples train, the next 100 validate, the
rest test, in file order. (The paper's text says the examples were "randomly split"; pass
``shuffle_seed`` to shuffle with ``random.Random(shuffle_seed)`` before splitting.) Three tasks
have fewer than 250 examples; for them the fixed rule would leave little or nothing to test on
(penguins_in_a_table has 146), so what follows the 50 training examples is halved between
validation and test instead. For the 250-example tasks both rules give 50 / 100 / 100.
"""

from __future__ import annotations

import os
import random
from typing import Literal

from wordgrad import prompts
from wordgrad.errors import DataError
from wordgrad.tasks import metrics
from wordgrad.tasks.data import Source, fetch, field, read_json
from wordgrad.tasks.dataset import Dataset, check_split
from wordgrad.tasks.metrics import AnswerFn

Split = Literal["train", "val", "test"]

_COMMIT = "9ee07bd481feebf959a6b59d61ea57bdcf30964d"
_URL = f"https://raw.githubusercontent.com/suzgunmirac/BIG-Bench-Hard/{_COMMIT}/bbh/{{task}}.json"
TRAIN_SIZE = 50
VAL_SIZE = 100

_NUMERIC = ("multistep_arithmetic_two", "object_counting")
_WORD_LIST = ("word_sorting",)
_FREE_TEXT = (
    "boolean_expressions",
    "causal_judgement",
    "dyck_languages",
    "formal_fallacies",
    "navigate",
    "sports_understanding",
    "web_of_lies",
)
_MULTIPLE_CHOICE = (
    "date_understanding",
    "disambiguation_qa",
    "geometric_shapes",
    "hyperbaton",
    "logical_deduction_five_objects",
    "logical_deduction_seven_objects",
    "logical_deduction_three_objects",
    "movie_recommendation",
    "penguins_in_a_table",
    "reasoning_about_colored_objects",
    "ruin_names",
    "salient_translation_error_detection",
    "snarks",
    "temporal_sequences",
    "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects",
    "tracking_shuffled_objects_three_objects",
)
_ANSWER_FNS: dict[str, AnswerFn] = {
    **dict.fromkeys(_NUMERIC, metrics.string_based_equality_fn),
    **dict.fromkeys(_WORD_LIST, metrics.word_sorting_equality_fn),
    **dict.fromkeys(_FREE_TEXT, metrics.exact_text_equality_fn),
    **dict.fromkeys(_MULTIPLE_CHOICE, metrics.multiple_choice_equality_fn),
}
BBH_TASKS: tuple[str, ...] = tuple(sorted(_ANSWER_FNS))
"""The 27 task names, as in the BIG-Bench-Hard repository's file names."""

TASK_DESCRIPTION = prompts.render("task.bbh_description")


def answer_fn(task_name: str) -> AnswerFn:
    """The task's deterministic scorer: for numbers, option letters, word lists or text."""
    return _ANSWER_FNS[_check_task(task_name)]


def _check_task(task_name: str) -> str:
    if task_name not in _ANSWER_FNS:
        raise ValueError(
            f"unknown BIG-Bench Hard task {task_name!r}; choose one of: {', '.join(BBH_TASKS)}"
        )
    return task_name


def source(task_name: str) -> Source:
    """Where the task's JSON file lives locally and upstream."""
    task = _check_task(task_name)
    return Source(f"bbh/bbh/{task}.json", _URL.format(task=task))


def split_bounds(total: int) -> tuple[int, int]:
    """Where validation and test start for a task with ``total`` examples (see module docs)."""
    val_size = min(VAL_SIZE, (total - TRAIN_SIZE) // 2)
    return TRAIN_SIZE, TRAIN_SIZE + max(val_size, 0)


class BigBenchHard(Dataset[tuple[str, str]]):
    """One BBH task's split; items are ``(question, target)`` string pairs.

    Args:
        task_name: e.g. ``"object_counting"`` (see :data:`BBH_TASKS`).
        split: ``"train"``, ``"val"`` or ``"test"``.
        data_dir: a data folder to read first (else ``$WORDGRAD_DATA``, then the download cache).
        shuffle_seed: shuffle the examples with this seed before splitting; ``None`` (default)
            keeps the file order, as upstream's code does.
    """

    def __init__(
        self,
        task_name: str,
        split: Split = "train",
        *,
        data_dir: str | os.PathLike[str] | None = None,
        shuffle_seed: int | None = None,
    ) -> None:
        check_split(split)
        path = fetch(source(task_name), data_dir)
        document = read_json(path)
        if not isinstance(document, dict) or not isinstance(document.get("examples"), list):
            raise DataError(f"data file {path} has no 'examples' list; is it a BBH task file?")
        examples = [
            (str(field(e, "input", path)), str(field(e, "target", path)))
            for e in document["examples"]
        ]
        if shuffle_seed is not None:
            random.Random(shuffle_seed).shuffle(examples)
        val_start, test_start = split_bounds(len(examples))
        bounds = {
            "train": (0, val_start),
            "val": (val_start, test_start),
            "test": (test_start, None),
        }
        start, stop = bounds[split]
        super().__init__(examples[start:stop])
        self.task_name = task_name
        self.split = split

    def get_task_description(self) -> str:
        """A starting system prompt for the task: reason, then end with ``Answer: ...``."""
        return TASK_DESCRIPTION
