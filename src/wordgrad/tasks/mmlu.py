"""MMLU subject subsets (the paper uses ``machine_learning`` and ``college_physics``).

Files are the ``cais/mmlu`` release exported as CSV (``question,choice0..choice3,answer`` with the
answer as an index), read from ``mmlu/data/mmlu/{test,dev}/<subject>_{test,dev}.csv``. Downloads
come from a public GitHub copy of that export pinned to one commit, which carries all 57 subjects
(see the data folder's SOURCE.md for why not the original host). Options keep their order.
"""

from __future__ import annotations

import os
from typing import Literal

from wordgrad.errors import DataError
from wordgrad.tasks.data import Source, fetch, read_csv
from wordgrad.tasks.dataset import Dataset, check_split
from wordgrad.tasks.multichoice import (
    LETTERS,
    QUERY_TEMPLATE_MULTICHOICE,
    MultipleChoiceQuestion,
    eval_string_based,
    render_prompts,
)

Split = Literal["train", "dev", "test"]

_COMMIT = "d92730e8bacd7b3a61e551e015e40588e10234b4"
_URL = f"https://raw.githubusercontent.com/HaeChan0305/MLILAB-FedLLM/{_COMMIT}/data/mmlu/{{name}}"
_COLUMNS = ("question", "choice0", "choice1", "choice2", "choice3", "answer")


def source(subset: str, split: Split) -> Source:
    """The subject's CSV; ``train`` means MMLU's 5-question ``dev`` split, as upstream."""
    check_split(split, ("train", "dev", "test"))
    if not subset.replace("_", "").isalpha():
        raise ValueError(f"MMLU subject names are words joined by '_', got {subset!r}")
    folder = "test" if split == "test" else "dev"
    name = f"{folder}/{subset}_{folder}.csv"
    return Source(f"mmlu/data/mmlu/{name}", _URL.format(name=name))


def load_questions(
    subset: str, split: Split = "test", data_dir: str | os.PathLike[str] | None = None
) -> list[MultipleChoiceQuestion]:
    """The subject's questions with their options in file order and the right letter."""
    path = fetch(source(subset, split), data_dir)
    questions = []
    for row in read_csv(path, _COLUMNS):
        answer = row["answer"].strip()
        if answer not in ("0", "1", "2", "3"):
            raise DataError(f"data file {path} has an answer {answer!r}; expected 0 to 3.")
        choices = tuple(row[f"choice{i}"] for i in range(4))
        questions.append(MultipleChoiceQuestion(row["question"], choices, LETTERS[int(answer)]))
    return questions


class MMLU(Dataset[tuple[str, str]]):
    """One MMLU subject as ``(question prompt, answer letter)`` pairs.

    Args:
        subset: the subject, e.g. ``"machine_learning"``.
        split: ``"test"``, or ``"train"``/``"dev"`` for the 5 dev questions.
        data_dir: a data folder to read first (else ``$WORDGRAD_DATA``, then the download cache).
    """

    def __init__(
        self,
        subset: str,
        split: Split = "train",
        *,
        data_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(render_prompts(load_questions(subset, split, data_dir)))
        self.subset = subset
        self.split = split


__all__ = [
    "MMLU",
    "QUERY_TEMPLATE_MULTICHOICE",
    "MMLUInstanceDataset",  # noqa: F822 (module __getattr__)
    "eval_string_based",
    "load_questions",
    "source",
]


def __getattr__(name: str) -> object:
    # Upstream kept the instance datasets in this module; ours live in tasks.instance, which
    # imports this one.
    if name == "MMLUInstanceDataset":
        from wordgrad.tasks import instance

        return instance.MMLUInstanceDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
