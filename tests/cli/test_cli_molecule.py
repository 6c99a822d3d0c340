"""``wordgrad optimize molecule``, in process, with the scripted chemist loaded as a plugin.

Docking is turned off here (QED scores, fast); the docked path runs in the example's test.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.science.conftest import needs_docking, needs_rdkit
from tests.train.chemist_plugin import ENGINE_NAME, PATH
from wordgrad.cli import app
from wordgrad.engine import unregister_engine

PLUGIN = "tests.train.chemist_plugin"
runner = CliRunner()
pytestmark = needs_rdkit


@pytest.fixture(autouse=True)
def _forget_plugin() -> Iterator[None]:
    yield
    unregister_engine(ENGINE_NAME)
    sys.modules.pop(PLUGIN, None)


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["optimize", "molecule", *args])
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_the_molecule_options() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for option in (
        "--target",
        "--start",
        "--iterations",
        "--exhaustiveness",
        "--seed",
        "--cpu",
        "--docking-timeout",
        "--no-docking",
        "--objective",
        "--reference",
        "--momentum-window",
        "--run-dir",
        "--max-cost",
        "--force",
        "--plugin",
    ):
        assert option in out, option


def test_a_run_from_the_command_line_resumes(tmp_path: Path) -> None:
    args = (
        "--plugin",
        PLUGIN,
        "--model",
        ENGINE_NAME,
        "--no-docking",
        "--iterations",
        "3",
        "--start",
        "c1ccccc1",
        "--start",
        "CCO",
        "--run-dir",
        str(tmp_path / "run"),
        "-q",
    )
    code, out, err = invoke(*args)
    assert code == 0, err
    assert "DRD2-0: best " in out and "DRD2-1: best " in out
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [i["id"] for i in results["instances"]] == ["DRD2-0", "DRD2-1"]
    assert [p["smiles"] for p in results["instances"][0]["trajectory"]] == PATH[:4]
    code, again, err = invoke(*args)  # completed: the same results, nothing recomputed
    assert code == 0, err
    assert again.splitlines()[-2:] == out.splitlines()[-2:]  # the same best molecules
    assert json.loads((tmp_path / "run" / "results.json").read_text()) == results


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--start", "C1CC"), "not valid SMILES"),
        pytest.param(
            ("--target", "NOPE", "--docking"),
            "DOCKSTRING has no target 'NOPE'",
            marks=needs_docking,
        ),
    ],
)
def test_bad_input_exits_2_with_a_message(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    code, _, err = invoke("--no-docking", *args, "--run-dir", str(tmp_path / "run"))
    assert code == 2 and message in err
