"""Fault injection: the run is killed at every write and every sync of its save sequence, then
resumed; each resumed run must end exactly where an uninterrupted one ends.

The work happens in ``tests/train/crash_driver.py`` (a subprocess that forks one child per crash
point, because a crash is ``os._exit``); this test checks its verdict and that it really covered
every file and every kind of operation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_crash_at_any_write_or_sync_resumes_to_the_same_final_state(tmp_path: Path) -> None:
    fast = Path("/dev/shm")  # memory-backed when there is one: the children sync a lot
    with tempfile.TemporaryDirectory(dir=fast if fast.is_dir() else tmp_path) as work:
        finished = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.train.crash_driver",
                work,
                "--steps",
                "2",
                "--ledger-sample",
                "4",
            ],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert finished.returncode == 0, finished.stderr
    verdict = json.loads(finished.stdout)
    assert verdict["failures"] == []
    assert verdict["crashed"] == verdict["tried"]  # every attempt really died at its point
    operations = set(verdict["operations"])
    for expected in (
        "write events.jsonl",
        "fsync events.jsonl",
        "write usage.jsonl",
        "fsync usage.jsonl",
        "write checkpoints/step-0001.json.tmp",
        "fsync checkpoints/step-0001.json.tmp",
        "replace checkpoints/step-0001.json",
        "fsync checkpoints",
        "unlink checkpoints/step-0000.json",
        "write results.json.tmp",
        "fsync results.json.tmp",
        "replace results.json",
        "replace config.json",
    ):
        assert expected in operations
    # every operation but the repeats of the per-call ledger was a crash point
    others = [o for o in verdict["operations"] if not o.endswith(" usage.jsonl")]
    assert verdict["tried"] == len(others) + 4
