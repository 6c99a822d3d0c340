"""The ``wordgrad`` command line, in process, with the scripted engine loaded as a plugin."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wordgrad.cli import app
from wordgrad.engine import unregister_engine

from ..conftest import SHARED_DATA

PLUGIN = "tests.train.scripted_plugin"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _forget_plugin() -> Iterator[None]:
    """Each test imports the plugin afresh, so its engine is registered again."""
    yield
    unregister_engine("scripted-train")
    sys.modules.pop(PLUGIN, None)


def invoke(*args: str, **env: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env or None)
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_the_commands_and_options() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for command in ("tasks", "eval", "optimize", "show"):
        assert command in out
    code, out, _ = invoke("optimize", "prompt", "--help")
    assert code == 0
    for option in (
        "--model",
        "--backward-model",
        "--batch-size",
        "--steps",
        "--max-concurrency",
        "--run-dir",
        "--max-tokens",
        "--max-cost",
        "--plugin",
    ):
        assert option in out


def test_tasks_lists_split_sizes() -> None:
    code, out, _ = invoke("tasks", "--data-dir", str(SHARED_DATA))
    assert code == 0
    line = next(row for row in out.splitlines() if row.startswith("BBH_object_counting "))
    assert "train 50 / val 100 / test 100" in line
    assert "MMLU_machine_learning" in out and "GSM8K_DSPy" in out


def test_eval_with_an_engine_from_a_plugin_in_the_environment() -> None:
    code, out, err = invoke(
        "eval",
        "--model",
        "scripted-train",
        "--size",
        "5",
        "--data-dir",
        str(SHARED_DATA),
        "--quiet",
        WORDGRAD_PLUGINS=PLUGIN,
    )
    assert code == 0, err
    assert "BBH_object_counting val accuracy:" in out and "(n=5)" in out
    assert "tokens used:" in out


def test_a_missing_plugin_is_a_usage_error() -> None:
    code, _, err = invoke("tasks", "--data-dir", str(SHARED_DATA), WORDGRAD_PLUGINS="no_such_mod")
    assert code == 2 and "cannot import plugin 'no_such_mod'" in err  # plugins may add tasks
    code, _, err = invoke("eval", "--plugin", "no_such_module_here", "--quiet")
    assert code == 2 and "cannot import plugin 'no_such_module_here'" in err


def test_optimize_solution_runs_and_shows_results(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    code, out, err = invoke(
        "optimize",
        "solution",
        "--plugin",
        PLUGIN,
        "--model",
        "scripted-train",
        "--size",
        "3",
        "--iterations",
        "2",
        "--batch-size",
        "2",
        "--data-dir",
        str(SHARED_DATA),
        "--run-dir",
        str(run_dir),
        "--quiet",
    )
    assert code == 0, err
    assert "test accuracy zero-shot:" in out and "test accuracy majority vote:" in out
    assert f"run directory: {run_dir}" in out
    results = json.loads((run_dir / "results.json").read_text())
    assert results["questions"] == 3
    code, out, _ = invoke("show", str(run_dir), "--json")
    assert code == 0 and json.loads(out)["questions"] == 3
    code, out, _ = invoke("show", str(run_dir))
    assert code == 0 and "status: completed" in out and "test accuracy zero-shot:" in out


def test_show_an_unknown_directory_fails(tmp_path: Path) -> None:
    code, _, err = invoke("show", str(tmp_path))
    assert code == 2 and "holds no run" in err


def test_reconnect_window_is_settable_on_the_command_line() -> None:
    from wordgrad.engine import retry

    try:
        code, _, _ = invoke("--reconnect-window", "75", "tasks", "--data-dir", str(SHARED_DATA))
        assert code == 0
        assert retry.RetryPolicy().reconnect_window_s == 75.0
        assert retry.RetryPolicy(reconnect_window_s=2.0).reconnect_window_s == 2.0
    finally:
        retry.set_default_reconnect_window(retry.DEFAULT_RECONNECT_WINDOW_S)
    assert retry.RetryPolicy().reconnect_window_s == retry.DEFAULT_RECONNECT_WINDOW_S
