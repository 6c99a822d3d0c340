"""The test suite finds the benchmark data wherever ``WORDGRAD_DATA`` points."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_shared_data_follows_wordgrad_data(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "WORDGRAD_DATA": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", "import tests.conftest as c; print(c.SHARED_DATA)"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(out) == tmp_path.resolve()
