"""Word-level differences between two texts, as HTML with ``<del>`` and ``<ins>`` marks.

Words are compared, not characters, because prompt edits are read as words: a changed word shows
as the old word struck through next to the new one. Whitespace is kept as it is, so line breaks
in a prompt survive (the page shows it with ``white-space: pre-wrap``). All text is escaped.

The matching takes time linear in the texts' length (times a log factor), whatever they hold, so
a report of long, repetitive prompts stays fast:

1. the common prefix and suffix are matched first (most prompt edits are local);
2. the rest is split at *anchors*, words that occur the same small number of times on both
   sides, paired in order, keeping the longest chain that is increasing on both sides (the
   idea of patience diff, Bram Cohen; with the occurrence counts of histogram diff, as in
   git's ``--histogram``); each piece between anchors is matched the same way, a bounded number
   of levels deep;
3. a piece small enough (at most :data:`SMALL_PIECE` word pairs) is matched exactly with
   :class:`difflib.SequenceMatcher`; a larger piece with no anchor (text that repeats itself) is
   matched by Myers' algorithm when at most :data:`MAX_EDITS` words differ in it, and shown as
   replaced otherwise.

Every piece matched exactly costs at most ``sqrt(SMALL_PIECE)`` times its length, Myers' search
at most ``2 * MAX_EDITS + 1`` times, and the levels are bounded, so the whole is linear. The
result is a valid diff (joining the kept and inserted words gives the new text); it can be
coarser than a minimal one only inside long stretches with no distinctive word and many edits.
"""

from __future__ import annotations

import difflib
import html
import re
from bisect import bisect_left
from dataclasses import dataclass

_TOKENS = re.compile(r"^\s+|\S+\s*")
SMALL_PIECE = 4096
"""Pieces with at most this many (old word, new word) pairs are matched exactly."""
MAX_DEPTH = 8
"""How many times a piece is split at anchors before what is left is matched as a whole."""
ANCHOR_COUNT = 4
"""A word occurring the same number of times on both sides, at most this many, is an anchor."""
MAX_EDITS = 32
"""A large piece with no anchor is matched exactly when at most this many words were inserted
and deleted in it; otherwise it is shown as replaced."""


def words(text: str) -> list[str]:
    """``text`` split into words, each with the whitespace after it (joining gives it back).

    Keeping the whitespace on its word stops runs of spaces from matching on their own, which
    would chop a rewritten sentence into alternating one-word deletions and insertions.
    """
    return _TOKENS.findall(text)


Opcode = tuple[str, int, int, int, int]
"""``(tag, i1, i2, j1, j2)`` as :meth:`difflib.SequenceMatcher.get_opcodes` gives them."""


@dataclass(frozen=True)
class WordDiff:
    """The change from one text to another: ``html`` (the new text with ``<del>``/``<ins>``
    marks) and how many words were ``removed`` and ``added``."""

    html: str
    removed: int
    added: int


def word_diff(old: str, new: str) -> WordDiff:
    """The word-level change from ``old`` to ``new``: the marked-up text and the word counts,
    from one matching."""
    before, after = words(old), words(new)
    parts: list[str] = []
    removed = added = 0
    for op, i1, i2, j1, j2 in opcodes(before, after):
        if op == "equal":
            parts.append(html.escape("".join(after[j1:j2])))
            continue
        if i2 > i1:
            parts.append(f"<del>{html.escape(''.join(before[i1:i2]))}</del>")
            removed += sum(1 for token in before[i1:i2] if not token.isspace())
        if j2 > j1:
            parts.append(f"<ins>{html.escape(''.join(after[j1:j2]))}</ins>")
            added += sum(1 for token in after[j1:j2] if not token.isspace())
    return WordDiff("".join(parts), removed, added)


def diff_html(old: str, new: str) -> str:
    """``new`` as HTML, with words removed from ``old`` in ``<del>`` and added ones in ``<ins>``."""
    return word_diff(old, new).html


def change_counts(old: str, new: str) -> tuple[int, int]:
    """How many words were removed and added between ``old`` and ``new``."""
    change = word_diff(old, new)
    return change.removed, change.added


def opcodes(a: list[str], b: list[str]) -> list[Opcode]:
    """How to turn ``a`` into ``b``: equal, replace, delete and insert runs, in order."""
    pairs: list[tuple[int, int]] = []
    _match(a, 0, len(a), b, 0, len(b), 0, pairs)
    codes: list[Opcode] = []
    i = j = 0
    k = 0
    while k <= len(pairs):
        if k < len(pairs):
            start_i, start_j = pairs[k]
            run = 1
            while k + run < len(pairs) and pairs[k + run] == (start_i + run, start_j + run):
                run += 1
        else:
            start_i, start_j, run = len(a), len(b), 0
        if i < start_i or j < start_j:
            tag = (
                "replace"
                if i < start_i and j < start_j
                else ("delete" if i < start_i else "insert")
            )
            codes.append((tag, i, start_i, j, start_j))
        if run:
            codes.append(("equal", start_i, start_i + run, start_j, start_j + run))
        i, j = start_i + run, start_j + run
        k += max(run, 1)
    return codes


