"""examples/paper/code_optimization.py runs with any engine (here a scripted programmer)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..conftest import SHARED_DATA

REPO = Path(__file__).resolve().parents[2]


def test_code_table_has_the_three_methods(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "WORDGRAD_CACHE_DIR": str(tmp_path / "cache")}
    finished = subprocess.run(
        [
            sys.executable, str(REPO / "examples" / "paper" / "code_optimization.py"),
            "--plugin", "tests.train.scripted_code_plugin", "--model", "scripted-code",
            "--backward-model", "scripted-code", "--tasks", "humaneval", "--size", "2",
            "--iterations", "1", "--runs-dir", str(tmp_path / "runs"),
            "--data-dir", str(SHARED_DATA), "--quiet",
        ],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    rows = [line for line in finished.stdout.splitlines() if line.startswith("HumanEval")]
    assert [row.split()[2] for row in rows] == ["zero-shot", "Reflexion", "TextGrad"]
    zero_shot, reflexion, textgrad = rows
    assert "0.0 [0.0, 0.0]" in zero_shot and "0.0 [0.0, 0.0]" in reflexion
    assert "100.0 [100.0, 100.0]" in textgrad and "+100.0" in textgrad
