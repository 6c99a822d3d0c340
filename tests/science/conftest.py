"""Shared by the science tests: skips when an optional library is missing (``make test``
installs them), and a coarse radiotherapy case (10 mm voxels and 3 beams, so pyRadPlan's dose
calculation takes a few seconds; its dose-influence matrix is cached for the whole session)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

HAVE_RDKIT = importlib.util.find_spec("rdkit") is not None
HAVE_DOCKING = all(
    importlib.util.find_spec(name) is not None
    for name in ("rdkit", "vina", "meeko", "scipy", "gemmi", "dimorphite_dl", "dockstring")
)

needs_rdkit = pytest.mark.skipif(not HAVE_RDKIT, reason="needs pip install 'wordgrad[chem]'")
needs_docking = pytest.mark.skipif(not HAVE_DOCKING, reason="needs pip install 'wordgrad[docking]'")


COARSE = {"case": "prostate-phantom", "voxel_mm": 10.0, "beams": 3, "max_iter": 200}


@pytest.fixture(scope="session")
def rt_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory per test session (the plan-loop tests in tests/train use it too)."""
    path = tmp_path_factory.getbasetemp() / "radiotherapy-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def coarse_case(rt_cache: Path):  # type: ignore[no-untyped-def]
    pytest.importorskip("pyRadPlan", reason="needs pip install 'wordgrad[radiotherapy]'")
    from wordgrad.science.radiotherapy import CaseSettings, load_case

    return load_case(CaseSettings(**COARSE), rt_cache)