def _match(
    a: list[str],
    alo: int,
    ahi: int,
    b: list[str],
    blo: int,
    bhi: int,
    depth: int,
    out: list[tuple[int, int]],
) -> None:
    """Append the matched positions ``(i, j)`` of ``a[alo:ahi]`` and ``b[blo:bhi]`` to ``out``,
    in increasing order."""
    while alo < ahi and blo < bhi and a[alo] == b[blo]:
        out.append((alo, blo))
        alo, blo = alo + 1, blo + 1
    tail: list[tuple[int, int]] = []
    while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:
        ahi, bhi = ahi - 1, bhi - 1
        tail.append((ahi, bhi))
    if alo < ahi and blo < bhi:
        if (ahi - alo) * (bhi - blo) <= SMALL_PIECE:
            matcher = difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
            for i, j, size in matcher.get_matching_blocks():
                out.extend((alo + i + k, blo + j + k) for k in range(size))
        else:
            anchors = _anchors(a, alo, ahi, b, blo, bhi) if depth < MAX_DEPTH else []
            if anchors:
                last_i, last_j = alo, blo
                for i, j in anchors:
                    _match(a, last_i, i, b, last_j, j, depth + 1, out)
                    out.append((i, j))
                    last_i, last_j = i + 1, j + 1
                _match(a, last_i, ahi, b, last_j, bhi, depth + 1, out)
            else:  # nothing distinctive (repetitive text): a few edits apart, or replaced
                out.extend(_few_edits(a, alo, ahi, b, blo, bhi, MAX_EDITS))
    out.extend(reversed(tail))


def _few_edits(
    a: list[str], alo: int, ahi: int, b: list[str], blo: int, bhi: int, limit: int
) -> list[tuple[int, int]]:
    """The matched positions of a shortest edit script when it has at most ``limit`` insertions
    and deletions, else none (Myers' greedy algorithm, "An O(ND) difference algorithm and its
    variations", 1986; its cost is bounded by ``(2 * limit + 1)`` times the pieces' length)."""
    n, m = ahi - alo, bhi - blo
    if abs(n - m) > limit:
        return []
    furthest = [0] * (2 * limit + 3)
    trace: list[list[int]] = []
    for d in range(limit + 1):
        trace.append(furthest[:])
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and furthest[k - 1] < furthest[k + 1]):
                x = furthest[k + 1]
            else:
                x = furthest[k - 1] + 1
            y = x - k
            while x < n and y < m and a[alo + x] == b[blo + y]:
                x, y = x + 1, y + 1
            furthest[k] = x
            if x >= n and y >= m:
                return _trace_back(trace, n, m, alo, blo)
    return []


def _trace_back(
    trace: list[list[int]], x: int, y: int, alo: int, blo: int
) -> list[tuple[int, int]]:
    matched: list[tuple[int, int]] = []
    for d in range(len(trace) - 1, -1, -1):
        furthest = trace[d]
        k = x - y
        down = k == -d or (k != d and furthest[k - 1] < furthest[k + 1])
        previous_k = k + 1 if down else k - 1
        previous_x = furthest[previous_k] if d else 0
        previous_y = previous_x - previous_k if d else 0
        while x > previous_x and y > previous_y:
            x, y = x - 1, y - 1
            matched.append((alo + x, blo + y))
        x, y = previous_x, previous_y
    return matched[::-1]


def _anchors(
    a: list[str], alo: int, ahi: int, b: list[str], blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Positions of words that occur equally often (at most :data:`ANCHOR_COUNT` times) in both
    ranges, the k-th occurrence paired with the k-th, reduced to the longest chain increasing in
    both (patience sorting, O(n log n))."""
    in_a: dict[str, list[int]] = {}
    for i in range(alo, ahi):
        in_a.setdefault(a[i], []).append(i)
    in_b: dict[str, list[int]] = {}
    for j in range(blo, bhi):
        positions = in_a.get(b[j])
        if positions is not None and len(positions) <= ANCHOR_COUNT:
            in_b.setdefault(b[j], []).append(j)
    pairs = sorted(
        (i, j)
        for word, js in in_b.items()
        if len(js) == len(in_a[word])
        for i, j in zip(in_a[word], js)
    )
    # longest chain with j increasing (pairs are sorted by i, each i once)
    tops: list[int] = []
    top_index: list[int] = []
    previous: list[int] = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        pile = bisect_left(tops, j)
        if pile == len(tops):
            tops.append(j)
            top_index.append(index)
        else:
            tops[pile], top_index[pile] = j, index
        previous[index] = top_index[pile - 1] if pile else -1
    chain: list[tuple[int, int]] = []
    index = top_index[-1] if top_index else -1
    while index >= 0:
        chain.append(pairs[index])
        index = previous[index]
    return chain[::-1]
