"""MathVista (Lu et al., ICLR 2024): maths questions about figures, the ``testmini`` split.

Data: the ``AI4Math/MathVista`` release on Hugging Face, one Parquet file per split with the
image bytes inside (``decoded_image``), read from ``mathvista/data/<file>`` in ``root``/
``$WORDGRAD_DATA`` or the download cache, and downloaded when missing. Columns used: ``pid``,
``query`` (the question with its hint and options), ``decoded_image``, ``choices``,
``question_type`` (``multi_choice``/``free_form``), ``answer_type`` (``integer``, ``float``,
``text``, ``list``), ``precision``, ``unit``, ``answer``, ``metadata``.

Items are upstream's: ``(image_bytes, query, answer, question_data, test_time_objective,
instance_eval_fn)``. Scoring follows MathVista's own recipe: extract the final answer, normalise
it to the answer type (nearest option for multiple choice, rounded to the stated precision for
floats), compare. Extraction is by rule (``Answer: ...``, the option letter or text, the last
number); when that finds nothing and an engine is given, an LLM extracts it, shown
:data:`demo_prompt`'s examples.
"""

from __future__ import annotations

import difflib
import os
import re
from typing import Any

from wordgrad import prompts
from wordgrad.engine.base import EngineLM
from wordgrad.errors import DataError
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

_URL = "https://huggingface.co/datasets/AI4Math/MathVista/resolve/main/data/{name}"
FILES = {"testmini": "testmini-00000-of-00001-725687bf7a18d64b.parquet"}
"""The split files of the release, by split name."""

demo_prompt = prompts.TEMPLATES["task.answer_extraction_examples"]
"""Examples shown to an LLM that extracts answers (upstream's name; our examples)."""


def source(split: str = "testmini") -> Source:
    """Where the split's Parquet file sits in a data folder and where it is downloaded from."""
    if split not in FILES:
        raise ValueError(f"MathVista split must be one of {sorted(FILES)}, got {split!r}")
    return Source(f"mathvista/data/{FILES[split]}", _URL.format(name=FILES[split]))


def verify_extraction(extraction: object) -> bool:
    """Whether an extraction holds an answer (a non-empty text)."""
    return isinstance(extraction, str) and extraction.strip() != ""


def create_test_prompt(demo_prompt: str, query: str, response: str) -> str:
    """The request to an LLM extracting the answer of ``response`` to ``query``."""
    return prompts.render(
        "task.answer_extraction", examples=demo_prompt.strip(), query=query, response=response
    )


_LETTER = re.compile(r"^\(?([A-Z])\)?(?:[.:)\s]|$)")
_ANSWER_LINE = re.compile(r"answer\s*(?:is)?\s*[:：]?\s*(.+)", re.I)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def extract_answer(
    response: str, problem: dict[str, Any], quick_extract: bool = False, engine: Any = None
) -> str:
    """The final answer in ``response`` to ``problem`` (a question-data dict), or "".

    By rule first: the text after the last ``Answer:``, else for multiple choice an option
    letter or option text, else for numbers the last number. ``quick_extract=True`` stops
    there; otherwise, if nothing was found and ``engine`` (an engine or its name) is given, the
    engine extracts it.
    """
    text = text_of(response).strip()
    if not text:
        return ""
    choices = list(problem.get("choices") or [])
    answer_type = problem.get("answer_type", "text")
    candidates = [m.group(1).strip() for m in _ANSWER_LINE.finditer(text)]
    if candidates:
        return candidates[-1].rstrip(".")
    if problem.get("question_type") == "multi_choice":
        for choice in choices:
            if str(choice) in text:
                return str(choice)
        letter = _LETTER.match(text.splitlines()[-1].strip())
        if letter:
            return letter.group(1)
    if answer_type in ("integer", "float"):
        numbers = _NUMBER.findall(text)
        if numbers:
            return str(numbers[-1]).replace(",", "")
    if quick_extract or engine is None:
        return ""
    from wordgrad.config import resolve_engine

    reply = resolve_engine(engine).generate(
        create_test_prompt(demo_prompt, str(problem.get("query", "")), text)
    )
    return reply.strip().splitlines()[0].strip() if reply.strip() else ""


def get_most_similar(prediction: str, choices: list[str]) -> str:
    """The choice closest to ``prediction`` by edit similarity (difflib's ratio)."""
    return max(
        choices, key=lambda c: difflib.SequenceMatcher(None, str(prediction), str(c)).ratio()
    )


