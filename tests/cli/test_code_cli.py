"""``wordgrad optimize code`` end to end on real HumanEval problems with a scripted programmer:
the sandbox, hidden-test scoring, the baselines, the report, and resume after ``kill -9``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wordgrad.cli import app
from wordgrad.engine import unregister_engine
from wordgrad.train.runs import RunDir

from ..conftest import SHARED_DATA

PLUGIN = "tests.train.scripted_code_plugin"
REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _forget_plugin() -> Iterator[None]:
    yield
    unregister_engine("scripted-code")
    sys.modules.pop(PLUGIN, None)


def arguments(run_dir: Path, *extra: str) -> list[str]:
    return [
        "optimize", "code", "--task", "humaneval", "--size", "3", "--iterations", "2",
        "--batch-size", "2", "--model", "scripted-code", "--plugin", PLUGIN,
        "--data-dir", str(SHARED_DATA), "--run-dir", str(run_dir), "--quiet", *extra,
    ]  # fmt: skip


def test_optimize_code_fixes_the_planted_bugs_and_reports_every_method(tmp_path: Path) -> None:
    result = runner.invoke(app, arguments(tmp_path / "run"))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "pass@1 (hidden tests) accuracy zero-shot: 0.000" in out
    assert "pass@1 (hidden tests) accuracy TextGrad:  1.000" in out
    assert "pass@1 (hidden tests) accuracy Reflexion: 0.000" in out
    results = RunDir(tmp_path / "run").results()
    assert results is not None and results["metric"].startswith("HumanEval's hidden check")
    assert [s["id"] for s in results["instances"]] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]

    report = runner.invoke(app, ["report", str(tmp_path / "run")])
    assert report.exit_code == 0
    page = Path(report.stdout.strip()).read_text(encoding="utf-8")
    assert '<section id="code">' in page and "HumanEval/1" in page
    assert "<del>None" in page  # the fix, as a diff against the buggy version
    assert "expected True, got None" in page  # the visible test results of iteration 0


def test_an_unknown_task_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["optimize", "code", "--task", "mbpp", "--quiet"])
    assert result.exit_code == 2 and "humaneval, leetcode-hard" in result.stderr


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORDGRAD_TEST_")}
    env.update(PYTHONPATH=str(REPO), WORDGRAD_CACHE_DIR=str(tmp_path / "cache"), **extra)
    return env


def _outcome(run_dir: Path) -> list[tuple[Any, ...]]:
    results = RunDir(run_dir).results()
    assert results is not None
    return [
        (s["id"], s["final_value"], s["zero_shot_pass"], s["textgrad_pass"], s["reflexion_pass"])
        for s in results["instances"]
    ]


def test_a_run_killed_mid_step_resumes_to_the_same_results(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "wordgrad.cli", *arguments(tmp_path / "killed", "--size", "2")]
    marker = tmp_path / "in-update-2"
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=_environment(tmp_path, WORDGRAD_TEST_HANG_AT="2", WORDGRAD_TEST_MARKER=str(marker)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the run never reached the second update"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    if process.stderr:
        process.stderr.close()
    assert RunDir(tmp_path / "killed").results() is None
    resumed = subprocess.run(
        command, cwd=REPO, env=_environment(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    straight = subprocess.run(
        [sys.executable, "-m", "wordgrad.cli", *arguments(tmp_path / "straight", "--size", "2")],
        cwd=REPO, env=_environment(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert straight.returncode == 0, straight.stderr
    assert _outcome(tmp_path / "killed") == _outcome(tmp_path / "straight")
    iterates = [
        json.loads(line)
        for line in (tmp_path / "killed" / "events.jsonl").read_text().splitlines()
        if '"iterate"' in line
    ]
    keys = [(e["instance"], e["iteration"]) for e in iterates if e.get("type") == "iterate"]
    assert len(keys) == len(set(keys)), "an iterate was logged twice after the resume"
