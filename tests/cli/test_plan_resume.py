"""A plan run killed with SIGKILL after its first plan and started again ends where an
uninterrupted run ends: the same weights and scores, each iterate logged once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wordgrad.train.events import Iterate, read_events

REPO = Path(__file__).resolve().parents[2]


def command(run_dir: Path, cache: Path) -> list[str]:
    return [
        sys.executable, "-m", "wordgrad.cli", "optimize", "plan",
        "--plugin", "tests.science.planner_plugin", "--model", "scripted-planner",
        "--iterations", "1", "--voxel-mm", "10", "--beams", "3",
        "--cache-dir", str(cache), "--run-dir", str(run_dir), "--quiet",
    ]  # fmt: skip


def iterates(run_dir: Path) -> list[tuple[int, str, float]]:
    return [
        (e.iteration, e.value, round(e.score, 9))
        for e in read_events(run_dir)
        if isinstance(e, Iterate)
    ]


def test_killed_plan_run_resumes_to_the_same_end(tmp_path: Path) -> None:
    pytest.importorskip("pyRadPlan", reason="needs pip install 'wordgrad[radiotherapy]'")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cache = tmp_path.parent / "radiotherapy-cache"
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    done = subprocess.run(command(whole, cache), cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

    process = subprocess.Popen(command(killed, cache), cwd=REPO, env=env)
    first_step = killed / "checkpoints" / "step-0001.json"
    deadline = time.monotonic() + 240
    while not first_step.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first_step.exists() and process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "results.json").exists()

    again = subprocess.run(
        command(killed, cache), cwd=REPO, env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert iterates(killed) == iterates(whole)
    assert [i for i, _, _ in iterates(killed)] == [0, 1]
    first = json.loads((whole / "results.json").read_text())["instances"]
    second = json.loads((killed / "results.json").read_text())["instances"]
    assert first == second
