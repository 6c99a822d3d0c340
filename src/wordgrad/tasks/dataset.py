"""``Dataset`` and ``DataLoader``: the two containers every task is served in.

A dataset is a fixed, ordered list of items (tuples of plain Python values), indexable and with a
``len()``, as upstream users expect. ``DataLoader`` cuts one into minibatches; unlike upstream it
shuffles with its own seeded :class:`random.Random`, so two runs with the same seed see the same
batches and nothing else in the program can change them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Dataset(Sequence[T_co], Generic[T_co]):
    """An ordered, read-only list of items; subclasses pass theirs to ``__init__`` when they load.

    Items are tuples (``(x, y)`` for BBH and GSM8K), so ``x, y = dataset[0]`` works.
    """

    def __init__(self, items: Sequence[T_co] = ()) -> None:
        self.items: tuple[T_co, ...] = tuple(items)

    @overload
    def __getitem__(self, index: int) -> T_co: ...

    @overload
    def __getitem__(self, index: slice) -> list[T_co]: ...

    def __getitem__(self, index: int | slice) -> T_co | list[T_co]:
        if isinstance(index, slice):
            return list(self.items[index])
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} items)"


def check_split(split: str, allowed: tuple[str, ...] = ("train", "val", "test")) -> None:
    """Raise ``ValueError`` naming the allowed splits unless ``split`` is one of them."""
    if split not in allowed:
        raise ValueError(f"split must be one of {', '.join(map(repr, allowed))}; got {split!r}")


class DataLoader(Generic[T]):
    """Yields minibatches of ``data``; tuple items come transposed, so ``for xs, ys in loader``.

    Args:
        data: any indexable with ``len()`` (a :class:`Dataset`, a list).
        batch_size: items per batch; the last batch may be shorter.
        shuffle: reshuffle at the start of every pass over the data.
        seed: an int or a :class:`random.Random` for the shuffles. Each pass draws a new order
            from it, so epochs differ while whole runs repeat exactly. ``None`` means seed 0:
            results never depend on hidden global state.

    A batch of tuple items is a tuple of lists, one list per field; other items come as a list.
    """

    def __init__(
        self,
        data: Sequence[T],
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | random.Random | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
        if not hasattr(data, "__len__") or not hasattr(data, "__getitem__"):
            raise TypeError(
                f"data must be indexable with a length (a Dataset or a list), got "
                f"{type(data).__name__}; wrap an iterator with list(...)"
            )
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = seed if isinstance(seed, random.Random) else random.Random(seed or 0)

    def __len__(self) -> int:
        """The number of batches in one pass."""
        return -(-len(self.data) // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        order = list(range(len(self.data)))
        if self.shuffle:
            self.rng.shuffle(order)
        for start in range(0, len(order), self.batch_size):
            batch = [self.data[i] for i in order[start : start + self.batch_size]]
            if batch and all(isinstance(item, tuple) for item in batch):
                yield tuple(list(column) for column in zip(*batch))
            else:
                yield batch
