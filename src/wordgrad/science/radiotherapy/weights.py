"""Objective weights written as text, and read back with checks.

The text form is one ``structure: weight`` line per weighted structure::

    PTV: 1000
    bladder: 300
    rectum: 300

:func:`parse_weights` accepts what a language model plausibly writes around that (a sentence
before or after, bullets, ``=`` instead of ``:``, scientific notation, a JSON object) but
refuses anything ambiguous: a structure missing or given twice, a name the case does not have,
a weight that is not a positive finite number. Its error message says what was wrong and what
is expected, so it can go back to the model as feedback.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence

from wordgrad.errors import WordgradError

MAX_WEIGHT = 1e6
"""Weights are relative, so this bound only catches typos (a weight of 1e30 breaks the solver)."""

_LINE = re.compile(
    r"^[\s\-*•>#]*[\"'`]?(?P<name>[A-Za-z][\w\- ]*?)[\"'`]?\s*(?:weight)?\s*[:=]\s*"
    r"(?P<number>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*[,;]?\s*(?:\(.*\))?\s*$"
)


_ANY_VALUE = re.compile(
    r"^[\s\-*•>#]*[\"'`]?(?P<name>[A-Za-z][\w\- ]*?)[\"'`]?\s*(?:weight)?\s*[:=]\s*(?P<value>.+)$"
)
"""A ``name: value`` line whose value is not a number (kept only for known structures)."""


class WeightsError(WordgradError, ValueError):
    """A weights text that cannot be used; the message says why and what is expected."""


def format_weights(weights: Mapping[str, float]) -> str:
    """``"PTV: 1000\\nbladder: 300\\n..."`` in the given order (``:g`` formatting)."""
    return "\n".join(f"{name}: {weight:g}" for name, weight in weights.items())


def expected_format(structures: Sequence[str]) -> str:
    """The rule for writing weights, naming the structures (for prompts and error messages)."""
    lines = ", ".join(f"'{name}: <weight>'" for name in structures)
    return (
        f"one line per structure, exactly these {len(structures)}: {lines}; each weight a "
        f"positive number (relative importance, at most {MAX_WEIGHT:g})"
    )


def parse_weights(text: str, structures: Sequence[str]) -> dict[str, float]:
    """The weights in ``text`` for exactly ``structures`` (in that order).

    Names match case-insensitively. A JSON object (``{"PTV": 1000, ...}``) is read too.

    Raises:
        WeightsError: naming each problem (no weights found, unknown or missing structures,
            a structure given twice, a weight that is not a positive finite number).
    """
    known = {name.lower(): name for name in structures}
    found: list[tuple[str, str]] = _from_json(text)
    if not found:
        for line in text.splitlines():
            match = _LINE.match(line.strip())
            if match:
                found.append((match["name"].strip(), match["number"]))
                continue
            other = _ANY_VALUE.match(line.strip())
            if other and other["name"].strip().lower() in known:
                found.append((other["name"].strip(), other["value"].strip()))
    if not found:
        raise WeightsError(
            "no weights found in the text; write " + expected_format(list(structures))
        )
    problems: list[str] = []
    weights: dict[str, float] = {}
    for name, raw in found:
        key = name.lower()
        if key not in known:
            problems.append(f"{name!r} is not a structure of this case")
            continue
        canonical = known[key]
        if canonical in weights:
            problems.append(f"{canonical} is given more than once")
            continue
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            problems.append(f"the weight of {canonical} must be a positive number, not {raw}")
        elif value > MAX_WEIGHT:
            problems.append(f"the weight of {canonical} ({raw}) is above {MAX_WEIGHT:g}")
        weights[canonical] = value
    missing = [name for name in structures if name not in weights]
    if missing:
        problems.append("missing: " + ", ".join(missing))
    if problems:
        raise WeightsError(
            "the weights cannot be used: "
            + "; ".join(problems)
            + ". Write "
            + expected_format(list(structures))
        )
    return {name: weights[name] for name in structures}


def _from_json(text: str) -> list[tuple[str, str]]:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return []
    try:
        data = json.loads(text[start : end + 1])
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    pairs = []
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            pairs.append((str(name), "nan"))
        else:
            pairs.append((str(name), str(value)))
    return pairs
