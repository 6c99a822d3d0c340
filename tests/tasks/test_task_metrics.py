"""Answer parsing and scoring on the replies models really give."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from wordgrad.tasks import metrics
from wordgrad.tasks.bbh import BBH_TASKS, answer_fn


@dataclass
class FakeVariable:
    value: str


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Answer: 12", 12),
        ("There are 12 apples.", 12),
        ("She pays $1,250 in total.", 1250),
        ("I count 3 + 4 = 7\nAnswer: 7 instruments", 7),
        ("Answer: 7\n(checked in 4 steps)", 7),  # the Answer line wins over a later number
        ("**Answer:** -3", -3),
        ("The temperature is −5 degrees", -5),
        ("That is 12.0 kg", 12),
        ("The range is 3-5", 5),  # a hyphen between numbers is not a minus sign
        ("x = 4, y = 10.", 10),  # a full stop is not a decimal point
        ("about 12.5", None),  # not an integer
        ("I have no idea", None),
        ("", None),
    ],
)
def test_parse_integer_answer(reply: str, expected: int | None) -> None:
    assert metrics.parse_integer_answer(reply) == expected


def test_parse_integer_answer_first_line_only() -> None:
    assert metrics.parse_integer_answer("8 apples\nand 9 pears", only_first_line=True) == 8


@pytest.mark.parametrize(
    ("prediction", "gold", "score"),
    [
        ("Answer: 18", "18", 1),
        ("so she makes $18.00 a day", "18", 1),
        ("Answer: 1,000", "1000", 1),
        ("Answer: 12.5", "12", 0),
        ("Answer: 17", "18", 0),
        ("no number here", "0", 0),  # upstream scored this 1: unparseable read as 0
        ("no number", "no number either", 0),  # two unparseable texts never agree
    ],
)
def test_string_based_equality_fn(prediction: str, gold: str, score: int) -> None:
    assert metrics.string_based_equality_fn(prediction, gold) == score
    assert metrics.string_based_equality_fn(FakeVariable(prediction), FakeVariable(gold)) == score


@pytest.mark.parametrize(
    ("reply", "letter"),
    [
        ("Answer: C", "C"),
        ("Reasoning...\nAnswer: (B)", "B"),
        ("**Answer:** D.", "D"),
        ("Answer: **A**", "A"),
        ("So the answer is (C).", "C"),
        ("I will go with **B**", "B"),
        ("Between (A) and (D), it must be (D)", "D"),
        ("Answer: A\nAnswer: B", "B"),  # the last answer line counts
        ("B", "B"),
        ("(c)", None),  # lower case is not an option
        ("Answer: A cat is a mammal", None),  # an article, not an option
        ("Answer: E", None),  # not one of A-D
        ("nothing useful", None),
    ],
)
def test_parse_choice_letter(reply: str, letter: str | None) -> None:
    assert metrics.parse_choice_letter(reply) == letter


def test_parse_choice_letter_with_more_options() -> None:
    assert metrics.parse_choice_letter("Answer: (K)", "ABCDEFGHIJK") == "K"
    assert metrics.parse_choice_letter("Answer: I think (B)", "ABCDEFGHIJK") == "B"


@pytest.mark.parametrize(
    ("prediction", "gold", "score"),
    [
        ("Answer: (C)", "(C)", 1),
        ("Answer: C", "(C)", 1),
        ("Answer: (B)", "(C)", 0),
        ("Answer: Monsters, Inc", "Monsters, Inc", 1),  # some BBH targets are option texts
        ("nothing", "(A)", 0),
    ],
)
def test_multiple_choice_equality_fn(prediction: str, gold: str, score: int) -> None:
    assert metrics.multiple_choice_equality_fn(prediction, gold) == score


@pytest.mark.parametrize(
    ("prediction", "score"),
    [
        ("Answer: apple banana cherry", 1),
        ("Sorted:\nApple, Banana, 'cherry'.", 1),
        ("Answer: **apple banana cherry**", 1),
        ("Answer: apple cherry banana", 0),  # wrong order
        ("Answer: apple banana", 0),  # a word missing
        ("Answer: apple banana banana cherry", 0),  # a word repeated
        ("", 0),
    ],
)
def test_word_sorting_equality_fn(prediction: str, score: int) -> None:
    assert metrics.word_sorting_equality_fn(prediction, "apple banana cherry") == score


@pytest.mark.parametrize(
    ("prediction", "gold", "score"),
    [
        ("Answer: True", "True", 1),
        ("Answer: **yes**.", "Yes", 1),
        ("Answer: Yes, because the ball was kicked", "Yes", 1),
        ("Answer: No", "Yes", 0),
        ("Answer: invalid", "valid", 0),
        ("Answer: ] ] >.", "] ] >", 1),
        ("Answer: ] >", "] ] >", 0),  # brackets are the answer: not stripped away
        ("Answer: ] ] > )", "] ] >", 0),
    ],
)
def test_exact_text_equality_fn(prediction: str, gold: str, score: int) -> None:
    assert metrics.exact_text_equality_fn(prediction, gold) == score


@pytest.mark.parametrize("task", BBH_TASKS)
def test_every_bbh_target_scores_itself_as_correct(task: str) -> None:
    from wordgrad.tasks.bbh import BigBenchHard

    scorer = answer_fn(task)
    for _, target in BigBenchHard(task, "test"):
        assert scorer(f"Some reasoning.\nAnswer: {target}", target) == 1
