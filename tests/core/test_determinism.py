"""The same program sends byte-identical prompts on every run, concurrent or not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROGRAM = Path(__file__).with_name("determinism_program.py")


def run(hash_seed: str, concurrency: int) -> dict[str, object]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    completed = subprocess.run(
        [sys.executable, str(PROGRAM), str(concurrency)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(completed.stdout)
    return result


def test_two_runs_send_identical_prompts_and_end_identically() -> None:
    first = run("1", concurrency=8)
    second = run("2", concurrency=8)
    assert first == second
    assert len(first["requests"]) == 6 + 6 + 6 + 6 + 1  # type: ignore[arg-type]


def test_concurrent_and_sequential_runs_agree() -> None:
    assert run("3", concurrency=1) == run("3", concurrency=8)
