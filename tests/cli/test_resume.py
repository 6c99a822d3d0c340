"""Real processes, real signals: a run killed with SIGKILL (or stopped with Ctrl-C) mid-step and
started again ends exactly where an uninterrupted run ends, with every step logged once.

The runs use the scripted engine of ``tests/train/scripted_plugin.py``, loaded with ``--plugin``;
its replies depend only on each request, so two runs of the same command compute the same things.
The run to be interrupted is told to hang inside the optimizer call of step 3 and to drop a marker
file when it gets there, so the signal always lands in the middle of a step.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from wordgrad.train.events import read_events
from wordgrad.train.runs import RunDir

from ..conftest import SHARED_DATA

REPO = Path(__file__).resolve().parents[2]
STEPS = 5
RUN_BOOKKEEPING = (
    "events_offset",
    "events_count",
    "events_sha256",
    "checksum",
    "usage_offset",
)
"""Checkpoint fields about the files themselves (they differ when the log holds more run_start
and run_end lines), not about the run's state."""


def command(run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "wordgrad.cli",
        "optimize",
        "prompt",
        "--plugin",
        "tests.train.scripted_plugin",
        "--model",
        "scripted-train",
        "--steps",
        str(STEPS),
        "--steps-per-epoch",
        "3",
        "--batch-size",
        "3",
        "--val-size",
        "6",
        "--test-size",
        "4",
        "--gradient-memory",
        "2",
        "--data-dir",
        str(SHARED_DATA),
        "--run-dir",
        str(run_dir),
        "--quiet",
        *extra,
    ]


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORDGRAD_TEST_")}
    env.update(
        PYTHONPATH=str(REPO),
        WORDGRAD_CACHE_DIR=str(tmp_path / "cache"),
        WORDGRAD_OFFLINE="1",
        **extra,
    )
    return env


