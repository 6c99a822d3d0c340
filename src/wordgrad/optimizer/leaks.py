"""Spotting updates that copy what they should only have learned from.

Two known failure modes of text optimizers: the optimizer's own wording (its tags, or phrases of
its instructions) ends up in the optimized prompt, and a training example is pasted into the
prompt, which inflates training scores and overfits. Both are detected on the new value, and
the optimizer warns with :class:`~wordgrad.errors.LeakWarning`.

A *copied run* is a sequence of at least :data:`MIN_SHARED_WORDS` consecutive words that the new
value shares with a source and that the old value did not contain. Words are compared after
normalising case and whitespace (and ignoring punctuation between words); each CJK character
counts as a word, since those scripts do not separate words by spaces. This is word n-gram
("shingle") overlap, the usual measure for detecting copied text (Broder, "On the resemblance and
containment of documents", 1997).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from wordgrad import prompts
from wordgrad.prompts import TEMPLATES

MIN_SHARED_WORDS = 6
"""A run of this many words in common counts as copied."""

_OUR_TAGS = re.compile(
    r"</?(?:ROLE|VARIABLE|FEEDBACK|CALL|PAST_FEEDBACK|EARLIER_VERSIONS|CONSTRAINTS|EXAMPLES|"
    r"SYSTEM_PROMPT|INPUT|OUTPUT|OBJECTIVE|CRITICISM|FUNCTION)>"
)
_INPUT_BLOCK = re.compile(r"<INPUT>\n(.*?)\n</INPUT>", re.S)
_WORD = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|[^\W_]+", re.UNICODE
)
_FIELD = re.compile(r"\{[a-z_]+\}")


def leaked_tags(new_value: str, previous_value: str) -> list[str]:
    """Our prompt tags that appear in ``new_value`` but were not in ``previous_value``."""
    before = set(_OUR_TAGS.findall(previous_value))
    return sorted({tag for tag in _OUR_TAGS.findall(new_value) if tag not in before})


def words(text: str) -> list[str]:
    """``text`` as lower-case words (CJK characters one by one), punctuation and spacing gone."""
    return [w.casefold() for w in _WORD.findall(text)]


def _shingles(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def shared_runs(
    new_value: str,
    previous_value: str,
    sources: Iterable[str],
    min_words: int = MIN_SHARED_WORDS,
) -> list[str]:
    """Maximal runs of ``min_words`` or more words of ``new_value`` that also occur in one of
    ``sources`` and did not occur in ``previous_value``, in the order they appear.

    Returned as the normalised words joined by single spaces.
    """
    new_words = words(new_value)
    if len(new_words) < min_words:
        return []
    old = _shingles(words(previous_value), min_words)
    source_shingles: set[tuple[str, ...]] = set()
    for source in sources:
        source_shingles |= _shingles(words(source), min_words)
    copied = [
        i
        for i in range(len(new_words) - min_words + 1)
        if (gram := tuple(new_words[i : i + min_words])) in source_shingles and gram not in old
    ]
    runs: list[str] = []
    start = end = -1
    for i in copied:
        if i > end - min_words + 1 and end >= 0:  # a gap: the previous run ended
            runs.append(" ".join(new_words[start:end]))
            start = -1
        if start < 0:
            start = i
        end = i + min_words
    if start >= 0:
        runs.append(" ".join(new_words[start:end]))
    return runs


def call_inputs(calls: Iterable[str]) -> list[str]:
    """The ``<INPUT>`` blocks of the calls a variable's feedback came from (the minibatch)."""
    return [block for call in calls for block in _INPUT_BLOCK.findall(call)]


def copied_inputs(new_value: str, previous_value: str, calls: Iterable[str]) -> list[str]:
    """Runs of words the new value shares with the calls' inputs and the old value had not."""
    return shared_runs(new_value, previous_value, call_inputs(calls))


def optimizer_instructions() -> list[str]:
    """The fixed wording of the optimizer's own prompts (placeholders removed)."""
    texts = [
        piece
        for name in TEMPLATES
        if name.startswith(("optimizer.", "gradient.", "reduce."))
        for piece in _FIELD.split(TEMPLATES[name])
    ]
    texts.append(
        prompts.render(
            "optimizer.system",
            reply_format=prompts.render(
                "optimizer.reply_in_tags", start_tag="<IMPROVED_VARIABLE>", end_tag=""
            ),
        )
    )
    return texts


def copied_instructions(
    new_value: str, previous_value: str, extra: Sequence[str] = ()
) -> list[str]:
    """Runs of words the new value shares with the optimizer's instructions (ours, plus
    ``extra``, e.g. a custom optimizer system prompt) and the old value had not."""
    return shared_runs(new_value, previous_value, [*optimizer_instructions(), *extra])


__all__ = [
    "MIN_SHARED_WORDS",
    "call_inputs",
    "copied_inputs",
    "copied_instructions",
    "leaked_tags",
    "optimizer_instructions",
    "shared_runs",
    "words",
]
