"""The paper-reproduction scripts run with any engine (here the scripted one, on a few items)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..conftest import SHARED_DATA

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "examples" / "paper"


def run_script(name: str, tmp_path: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "WORDGRAD_OFFLINE": "1"}
    env["WORDGRAD_CACHE_DIR"] = str(tmp_path / "cache")
    finished = subprocess.run(
        [
            sys.executable,
            str(PAPER / name),
            "--plugin",
            "tests.train.scripted_plugin",
            "--model",
            "scripted-train",
            "--backward-model",
            "scripted-train",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--data-dir",
            str(SHARED_DATA),
            "--quiet",
            *args,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout


def test_prompt_table(tmp_path: Path) -> None:
    out = run_script(
        "prompt_optimization.py",
        tmp_path,
        "--tasks",
        "BBH_object_counting",
        "--steps",
        "2",
        "--val-size",
        "4",
        "--test-size",
        "5",
    )
    assert "Zero-shot CoT" in out and "TextGrad" in out
    row = next(line for line in out.splitlines() if line.startswith("Object Counting"))
    assert row.count("[") == 2  # before and after, each with its interval
    assert (tmp_path / "runs" / "prompt-BBH_object_counting" / "results.json").exists()


def test_solution_table(tmp_path: Path) -> None:
    out = run_script(
        "solution_optimization.py",
        tmp_path,
        "--tasks",
        "MMLU_machine_learning",
        "--size",
        "3",
        "--iterations",
        "1",
    )
    row = next(line for line in out.splitlines() if line.startswith("MMLU-Machine Learning"))
    assert row.count("[") == 2
