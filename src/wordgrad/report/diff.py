"""Word-level differences between two texts, as HTML with ``<del>`` and ``<ins>`` marks.

Words are compared, not characters, because prompt edits are read as words: a changed word shows
as the old word struck through next to the new one. Whitespace is kept as it is, so line breaks
in a prompt survive (the page shows it with ``white-space: pre-wrap``). All text is escaped.
"""

from __future__ import annotations

import difflib
import html
import re
from typing import Any

_TOKENS = re.compile(r"^\s+|\S+\s*")


def words(text: str) -> list[str]:
    """``text`` split into words, each with the whitespace after it (joining gives it back).

    Keeping the whitespace on its word stops runs of spaces from matching on their own, which
    would chop a rewritten sentence into alternating one-word deletions and insertions.
    """
    return _TOKENS.findall(text)


Opcodes = list[tuple[Any, int, int, int, int]]


def _compare(old: str, new: str) -> tuple[list[str], list[str], Opcodes]:
    before, after = words(old), words(new)
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return before, after, matcher.get_opcodes()


def diff_html(old: str, new: str) -> str:
    """``new`` as HTML, with words removed from ``old`` in ``<del>`` and added ones in ``<ins>``."""
    before, after, opcodes = _compare(old, new)
    parts: list[str] = []
    for op, i1, i2, j1, j2 in opcodes:
        if op == "equal":
            parts.append(html.escape("".join(after[j1:j2])))
            continue
        if i2 > i1:
            parts.append(f"<del>{html.escape(''.join(before[i1:i2]))}</del>")
        if j2 > j1:
            parts.append(f"<ins>{html.escape(''.join(after[j1:j2]))}</ins>")
    return "".join(parts)


def change_counts(old: str, new: str) -> tuple[int, int]:
    """How many words were removed and added between ``old`` and ``new``."""
    before, after, opcodes = _compare(old, new)
    removed = added = 0
    for op, i1, i2, j1, j2 in opcodes:
        if op != "equal":
            removed += sum(1 for token in before[i1:i2] if not token.isspace())
            added += sum(1 for token in after[j1:j2] if not token.isspace())
    return removed, added
