"""Spotting updates that copy what they should only have learned from.

Two known failure modes of text optimizers: the optimizer's own wording (our tags) ends up in the
optimized prompt, and a training example is pasted into the prompt verbatim, which inflates
training scores and overfits. Both are detected here, on the new value and the calls its
feedback came from; the optimizer warns with :class:`~wordgrad.errors.LeakWarning`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MIN_COPIED_CHARS = 60
"""A line of an input at least this long that reappears verbatim counts as copied."""

_OUR_TAGS = re.compile(
    r"</?(?:ROLE|VARIABLE|FEEDBACK|CALL|PAST_FEEDBACK|EARLIER_VERSIONS|CONSTRAINTS|EXAMPLES|"
    r"SYSTEM_PROMPT|INPUT|OUTPUT|OBJECTIVE|CRITICISM|FUNCTION)>"
)
_INPUT_BLOCK = re.compile(r"<INPUT>\n(.*?)\n</INPUT>", re.S)


def leaked_tags(new_value: str, previous_value: str) -> list[str]:
    """Our prompt tags that appear in ``new_value`` but were not in ``previous_value``."""
    before = set(_OUR_TAGS.findall(previous_value))
    return sorted({tag for tag in _OUR_TAGS.findall(new_value) if tag not in before})


def copied_inputs(new_value: str, previous_value: str, calls: Iterable[str]) -> list[str]:
    """Long lines of the calls' inputs that ``new_value`` has verbatim and the old value had not."""
    copied: dict[str, None] = {}
    for call in calls:
        for block in _INPUT_BLOCK.findall(call):
            for line in block.splitlines():
                line = line.strip()
                if (
                    len(line) >= MIN_COPIED_CHARS
                    and line in new_value
                    and line not in previous_value
                ):
                    copied.setdefault(line, None)
    return list(copied)
