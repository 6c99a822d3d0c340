"""DataLoader: batches, transposition and seeded shuffling."""

from __future__ import annotations

import random

import pytest

from wordgrad.tasks.dataset import DataLoader, Dataset

PAIRS = Dataset([(f"x{i}", f"y{i}") for i in range(10)])


def test_batches_of_pairs_come_transposed_and_the_last_is_short() -> None:
    batches = list(DataLoader(PAIRS, batch_size=4, shuffle=False))
    assert len(batches) == len(DataLoader(PAIRS, batch_size=4)) == 3
    xs, ys = batches[0]
    assert xs == ["x0", "x1", "x2", "x3"] and ys == ["y0", "y1", "y2", "y3"]
    assert batches[-1] == (["x8", "x9"], ["y8", "y9"])


def test_same_seed_same_batches_and_each_epoch_reshuffles() -> None:
    first, second = DataLoader(PAIRS, 3, seed=5), DataLoader(PAIRS, 3, seed=5)
    epoch_one, epoch_two = list(first), list(first)
    assert epoch_one == list(second)
    assert epoch_one != epoch_two
    assert sorted(x for xs, _ in epoch_one for x in xs) == sorted(x for x, _ in PAIRS)


def test_shuffling_ignores_the_global_random_state() -> None:
    random.seed(1)
    one = list(DataLoader(PAIRS, 4))
    random.seed(2)
    assert list(DataLoader(PAIRS, 4)) == one


def test_a_random_instance_can_be_shared() -> None:
    rng = random.Random(3)
    expected = list(range(10))
    random.Random(3).shuffle(expected)
    assert [x for batch in DataLoader(list(range(10)), 10, seed=rng) for x in batch] == expected


def test_dataset_indexing_and_bad_batch_size() -> None:
    assert PAIRS[1] == ("x1", "y1") and PAIRS[-1] == ("x9", "y9") and len(PAIRS[2:5]) == 3
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(PAIRS, batch_size=0)
