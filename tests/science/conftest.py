"""Skips for the science tests when an optional library is missing (``make test`` installs them)."""

from __future__ import annotations

import importlib.util

import pytest

HAVE_RDKIT = importlib.util.find_spec("rdkit") is not None
HAVE_DOCKING = all(
    importlib.util.find_spec(name) is not None
    for name in ("rdkit", "vina", "meeko", "scipy", "gemmi", "dimorphite_dl", "dockstring")
)

needs_rdkit = pytest.mark.skipif(not HAVE_RDKIT, reason="needs pip install 'wordgrad[chem]'")
needs_docking = pytest.mark.skipif(not HAVE_DOCKING, reason="needs pip install 'wordgrad[docking]'")