def run_to_end(
    run_dir: Path, tmp_path: Path, *extra: str, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(run_dir, *extra),
        cwd=REPO,
        env=environment(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def start_hanging_run(
    run_dir: Path, tmp_path: Path, **env: str
) -> tuple[subprocess.Popen[str], Path]:
    """A run that hangs in the optimizer call of step 3, once the marker file appears."""
    marker = tmp_path / f"{run_dir.name}.in-step-3"
    process = subprocess.Popen(
        command(run_dir),
        cwd=REPO,
        env=environment(
            tmp_path,
            WORDGRAD_TEST_HANG_AT="3",
            WORDGRAD_TEST_MARKER=str(marker),
            WORDGRAD_TEST_LATENCY="0.01",
            **env,
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    while not marker.exists():
        if process.poll() is not None:
            error = process.stderr.read() if process.stderr else ""
            process.wait()
            pytest.fail(f"the run ended before reaching step 3: {error}")
        time.sleep(0.02)
    return process, marker


def comparable_events(run_dir: Path) -> list[tuple[str, Any, dict[str, Any]]]:
    """The log without what legitimately differs between processes (times, measured latencies,
    run boundaries, line numbers, and usage: calls of a step cut short were paid for too)."""
    return [
        (e.type, e.step, _without(vars(e), "time", "extra", "seq"))
        for e in read_events(run_dir)
        if e.type not in ("run_start", "run_end", "usage")
    ]


def _without(record: dict[str, Any], *names: str) -> dict[str, Any]:
    """``record`` without ``names`` and without measured latencies, at any depth."""
    return {k: _unmeasured(v) for k, v in record.items() if k not in names}


def _unmeasured(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _unmeasured(v) for k, v in value.items() if k != "latency_s"}
    if isinstance(value, list):
        return [_unmeasured(v) for v in value]
    return value


def final_state(run_dir: Path) -> dict[str, Any]:
    directory = RunDir(run_dir)
    checkpoint = directory.latest_checkpoint()
    assert checkpoint is not None
    results = directory.results()
    assert results is not None
    return {
        "checkpoint": _without(checkpoint, *RUN_BOOKKEEPING, "usage"),
        "results": _without(results, "run_dir", "usage"),
    }


def total_tokens(run_dir: Path) -> int:
    results = RunDir(run_dir).results()
    assert results is not None
    return int(results["usage"]["total_tokens"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of the same command."""
    tmp_path = tmp_path_factory.mktemp("reference")
    run_dir = tmp_path / "run"
    finished = run_to_end(run_dir, tmp_path)
    assert finished.returncode == 0, finished.stderr
    return run_dir


def test_sigkill_mid_step_then_rerun_matches_an_uninterrupted_run(
    reference: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    process, _ = start_hanging_run(run_dir, tmp_path)
    steps_logged = [e.step for e in read_events(run_dir) if e.type == "step"]
    assert steps_logged == [1, 2]  # step 3 had started but not finished
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert RunDir(run_dir).checkpoint_steps() == [0, 1, 2]  # the newest three are kept

    resumed = run_to_end(run_dir, tmp_path)

    assert resumed.returncode == 0, resumed.stderr
    assert comparable_events(run_dir) == comparable_events(reference)
    steps = [e.step for e in read_events(run_dir) if e.type == "step"]
    assert steps == list(range(1, STEPS + 1))
    starts = [e for e in read_events(run_dir) if e.type == "run_start"]
    assert [s.resumed_from for s in starts] == [None, 2]  # type: ignore[attr-defined]
    assert final_state(run_dir) == final_state(reference)
    # the calls of step 3 made before the kill were paid for, and are counted
    assert total_tokens(run_dir) > total_tokens(reference)
    # the checkpoint carries the optimizer's memory of earlier feedback
    memory = final_state(run_dir)["checkpoint"]["optimizer"]["state"]["0"]["memory"]
    assert len(memory) == 2


def test_ctrl_c_saves_and_says_how_to_resume(reference: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    process, _ = start_hanging_run(run_dir, tmp_path)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130
    assert "interrupted" in stderr and "Run the same command again" in stderr
    assert str(run_dir) in stderr
    end = read_events(run_dir)[-1]
    assert end.type == "run_end" and end.status == "interrupted"  # type: ignore[attr-defined]

    resumed = run_to_end(run_dir, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert comparable_events(run_dir) == comparable_events(reference)
    assert final_state(run_dir) == final_state(reference)


def test_rerunning_a_finished_run_changes_nothing(reference: Path, tmp_path: Path) -> None:
    events_before = (reference / "events.jsonl").read_bytes()
    again = run_to_end(reference, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "validation accuracy" in again.stdout
    assert (reference / "events.jsonl").read_bytes() == events_before


def test_other_settings_in_the_same_run_dir_are_refused(reference: Path, tmp_path: Path) -> None:
    refused = run_to_end(reference, tmp_path, "--seed", "7")
    assert refused.returncode == 2
    assert "other settings" in refused.stderr and "seed: 42 -> 7" in refused.stderr


def test_budget_stops_cleanly_and_a_larger_budget_continues(
    reference: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    stopped = run_to_end(run_dir, tmp_path, "--max-tokens", "12000")
    assert stopped.returncode == 3, stopped.stderr
    assert "budget" in stopped.stderr and "Run the same command again" in stopped.stderr
    done = RunDir(run_dir).checkpoint_steps()
    assert 0 < len(done) < STEPS + 1
    usage = RunDir(run_dir).latest_checkpoint()["usage"]  # type: ignore[index]
    assert usage["total_tokens"] <= 12000

    resumed = run_to_end(run_dir, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert final_state(run_dir) == final_state(reference)
    ends = [e for e in read_events(run_dir) if e.type == "run_end"]
    assert [e.status for e in ends] == ["budget", "completed"]  # type: ignore[attr-defined]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["steps"] == STEPS


def test_a_second_process_on_the_same_run_dir_is_refused_and_named(
    reference: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    first, _ = start_hanging_run(run_dir, tmp_path)
    try:
        second = run_to_end(run_dir, tmp_path)
        assert second.returncode == 1
        assert f"in use by process {first.pid}" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1  # one line, no traceback
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate()
    resumed = run_to_end(run_dir, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    steps = [e.step for e in read_events(run_dir) if e.type == "step"]
    assert steps == list(range(1, STEPS + 1))  # each step once
    assert final_state(run_dir) == final_state(reference)


def test_every_call_is_counted_across_a_kill(reference: Path, tmp_path: Path) -> None:
    """The tokens the run reports equal the tokens the engine answered, over both processes
    (the step cut short by ``kill -9`` included)."""
    run_dir = tmp_path / "run"
    counted = tmp_path / "engine-tokens"
    process, _ = start_hanging_run(run_dir, tmp_path, WORDGRAD_TEST_COUNT_FILE=str(counted))
    process.send_signal(signal.SIGKILL)
    process.communicate()
    before_resume = counted.read_text().split()
    resumed = run_to_end(run_dir, tmp_path, WORDGRAD_TEST_COUNT_FILE=str(counted))
    assert resumed.returncode == 0, resumed.stderr

    answered = [int(n) for n in counted.read_text().split()]
    usage = json.loads((run_dir / "results.json").read_text())["usage"]
    assert usage["total_tokens"] == sum(answered)
    assert usage["calls"] == len(answered)
    assert len(answered) > len(before_resume) > 0
    assert usage["total_tokens"] > total_tokens(reference)  # the cut step was paid twice


@contextmanager
def small_disk(tmp_path: Path, *options: str) -> Iterator[Path]:
    """A real 1 MiB tmpfs (root only; skipped where mounting is not allowed)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(["size=1m", *options]), "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_is_one_line_and_after_freeing_space_the_resume_is_identical(
    reference: Path, tmp_path: Path
) -> None:
    with small_disk(tmp_path) as disk:
        filler = disk / "filler"
        filler.write_bytes(b"x" * (1024 * 1024 - 48 * 1024))  # leaves 48 KiB: a few steps
        run_dir = disk / "run"
        full = run_to_end(run_dir, tmp_path)
        assert full.returncode == 1
        (line,) = full.stderr.strip().splitlines()
        assert line.startswith("wordgrad: cannot write ") and str(run_dir) in line
        assert "no space left on the device; free some space" in line
        assert len(RunDir(run_dir).checkpoint_steps()) > 0  # it got somewhere first

        filler.unlink()
        resumed = run_to_end(run_dir, tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        assert comparable_events(run_dir) == comparable_events(reference)
        assert final_state(run_dir) == final_state(reference)


def test_a_read_only_run_dir_is_one_line(tmp_path: Path) -> None:
    with small_disk(tmp_path, "ro") as disk:
        refused = run_to_end(disk / "run", tmp_path)
    assert refused.returncode == 1
    (line,) = refused.stderr.strip().splitlines()
    assert str(disk / "run") in line and "read-only" in line and "writable --run-dir" in line
