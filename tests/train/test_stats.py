"""Bootstrap intervals and paired tests on cases whose answers are known."""

from __future__ import annotations

import math
import random

import pytest

from wordgrad.train.stats import (
    ConfidenceInterval,
    bootstrap_ci,
    compare_paired,
    mcnemar_exact,
    paired_permutation_test,
)


def test_bootstrap_of_a_constant_is_that_constant() -> None:
    assert bootstrap_ci([1, 1, 1, 1]) == ConfidenceInterval(1.0, 1.0, 1.0)
    assert tuple(bootstrap_ci([0.25])) == (0.25, 0.25, 0.25)


def test_bootstrap_interval_of_half_right_matches_the_normal_approximation() -> None:
    # 50 right out of 100: the standard error is 0.05, so the 95% interval is about 0.5 ± 0.098.
    mean, low, high = bootstrap_ci([1, 0] * 50)
    assert mean == 0.5
    assert low == pytest.approx(0.402, abs=0.015)
    assert high == pytest.approx(0.598, abs=0.015)


def test_bootstrap_is_seeded_and_wider_at_higher_confidence() -> None:
    rng = random.Random(4)
    values = [rng.random() for _ in range(40)]
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)
    narrow, wide = bootstrap_ci(values, confidence=0.5), bootstrap_ci(values, confidence=0.99)
    assert wide.low < narrow.low <= narrow.mean <= narrow.high < wide.high


def test_bootstrap_rejects_empty_and_nan_input_and_bad_confidence() -> None:
    with pytest.raises(ValueError, match="empty"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([1.0, math.nan])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1, 0], confidence=95)


def test_interval_formats_as_text() -> None:
    assert str(ConfidenceInterval(0.5, 0.4, 0.6)) == "0.500 [0.400, 0.600]"
    assert f"{ConfidenceInterval(0.05, -0.01, 0.1):+.2f}" == "+0.05 [-0.01, +0.10]"


def test_mcnemar_exact_known_values() -> None:
    # 6 examples went right->wrong, 0 wrong->right: p = 2 * (1/2)^6 = 0.03125.
    before, after = [1] * 6 + [0] * 4, [0] * 6 + [0] * 4
    assert mcnemar_exact(before, after) == pytest.approx(0.03125)
    # 1 against 5: p = 2 * (C(6,0) + C(6,1)) / 2^6 = 14 / 64.
    assert mcnemar_exact([1, 0, 0, 0, 0, 0], [0, 1, 1, 1, 1, 1]) == pytest.approx(14 / 64)
    assert mcnemar_exact([1, 0, 1], [1, 0, 1]) == 1.0  # nothing changed
    assert mcnemar_exact([True, False], [False, True]) == 1.0  # one each way


def test_mcnemar_handles_many_changes_without_overflow() -> None:
    assert mcnemar_exact([0] * 2000, [1] * 2000) == pytest.approx(0.0, abs=1e-300)


def test_mcnemar_needs_binary_paired_outcomes() -> None:
    with pytest.raises(ValueError, match="0/1"):
        mcnemar_exact([0.5, 1], [1, 1])
    with pytest.raises(ValueError, match="same examples"):
        mcnemar_exact([1, 0], [1])


def test_permutation_test_separates_signal_from_noise() -> None:
    rng = random.Random(0)
    before = [rng.random() for _ in range(30)]
    assert paired_permutation_test(before, [b + 0.3 for b in before]) < 0.001
    assert paired_permutation_test(before, before) == 1.0
    noisy = [b + rng.gauss(0, 0.01) for b in before]
    assert paired_permutation_test(before, noisy) > 0.05


def test_compare_paired_picks_the_test_and_counts_changes() -> None:
    before = [1] * 50 + [0] * 50
    after = [1] * 50 + [1] * 12 + [0] * 38
    result = compare_paired(before, after)
    assert result.test == "exact McNemar" and result.n == 100
    assert (result.gained, result.lost) == (12, 0)
    assert result.before.mean == 0.5 and result.after.mean == 0.62
    assert result.difference.mean == pytest.approx(0.12)
    assert result.difference.low > 0 and result.significant()
    assert result.p_value == pytest.approx(2 / 2**12)
    assert "12 up, 0 down" in str(result) and "McNemar" in str(result)

    scores = compare_paired([0.2, 0.4, 0.6], [0.3, 0.4, 0.5])
    assert scores.test == "sign-flip permutation" and not scores.significant()
    assert scores.difference.low <= 0 <= scores.difference.high