def normalize_extracted_answer(extraction: str, question_data: dict[str, Any]) -> Any:
    """``extraction`` in the answer's type: an option's text, an int, a float rounded to the
    question's precision, or a list; None when it cannot be read as that type."""
    choices = [str(c) for c in (question_data.get("choices") or [])]
    answer_type = question_data.get("answer_type", "text")
    if question_data.get("question_type") == "multi_choice" and choices:
        text = extraction.strip()
        letter = _LETTER.match(text)
        if letter and len(text) <= 3:
            index = ord(letter.group(1)) - ord("A")
            if 0 <= index < len(choices):
                return choices[index]
        return get_most_similar(text, choices) if text else None
    try:
        if answer_type == "integer":
            return int(float(extraction.replace(",", "")))
        if answer_type == "float":
            precision = int(question_data.get("precision") or 0)
            return round(float(extraction.replace(",", "")), precision)
        if answer_type == "list":
            return [item.strip() for item in extraction.strip("[]").split(",") if item.strip()]
    except ValueError:
        return None
    return extraction.strip()


def safe_equal(prediction: Any, answer: Any) -> bool:
    """Whether ``prediction`` equals ``answer``, comparing numbers by value and text as text."""
    if prediction is None:
        return False
    if isinstance(prediction, (int, float)):
        try:
            return float(prediction) == float(answer)
        except (TypeError, ValueError):
            return False
    if isinstance(prediction, list):
        expected = answer if isinstance(answer, list) else str(answer).strip("[]").split(",")
        return [str(p).strip() for p in prediction] == [str(a).strip() for a in expected]
    return str(prediction).strip().lower() == str(answer).strip().lower()


class MathVistaDataset(Dataset[tuple[Any, ...]]):
    """MathVista questions as instance items (see the module docs).

    Args:
        evaluation_api: the engine of the test-time critic (it must take images) and of answer
            extraction; ``None``: the default engine when called.
        root: a data folder to read first (else ``$WORDGRAD_DATA``, then the download cache).
        split: ``"testmini"`` (1,000 questions with public answers).
        task_instruction: replaces the opening line of each question.
        evaluation_instruction: replaces the critic's instruction.
        max_samples: keep only the first this many questions.
    """

    def __init__(
        self,
        evaluation_api: EngineLM | str | None = None,
        root: str | os.PathLike[str] | None = None,
        split: str = "testmini",
        task_instruction: str | None = None,
        evaluation_instruction: str | None = None,
        *,
        max_samples: int | None = None,
    ) -> None:
        path = fetch(source(split), root)
        rows = read_parquet(path)
        if max_samples is not None:
            rows = rows[:max_samples]
        self.evaluation_api = evaluation_api
        self.split = split
        self.task_instruction = task_instruction or prompts.render("task.mathvista_instruction")
        self.evaluation_instruction = evaluation_instruction or prompts.render(
            "task.image_qa_evaluation"
        )
        items = []
        for row in rows:
            picture = image_bytes(field(row, "decoded_image", path), path)
            if picture is None:
                raise DataError(f"question {row.get('pid')!r} in {path} has no image")
            query = f"{self.task_instruction}\n{field(row, 'query', path)}"
            data = {
                key: row.get(key)
                for key in (
                    "pid",
                    "choices",
                    "unit",
                    "precision",
                    "answer",
                    "question_type",
                    "answer_type",
                    "metadata",
                )
            }
            data["query"] = query
            picture = compress_image(picture)
            items.append(
                (
                    picture,
                    query,
                    str(field(row, "answer", path)),
                    data,
                    image_objective(evaluation_api, self.evaluation_instruction, query, picture),
                    self._scorer(data),
                )
            )
        super().__init__(items)

    def _scorer(self, question_data: dict[str, Any]) -> Any:
        def instance_eval_fn(instance: Variable | str) -> int:
            return int(self.eval_extraction_and_matching(text_of(instance), question_data))

        return instance_eval_fn

    def eval_extraction_and_matching(
        self, response_text: str, question_data: dict[str, Any]
    ) -> bool:
        """Whether ``response_text`` answers the question right (extract, normalise, compare)."""
        extraction = extract_answer(response_text, question_data, engine=self.evaluation_api)
        if not verify_extraction(extraction):
            return False
        prediction = normalize_extracted_answer(extraction, question_data)
        return safe_equal(prediction, question_data["answer"])


__all__ = [
    "MathVistaDataset",
    "compress_image",
    "create_test_prompt",
    "demo_prompt",
    "extract_answer",
    "get_most_similar",
    "normalize_extracted_answer",
    "safe_equal",
    "verify_extraction",
]
