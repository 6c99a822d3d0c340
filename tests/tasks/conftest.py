"""Fixtures for the task tests: read the shared offline data, never the network."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any, NoReturn

import pytest

from wordgrad.tasks import data

from ..conftest import SHARED_DATA


def _no_network(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    raise AssertionError(f"a test tried to download {url}")


@pytest.fixture(autouse=True)
def offline_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point loaders at the shared data, the cache at a temporary folder, and block downloads."""
    monkeypatch.setenv(data.DATA_ENV, str(SHARED_DATA))
    monkeypatch.setenv("WORDGRAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(data.MIRROR_ENV, raising=False)
    monkeypatch.delenv(data.OFFLINE_ENV, raising=False)
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    return SHARED_DATA
