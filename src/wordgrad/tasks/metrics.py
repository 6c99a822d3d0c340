"""Deterministic metrics: read the final answer out of a model's free-text reply and score it.

Replies are messy ("Answer: **(C)**", "She pays $1,250.", "so 12 apples"), so each parser looks for
an explicit ``Answer:`` line first and falls back to the last plausible answer in the text. A reply
with nothing to parse scores 0: parsers return ``None``, and ``None`` never equals anything, so two
unparseable texts are not counted as agreeing.

Every scoring function accepts strings or :class:`~wordgrad.variable.Variable` objects (anything
with a ``value``), so it can serve directly inside ``StringBasedFunction``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation

AnswerFn = Callable[[object, object], int]
"""A scorer: ``fn(prediction, ground_truth_answer)`` returns 1 or 0."""

_ANSWER_MARKER = re.compile(r"(?i)\banswer\b\**\s*:")
_NUMBER = re.compile(r"(?<![\w)\]])[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
# After "Answer:", the letter must end the line or be followed by punctuation: "Answer: A cat"
# and "Answer: I think" name no option.
_LETTER_AFTER_MARKER = (
    r"(?m)(?i:answer\b\**\s*(?:is\s*)?:?)\s*[*_(\[]*\s*([{letters}])(?=\s*(?:[)\].,:;*_-]|$))"
)
_BOLD_LETTER = r"\*\*\s*\(?([{letters}])\)?\s*\*\*"
_PAREN_LETTER = r"\(([{letters}])\)"
_WORD_EDGE_PUNCTUATION = "\"'`.,;:!?()[]{}*_"


def text_of(value: object) -> str:
    """The text of a Variable (its ``value``) or of a plain string."""
    return str(getattr(value, "value", value))


def final_answer_text(text: str) -> str:
    """The part of ``text`` that holds the answer: after the last ``Answer:``, else the last line.

    >>> final_answer_text("Let me think.\\nAnswer: 12 apples")
    '12 apples'
    """
    markers = list(_ANSWER_MARKER.finditer(text))
    if markers:
        return text[markers[-1].end() :].strip()
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def parse_number(text: str, only_first_line: bool = False) -> Decimal | None:
    """The answer's number as a :class:`~decimal.Decimal`, or ``None`` when there is none.

    Takes the first number after the last ``Answer:`` marker when there is one, else the last
    number anywhere. Thousands commas are dropped ("1,250" is 1250), units and currency around the
    number are ignored ("$12", "12kg"), a leading sign counts ("-3"), and a full stop ending a
    sentence is not a decimal point ("is 12." is 12).
    """
    if only_first_line:
        text = text.strip().split("\n", 1)[0]
    markers = list(_ANSWER_MARKER.finditer(text))
    after_marker = _NUMBER.search(text, markers[-1].end()) if markers else None
    match = after_marker or _last(_NUMBER.finditer(text))
    if match is None:
        return None
    try:
        return Decimal(match.group().replace(",", "").replace("−", "-"))
    except InvalidOperation:  # pragma: no cover - the pattern only matches valid numbers
        return None


def _last(matches: Iterable[re.Match[str]]) -> re.Match[str] | None:
    found = None
    for found in matches:  # noqa: B007 - we want the last one
        pass
    return found


def parse_integer_answer(answer: object, only_first_line: bool = False) -> int | None:
    """The integer a reply gives as its answer, or ``None`` when it gives none.

    Named and called as in upstream (which took it from DSPy), but stricter: upstream returned 0
    when nothing parsed (so "no idea" matched a gold answer of 0) and truncated "12.5" to 12.
    Here an unparseable reply is ``None`` and a non-integral number is not an integer (``None``);
    "12.0" is 12.
    """
    number = parse_number(text_of(answer), only_first_line=only_first_line)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def string_based_equality_fn(prediction: object, ground_truth_answer: object) -> int:
    """1 when the prediction's numeric answer equals the ground truth's, else 0.

    The metric of BBH object counting and GSM8K. Numbers compare by value ("12.0" equals "12"); a
    side without a number scores 0.
    """
    predicted = parse_number(text_of(prediction))
    gold = parse_number(text_of(ground_truth_answer))
    return int(predicted is not None and gold is not None and predicted == gold)


def parse_choice_letter(text: object, letters: str = "ABCD") -> str | None:
    """The option letter a reply picks, or ``None``.

    Looks, in order, for the last ``Answer: C`` (also ``Answer: (C)``, ``**Answer:** C``,
    ``the answer is (C)``), the last bold ``**C**`` or ``**(C)**``, the last ``(C)``, and finally a
    reply that is just the letter. ``letters`` are the allowed options, e.g. ``"ABCDEFG"``.
    """
    reply = text_of(text)
    allowed = re.escape(letters)
    for template in (_LETTER_AFTER_MARKER, _BOLD_LETTER, _PAREN_LETTER):
        found = _last(re.finditer(template.format(letters=allowed), reply))
        if found is not None:
            return found.group(1).upper()
    bare = reply.strip().strip(_WORD_EDGE_PUNCTUATION).strip()
    return bare if len(bare) == 1 and bare in letters else None


def multiple_choice_equality_fn(prediction: object, ground_truth_answer: object) -> int:
    """1 when the prediction picks the ground truth's option letter (gold as "C" or "(C)").

    A gold answer that is not an option letter (a few BBH targets give the option's text instead)
    is compared as text with :func:`exact_text_equality_fn`.
    """
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    gold = parse_choice_letter(ground_truth_answer, letters)
    if gold is None:
        return exact_text_equality_fn(prediction, ground_truth_answer)
    return int(parse_choice_letter(prediction, letters) == gold)


def normalize_words(text: str) -> list[str]:
    """Lower-cased words with surrounding quotes and punctuation removed ("Apple," is "apple")."""
    words = (word.strip(_WORD_EDGE_PUNCTUATION) for word in re.split(r"[\s,]+", text.lower()))
    return [word for word in words if word]


def word_sorting_equality_fn(prediction: object, ground_truth_answer: object) -> int:
    """1 when the reply's final answer is exactly the gold word list, in the gold order.

    The answer is read from after the last ``Answer:``, else from the last line; commas, quotes and
    case do not matter, but every word must be there once, in order.
    """
    gold = normalize_words(text_of(ground_truth_answer))
    return int(bool(gold) and normalize_words(final_answer_text(text_of(prediction))) == gold)


def _answer_tokens(text: str) -> list[str]:
    """Whitespace tokens, lower-cased, without quotes, emphasis or sentence punctuation around them.

    Brackets are kept: in Dyck-language answers they are the answer.
    """
    tokens = (token.strip("\"'`.,;:!?*_") for token in text.lower().split())
    return [token for token in tokens if token]


def exact_text_equality_fn(prediction: object, ground_truth_answer: object) -> int:
    """1 when the reply's final answer is the gold text, ignoring case, quotes and punctuation.

    For short free-form answers: True/False, Yes/No, valid/invalid, Dyck bracket sequences. A
    one-word gold also matches a final answer that starts with it ("Yes, because ...").
    """
    gold = _answer_tokens(text_of(ground_truth_answer))
    answer = _answer_tokens(final_answer_text(text_of(prediction)))
    if not gold:
        return 0
    return int(answer == gold or (len(gold) == 1 and answer[:1] == gold))
