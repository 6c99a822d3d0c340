"""Shared fixtures: every test starts with no default engines and a private cache directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import wordgrad as tg
from wordgrad.config import reset_engines


def shared_data() -> Path:
    """The benchmark data: ``WORDGRAD_DATA`` when set (the Makefile sets it), else ``../shared/data``
    beside the clone."""
    given = os.environ.get("WORDGRAD_DATA")
    if given:
        return Path(given).expanduser().resolve()
    return (Path(__file__).resolve().parents[1].parent / "shared" / "data").resolve()


SHARED_DATA = shared_data()


@pytest.fixture(autouse=True)
def _isolated_defaults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No engine carries over between tests; caches go to a temporary directory."""
    reset_engines()
    previous = os.environ.get("WORDGRAD_CACHE_DIR")
    os.environ["WORDGRAD_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    limit = tg.get_max_concurrency()
    try:
        yield
    finally:
        reset_engines()
        tg.set_max_concurrency(limit)
        if previous is None:
            os.environ.pop("WORDGRAD_CACHE_DIR", None)
        else:
            os.environ["WORDGRAD_CACHE_DIR"] = previous
