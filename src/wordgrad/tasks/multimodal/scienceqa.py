"""ScienceQA (Lu et al., NeurIPS 2022): multiple-choice science questions with an image.

Data: the ``derek-thomas/ScienceQA`` release on Hugging Face (Parquet, one file per split, image
bytes inside), pinned to one revision, read from ``scienceqa/data/<file>`` in ``root``/
``$WORDGRAD_DATA`` or the download cache, and downloaded when missing. Only questions that come
with an image are kept (this is the image task; about half of ScienceQA is text only). Columns
used: ``image``, ``question``, ``choices``, ``answer`` (the right option's index), ``hint``.

Items are upstream's: ``(image_bytes, query, answer_letter, question_data, test_time_objective,
instance_eval_fn)``. A reply is scored by its ``Answer: (X)`` line, else the option whose words
it shares most.
"""

from __future__ import annotations

import os
import re
import string
from collections import Counter
from typing import Any

from wordgrad import prompts
from wordgrad.engine.base import EngineLM
from wordgrad.tasks.data import Source, fetch, field
from wordgrad.tasks.dataset import Dataset
from wordgrad.tasks.metrics import text_of
from wordgrad.tasks.multimodal.common import (
    compress_image,
    image_bytes,
    image_objective,
    read_parquet,
)
from wordgrad.variable import Variable

_REVISION = "f18b0a70359ebfb41f658fd564208d0355b013f4"
_URL = f"https://huggingface.co/datasets/derek-thomas/ScienceQA/resolve/{_REVISION}/data/{{name}}"
FILES = {
    "train": "train-00000-of-00001-1028f23e353fbe3e.parquet",
    "validation": "validation-00000-of-00001-6c7328ff6c84284c.parquet",
    "test": "test-00000-of-00001-f0e719df791966ff.parquet",
}
OPTIONS = string.ascii_uppercase


def source(split: str = "test") -> Source:
    """Where the split's Parquet file sits in a data folder and where it is downloaded from."""
    if split not in FILES:
        raise ValueError(f"ScienceQA split must be one of {sorted(FILES)}, got {split!r}")
    return Source(f"scienceqa/data/{FILES[split]}", _URL.format(name=FILES[split]))


def preprocess_text(text: str) -> str:
    """Lower case without punctuation, for comparing words."""
    return re.sub(r"[^\w\s]", "", text).lower()


def find_most_similar_choice(text: str, choices: list[str]) -> int:
    """The index of the choice sharing the most words with ``text`` (the first on a tie)."""
    words = Counter(preprocess_text(text).split())
    overlaps = [
        sum((words & Counter(preprocess_text(choice).split())).values()) for choice in choices
    ]
    return max(range(len(choices)), key=lambda i: (overlaps[i], -i))


_ANSWER = re.compile(r"answer\s*[:：]?\s*\(?([A-Z])\)", re.I)
_ANSWER_TEXT = re.compile(r"answer\s*[:：]\s*(.+)", re.I)


def extract_answer(response_text: str) -> str:
    """The option letter of the last ``Answer: (X)`` in the reply, else the text after the last
    ``Answer:``, else the whole reply ("xxx. Answer: (A) a gas." gives "A")."""
    text = text_of(response_text)
    letters = _ANSWER.findall(text)
    if letters:
        return str(letters[-1]).upper()
    texts = _ANSWER_TEXT.findall(text)
    return texts[-1].strip() if texts else text.strip()


def normalize_extracted_answer(
    extracted_answer: str, question_data: dict[str, Any], options: str = OPTIONS
) -> str:
    """The option letter an extracted answer stands for: itself if it is a valid letter,
    else the letter of the most similar choice."""
    choices = [str(c) for c in question_data["choices"]]
    options = options[: len(choices)]
    answer = extracted_answer.strip()
    if len(answer) == 1 and answer.upper() in options:
        return answer.upper()
    return options[find_most_similar_choice(answer, choices)]


def safe_equal(a: Any, b: Any) -> bool:
    """Whether two answers (letters or indices) are the same, ignoring case and spacing."""
    return str(a).strip().upper() == str(b).strip().upper()


class ScienceQADataset(Dataset[tuple[Any, ...]]):
    """ScienceQA image questions as instance items (see the module docs).

    Args:
        evaluation_api: the engine of the test-time critic (it must take images); ``None``:
            the default engine when called.
        root: a data folder to read first (else ``$WORDGRAD_DATA``, then the download cache).
        split: ``"test"``, ``"validation"`` or ``"train"``.
        task_instruction: replaces the opening line of each question.
        evaluation_instruction: replaces the critic's instruction.
        max_samples: keep only the first this many questions (with images).
    """

    def __init__(
        self,
        evaluation_api: EngineLM | str | None = None,
        root: str | os.PathLike[str] | None = None,
        split: str = "test",
        task_instruction: str | None = None,
        evaluation_instruction: str | None = None,
        *,
        max_samples: int | None = None,
    ) -> None:
        path = fetch(source(split), root)
        self.evaluation_api = evaluation_api
        self.split = split
        self.task_instruction = task_instruction or prompts.render("task.scienceqa_instruction")
        self.evaluation_instruction = evaluation_instruction or prompts.render(
            "task.image_qa_evaluation"
        )
        items = []
        for index, row in enumerate(read_parquet(path)):
            picture = image_bytes(row.get("image"), path)
            if picture is None:
                continue
            choices = [str(c) for c in field(row, "choices", path)]
            query = self.task_instruction
            if row.get("hint"):
                query += f"\nContext: {row['hint']}"
            query += f"\nQuestion: {field(row, 'question', path)}"
            query += "\nChoices: " + " ".join(
                f"({OPTIONS[i]}) {choice}" for i, choice in enumerate(choices)
            )
            answer = OPTIONS[int(field(row, "answer", path))]
            data = {
                "pid": str(row.get("pid", index)),
                "question": row["question"],
                "choices": choices,
                "hint": row.get("hint") or "",
            }
            picture = compress_image(picture)
            items.append(
                (
                    picture,
                    query,
                    answer,
                    data,
                    image_objective(evaluation_api, self.evaluation_instruction, query, picture),
                    self._scorer(answer, data),
                )
            )
            if max_samples is not None and len(items) >= max_samples:
                break
        super().__init__(items)

    def _scorer(self, answer: str, question_data: dict[str, Any]) -> Any:
        def instance_eval_fn(instance: Variable | str) -> int:
            return int(self.eval_extraction_and_matching(text_of(instance), answer, question_data))

        return instance_eval_fn

    def eval_extraction_and_matching(
        self, response_text: str, correct_answer: str, question_data: dict[str, Any]
    ) -> bool:
        """Whether ``response_text`` picks ``correct_answer`` (a letter)."""
        extracted = extract_answer(response_text)
        return safe_equal(normalize_extracted_answer(extracted, question_data), correct_answer)


__all__ = [
    "ScienceQADataset",
    "compress_image",
    "extract_answer",
    "find_most_similar_choice",
    "normalize_extracted_answer",
    "preprocess_text",
    "safe_equal",
]
