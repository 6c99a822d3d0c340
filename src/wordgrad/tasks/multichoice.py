"""Four-option multiple-choice questions (MMLU, GPQA): the prompt a model sees and its scorer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from wordgrad import prompts
from wordgrad.tasks.metrics import parse_choice_letter

LETTERS = "ABCD"


@dataclass(frozen=True)
class MultipleChoiceQuestion:
    """A question, its options in the order shown, and the letter of the right one.

    The repr leaves out the question and options, so a failing test or a log line never prints
    benchmark text (GPQA's authors ask that it stay out of anything published).
    """

    question: str = field(repr=False)
    choices: tuple[str, ...] = field(repr=False)
    answer: str

    def prompt(self) -> str:
        """The question as a model sees it, options lettered ``A)`` to ``D)``."""
        options = "\n".join(f"{LETTERS[i]}) {choice}" for i, choice in enumerate(self.choices))
        letters = ", ".join(LETTERS[: len(self.choices)])
        return prompts.render(
            "task.multichoice_question", letters=letters, question=self.question, options=options
        )


@dataclass(frozen=True)
class ChoiceScorer:
    """Scores a reply (string or Variable): 1.0 when its chosen letter is :attr:`answer`.

    The letter is read by :func:`~wordgrad.tasks.metrics.parse_choice_letter`: the *last*
    ``Answer: X`` line (upstream took the first), else a bold or parenthesised letter.
    """

    answer: str

    def __call__(self, prediction: object) -> float:
        return float(parse_choice_letter(prediction, LETTERS) == self.answer)


def render_prompts(questions: Sequence[MultipleChoiceQuestion]) -> list[tuple[str, str]]:
    """``(prompt, answer letter)`` pairs, the items of the plain (non-instance) datasets."""
    return [(q.prompt(), q.answer) for q in questions]


QUERY_TEMPLATE_MULTICHOICE = prompts.render(
    "task.multichoice_question",
    letters=", ".join(LETTERS),
    question="{Question}",
    options="\n".join(f"{letter}) {{{letter}}}" for letter in LETTERS),
)
"""Upstream's question template: a format string with fields ``Question``, ``A`` to ``D``
(our wording; the same text :meth:`MultipleChoiceQuestion.prompt` gives)."""


def eval_string_based(response_text: object, correct_answer: str) -> float:
    """1.0 when the reply's chosen letter is ``correct_answer``, else 0.0 (upstream's name)."""
    return ChoiceScorer(correct_answer)(response_text)
