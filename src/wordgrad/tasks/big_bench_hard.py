"""Upstream's ``textgrad.tasks.big_bench_hard``: BIG-Bench Hard with upstream's signature.

``parse_integer_answer`` and ``string_based_equality_fn`` are wordgrad's (stricter: a reply
with no number is ``None``, never 0; see :mod:`wordgrad.tasks.metrics`).
"""

from __future__ import annotations

import os
from typing import Any

from wordgrad.tasks import bbh
from wordgrad.tasks.metrics import parse_integer_answer, string_based_equality_fn


class BigBenchHard(bbh.BigBenchHard):
    """``BigBenchHard(task_name, root=None, split="train")`` as upstream calls it.

    ``root`` is a data folder read first (as ``data_dir=``); ``task_name`` may carry upstream's
    ``BBH_`` prefix.
    """

    def __init__(
        self,
        task_name: str,
        root: str | os.PathLike[str] | None = None,
        split: bbh.Split = "train",
        *args: Any,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("data_dir", root)
        super().__init__(task_name.removeprefix("BBH_"), split, *args, **kwargs)


__all__ = ["BigBenchHard", "parse_integer_answer", "string_based_equality_fn"]
