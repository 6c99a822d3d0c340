"""The word diff: always a valid edit script, exact on small changes, bounded work on long and
repetitive texts, and computed once per pair of texts in a report."""

from __future__ import annotations

import difflib
import random
from pathlib import Path
from typing import Any

import pytest

from wordgrad.report import build_report, diff, html
from wordgrad.report.diff import SMALL_PIECE, opcodes, word_diff, words
from wordgrad.train.events import EventLog


def apply(a: list[str], b: list[str], codes: list[tuple[str, int, int, int, int]]) -> list[str]:
    """``b`` rebuilt from ``a`` and the opcodes (checking they tile both sides in order)."""
    out: list[str] = []
    i = j = 0
    for tag, i1, i2, j1, j2 in codes:
        assert (i1, j1) == (i, j)
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]
            out += a[i1:i2]
        else:
            out += b[j1:j2]
        i, j = i2, j2
    assert (i, j) == (len(a), len(b))
    return out


def edit(tokens: list[str], rng: random.Random, vocabulary: list[str], edits: int) -> list[str]:
    changed = list(tokens)
    for _ in range(edits):
        choice = rng.random()
        if choice < 0.3 and changed:
            del changed[rng.randrange(len(changed))]
        elif choice < 0.6:
            changed.insert(rng.randint(0, len(changed)), rng.choice(vocabulary))
        elif changed:
            changed[rng.randrange(len(changed))] = rng.choice(vocabulary)
    return changed


def test_the_opcodes_always_turn_the_old_words_into_the_new() -> None:
    rng = random.Random(7)
    for _ in range(500):
        vocabulary = [f"w{n} " for n in range(rng.randint(1, 40))]
        a = [rng.choice(vocabulary) for _ in range(rng.randint(0, 400))]
        b = edit(a, rng, vocabulary, rng.randint(0, 12))
        assert apply(a, b, opcodes(a, b)) == b


def test_small_changes_are_found_exactly() -> None:
    rng = random.Random(3)
    vocabulary = [f"w{n} " for n in range(30)]
    for _ in range(200):
        a = [rng.choice(vocabulary) for _ in range(rng.randint(0, 60))]
        b = edit(a, rng, vocabulary, 3)
        ours = sum(i2 - i1 for tag, i1, i2, _, _ in opcodes(a, b) if tag == "equal")
        best = sum(
            m.size
            for m in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
        )
        assert ours == best  # as many words kept as a longest common subsequence


@pytest.mark.parametrize("kind", ["varied", "repetitive"])
def test_long_texts_are_matched_in_small_pieces_and_keep_what_did_not_change(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(11)
    if kind == "repetitive":
        old = "Count every object carefully, then add the counts. " * 4000  # 200,000 characters
    else:
        old = " ".join(f"word{rng.randrange(3000)}" for _ in range(22_000))
    tokens = words(old)
    for position in (len(tokens) // 5, len(tokens) // 2, 4 * len(tokens) // 5):
        tokens[position] = "CHANGED "
    new = "".join(tokens)
    pieces: list[int] = []
    real = difflib.SequenceMatcher

    def recording(
        junk: Any, a: list[str], b: list[str], autojunk: bool
    ) -> difflib.SequenceMatcher[str]:
        pieces.append(len(a) * len(b))
        return real(junk, a, b, autojunk=autojunk)

    monkeypatch.setattr(diff.difflib, "SequenceMatcher", recording)
    change = word_diff(old, new)
    assert max(pieces, default=0) <= SMALL_PIECE
    assert change.added == 3
    assert change.html.count("<ins>") == 3
    assert change.removed == 3  # exact: anchors, or a few edits apart in repetitive text


def test_a_report_compares_each_pair_of_texts_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = EventLog(tmp_path / "events.jsonl")
    log.write("run_start", kind="prompt", config={}, resumed_from=None)
    texts = ["first text here", "second text here", "third text there", "fourth text there"]
    for step in range(1, 4):
        log.write(
            "step",
            step,
            parameter="prompt",
            old_value=texts[step - 1],
            new_value=texts[step],
            decision="kept",
            feedback=["x"],
        )
    log.close()
    calls: list[tuple[str, str]] = []
    real = html.word_diff

    def counting(old: str, new: str) -> diff.WordDiff:
        calls.append((old, new))
        return real(old, new)

    monkeypatch.setattr(html, "word_diff", counting)
    page = build_report(tmp_path)
    assert len(calls) == len(set(calls)) == 5  # step 0, three steps, first to last: once each
    assert "<del>first </del>" in page
