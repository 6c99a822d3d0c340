"""``wordgrad optimize plan``, in process, with the example's scripted planner as a plugin."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wordgrad.cli import app
from wordgrad.engine import unregister_engine

PLUGIN = "tests.science.planner_plugin"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _forget_plugin() -> Iterator[None]:
    yield
    unregister_engine("scripted-planner")
    sys.modules.pop(PLUGIN, None)


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_the_plan_options() -> None:
    code, out, _ = invoke("optimize", "plan", "--help")
    assert code == 0
    for option in (
        "--case",
        "--iterations",
        "--goals-file",
        "--weights",
        "--run-dir",
        "--max-cost",
        "--voxel-mm",
        "--beams",
        "--plugin",
    ):
        assert option in out


def test_unknown_case_and_bad_weights_are_usage_errors(tmp_path: Path) -> None:
    code, _, err = invoke("optimize", "plan", "--case", "liver", "--run-dir", str(tmp_path))
    assert code == 2 and "unknown case 'liver'" in err
    code, _, err = invoke(
        "optimize",
        "plan",
        "--weights",
        "PTV: 10, bladder: -1, rectum: 3",
        "--run-dir",
        str(tmp_path),
    )
    assert code == 2 and "the weight of bladder must be a positive number" in err


def test_a_plan_run_completes_and_a_second_call_finds_it_done(tmp_path: Path) -> None:
    pytest.importorskip("pyRadPlan", reason="needs pip install 'wordgrad[radiotherapy]'")
    cache = tmp_path.parent / "radiotherapy-cache"
    args = (
        "optimize",
        "plan",
        "--plugin",
        PLUGIN,
        "--model",
        "scripted-planner",
        "--iterations",
        "1",
        "--voxel-mm",
        "10",
        "--beams",
        "3",
        "--cache-dir",
        str(cache),
        "--run-dir",
        str(tmp_path / "run"),
        "--quiet",
    )
    code, out, err = invoke(*args)
    assert code == 0, err
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    summary = results["instances"][0]
    assert summary["start_value"] == "PTV: 30\nbladder: 300\nrectum: 300"
    assert summary["final_value"] == "PTV: 90\nbladder: 300\nrectum: 300"  # the script raised it
    assert (
        summary["best_plan"]["metrics"]["PTV"]["D95"]
        >= summary["start_plan"]["metrics"]["PTV"]["D95"]
    )
    assert "run directory" in out
    code, out, _ = invoke(*args)
    assert code == 0 and "run directory" in out
