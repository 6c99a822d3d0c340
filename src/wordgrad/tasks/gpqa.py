"""GPQA Diamond: 198 graduate-level science questions with four options.

The file stays gzipped, on disk and in the cache, because GPQA's authors ask that the questions
never be stored as plain text; never print them into logs. Downloads come from the public copy
simple-evals serves.

Option order: each question's options ``[incorrect 1, incorrect 2, incorrect 3, correct]`` are
shuffled by one local ``random.Random(seed)`` (never the global generator), a new draw per
question, so the right letter varies. Upstream instead reseeded with 42 before *every* question,
which gives every question the same permutation: the right answer is always C, and a model that
always answers C scores 100%. ``upstream_order=True`` reproduces that order (and so upstream's
released prompts and gold letters) for comparisons with published numbers only.
"""

from __future__ import annotations

import os
import random

from wordgrad.tasks.data import Source, fetch, read_csv
from wordgrad.tasks.dataset import Dataset
from wordgrad.tasks.multichoice import (
    LETTERS,
    QUERY_TEMPLATE_MULTICHOICE,
    MultipleChoiceQuestion,
    eval_string_based,
    render_prompts,
)

SUBSETS = ("gpqa_diamond",)
CHOICE_SEED = 42

_URL = "https://openaipublic.blob.core.windows.net/simple-evals/gpqa_diamond.csv"
_ANSWER_COLUMNS = (
    "Incorrect Answer 1",
    "Incorrect Answer 2",
    "Incorrect Answer 3",
    "Correct Answer",
)


def source(subset: str = "gpqa_diamond") -> Source:
    """The subset's gzipped CSV; only the diamond subset has a public, ungated copy."""
    if subset != "gpqa_diamond":
        raise ValueError(
            f"GPQA subset {subset!r} is not available: only 'gpqa_diamond' has a public copy "
            "(the others are gated on Hugging Face)."
        )
    return Source("gpqa/gpqa_diamond.csv.gz", _URL, compress=True)


def load_questions(
    subset: str = "gpqa_diamond",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    seed: int = CHOICE_SEED,
    upstream_order: bool = False,
) -> list[MultipleChoiceQuestion]:
    """All questions, options shuffled as the module docs describe."""
    path = fetch(source(subset), data_dir)
    shared = random.Random(seed)
    questions = []
    for row in read_csv(path, ("Question", *_ANSWER_COLUMNS)):
        choices = [row[column].strip() for column in _ANSWER_COLUMNS]
        order = list(range(len(choices)))
        (random.Random(CHOICE_SEED) if upstream_order else shared).shuffle(order)
        shown = tuple(choices[i] for i in order)
        answer = LETTERS[order.index(len(choices) - 1)]
        questions.append(MultipleChoiceQuestion(row["Question"], shown, answer))
    return questions


class GPQA(Dataset[tuple[str, str]]):
    """GPQA as ``(question prompt, answer letter)`` pairs (upstream's ``GPQA(subset, root)``).

    Args:
        subset: ``"gpqa_diamond"``.
        root: a data folder to read first (else ``$WORDGRAD_DATA``, then the download cache).
    """

    def __init__(
        self, subset: str = "gpqa_diamond", root: str | os.PathLike[str] | None = None
    ) -> None:
        super().__init__(render_prompts(load_questions(subset.lower(), root)))
        self.subset = subset


__all__ = [
    "GPQA",
    "QUERY_TEMPLATE_MULTICHOICE",
    "SUBSETS",
    "GPQAInstanceDataset",  # noqa: F822 (module __getattr__)
    "GPQAInstanceDatasetOpenAI",  # noqa: F822
    "eval_string_based",
    "load_questions",
    "source",
]


def __getattr__(name: str) -> object:
    # Upstream kept the instance datasets in this module; ours live in tasks.instance, which
    # imports this one.
    if name == "GPQAInstanceDataset":
        from wordgrad.tasks import instance

        return instance.GPQAInstanceDataset
    if name == "GPQAInstanceDatasetOpenAI":
        from wordgrad.tasks import instance

        return instance.GPQAInstanceDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
