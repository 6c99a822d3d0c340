"""Four-option multiple-choice questions (MMLU, GPQA): the prompt a model sees and its scorer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wordgrad.tasks.metrics import parse_choice_letter

LETTERS = "ABCD"

QUESTION_TEMPLATE = """\
Answer the multiple-choice question below. Reason it through step by step, and make the last line \
of your reply 'Answer: $LETTER' (without the quotes), where LETTER is one of {letters}.

{question}

{options}"""


@dataclass(frozen=True)
class MultipleChoiceQuestion:
    """A question, its options in the order shown, and the letter of the right one."""

    question: str
    choices: tuple[str, ...]
    answer: str

    def prompt(self) -> str:
        """The question as a model sees it, options lettered ``A)`` to ``D)``."""
        options = "\n".join(f"{LETTERS[i]}) {choice}" for i, choice in enumerate(self.choices))
        letters = ", ".join(LETTERS[: len(self.choices)])
        return QUESTION_TEMPLATE.format(letters=letters, question=self.question, options=options)


@dataclass(frozen=True)
class ChoiceScorer:
    """Scores a reply (string or Variable): 1.0 when its chosen letter is :attr:`answer`."""

    answer: str

    def __call__(self, prediction: object) -> float:
        return float(parse_choice_letter(prediction, LETTERS) == self.answer)


def render_prompts(questions: Sequence[MultipleChoiceQuestion]) -> list[tuple[str, str]]:
    """``(prompt, answer letter)`` pairs, the items of the plain (non-instance) datasets."""
    return [(q.prompt(), q.answer) for q in questions]
