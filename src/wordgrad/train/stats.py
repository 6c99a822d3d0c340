"""Telling gains from noise: bootstrap confidence intervals and paired tests.

An accuracy measured on 100 examples moves by several points between reruns, so every before/after
number should come with an interval, and a before/after comparison on the *same* examples with a
paired test (pairing removes the examples' own difficulty from the comparison).

- :func:`bootstrap_ci`: the mean of per-example scores with a percentile bootstrap interval.
- :func:`mcnemar_exact`: the exact McNemar test for right/wrong outcomes; it looks only at the
  examples that changed (wrong→right against right→wrong).
- :func:`paired_permutation_test`: a sign-flip permutation test for any paired scores.
- :func:`compare_paired`: both sides' means, the paired difference with its interval, and the
  fitting test (McNemar when all scores are 0/1), ready to print.

Everything is pure Python and seeded: the same inputs always give the same numbers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

DEFAULT_RESAMPLES = 10_000
DEFAULT_SEED = 0


class ConfidenceInterval(NamedTuple):
    """A mean and the low and high ends of its interval; unpacks as ``mean, low, high``."""

    mean: float
    low: float
    high: float

    def __format__(self, spec: str) -> str:
        """Formats each number with ``spec`` (default ``.3f``): ``f"{ci:+.2f}"``."""
        spec = spec if "." in spec else spec + ".3f"
        return f"{self.mean:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"

    def __str__(self) -> str:
        return format(self, "")


def _as_floats(values: Sequence[float | int | bool], name: str) -> list[float]:
    numbers = [float(v) for v in values]
    if not numbers:
        raise ValueError(f"{name} is empty: there is nothing to summarise")
    if any(math.isnan(v) for v in numbers):
        raise ValueError(f"{name} contains NaN; score failed examples as 0 or drop them first")
    return numbers


def _quantile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted data, interpolating linearly between neighbours."""
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _check_confidence(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    return (1.0 - confidence) / 2.0


def _percentile_interval(
    numbers: list[float], confidence: float, n_resamples: int, seed: int | random.Random
) -> ConfidenceInterval:
    tail = _check_confidence(confidence)
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    size = len(numbers)
    means = sorted(math.fsum(rng.choices(numbers, k=size)) / size for _ in range(n_resamples))
    mean = math.fsum(numbers) / size
    return ConfidenceInterval(mean, _quantile(means, tail), _quantile(means, 1.0 - tail))


def bootstrap_ci(
    values: Sequence[float | int | bool],
    *,
    confidence: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int | random.Random = DEFAULT_SEED,
) -> ConfidenceInterval:
    """The mean of ``values`` with a percentile bootstrap interval.

    Resamples the values with replacement ``n_resamples`` times and takes the ``(1 - confidence)/2``
    and ``(1 + confidence)/2`` quantiles of the resampled means. For per-example accuracies (0/1),
    the mean is the accuracy.

    >>> bootstrap_ci([1, 1, 1, 1])
    ConfidenceInterval(mean=1.0, low=1.0, high=1.0)
    """
    return _percentile_interval(_as_floats(values, "values"), confidence, n_resamples, seed)


def _paired(
    before: Sequence[float | int | bool], after: Sequence[float | int | bool]
) -> tuple[list[float], list[float]]:
    first, second = _as_floats(before, "before"), _as_floats(after, "after")
    if len(first) != len(second):
        raise ValueError(
            f"before and after must score the same examples: got {len(first)} and {len(second)}"
        )
    return first, second


def _binary(values: Sequence[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def mcnemar_exact(
    before: Sequence[float | int | bool], after: Sequence[float | int | bool]
) -> float:
    """Two-sided exact McNemar p-value for paired right (1) / wrong (0) outcomes.

    Under "no change", each example that changed is equally likely to have gone either way, so
    the smaller of the two counts is binomial with p = 1/2. Returns 1.0 when nothing changed.
    """
    first, second = _paired(before, after)
    if not (_binary(first) and _binary(second)):
        raise ValueError("McNemar's test needs 0/1 outcomes; use paired_permutation_test")
    gained = sum(1 for b, a in zip(first, second) if a > b)
    lost = sum(1 for b, a in zip(first, second) if a < b)
    return _two_sided_binomial_half(min(gained, lost), gained + lost)


def _two_sided_binomial_half(k: int, n: int) -> float:
    """P(X <= k) doubled, capped at 1, for X ~ Binomial(n, 1/2); exact integer arithmetic."""
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return min(1.0, 2 * tail / (1 << n))


def paired_permutation_test(
    before: Sequence[float | int | bool],
    after: Sequence[float | int | bool],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int | random.Random = DEFAULT_SEED,
) -> float:
    """Two-sided sign-flip permutation p-value for the mean paired difference ``after - before``.

    Under "no change", each example's difference is as likely negative as positive; the p-value
    is the share of random sign flips whose mean is at least as far from 0 as the observed one
    (counting the observed one, so it is never 0).
    """
    first, second = _paired(before, after)
    differences = [a - b for b, a in zip(first, second)]
    observed = abs(math.fsum(differences))
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    tolerance = 1e-9 * max(1.0, observed)
    extreme = 0
    for _ in range(n_resamples):
        flipped = math.fsum(d if rng.random() < 0.5 else -d for d in differences)
        if abs(flipped) >= observed - tolerance:
            extreme += 1
    return (extreme + 1) / (n_resamples + 1)


@dataclass(frozen=True)
class PairedComparison:
    """Before and after on the same examples.

    ``difference`` is ``after - before`` with its paired bootstrap interval; ``p_value`` comes
    from ``test`` (``"exact McNemar"`` for 0/1 outcomes, else ``"sign-flip permutation"``);
    ``gained``/``lost`` count examples that went up/down.
    """

    n: int
    before: ConfidenceInterval
    after: ConfidenceInterval
    difference: ConfidenceInterval
    p_value: float
    test: str
    gained: int
    lost: int

    def significant(self, alpha: float = 0.05) -> bool:
        """True when the test rejects "no change" at level ``alpha``."""
        return self.p_value < alpha

    def __str__(self) -> str:
        return (
            f"before {self.before} -> after {self.after}; difference {self.difference:+} "
            f"(n={self.n}, {self.gained} up, {self.lost} down; {self.test} p={self.p_value:.3g})"
        )


def compare_paired(
    before: Sequence[float | int | bool],
    after: Sequence[float | int | bool],
    *,
    confidence: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> PairedComparison:
    """Compare two runs scored on the same examples (same order): intervals and a paired test.

    Use it for "did optimization help?": a gain whose difference interval includes 0 (or whose
    p-value is large) is within the noise of this many examples.
    """
    first, second = _paired(before, after)
    differences = [a - b for b, a in zip(first, second)]
    if _binary(first) and _binary(second):
        p_value, test = mcnemar_exact(first, second), "exact McNemar"
    else:
        p_value = paired_permutation_test(first, second, n_resamples=n_resamples, seed=seed)
        test = "sign-flip permutation"
    return PairedComparison(
        n=len(first),
        before=_percentile_interval(first, confidence, n_resamples, seed),
        after=_percentile_interval(second, confidence, n_resamples, seed),
        difference=_percentile_interval(differences, confidence, n_resamples, seed),
        p_value=p_value,
        test=test,
        gained=sum(1 for d in differences if d > 0),
        lost=sum(1 for d in differences if d < 0),
    )
