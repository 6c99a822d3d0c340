"""The command line's errors: one line on stderr for a user's mistake or the machine's state,
the traceback only with ``--debug``; a wrong task name creates nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wordgrad import cli

from ..conftest import SHARED_DATA

REPO = Path(__file__).resolve().parents[2]


def wordgrad(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORDGRAD_TEST_")}
    env.update(PYTHONPATH=str(REPO), WORDGRAD_OFFLINE="1", WORDGRAD_CACHE_DIR=str(cwd / ".cache"))
    return subprocess.run(
        [sys.executable, "-m", "wordgrad.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def everything_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*") if ".cache" not in p.parts}


@pytest.mark.parametrize("command", ["prompt", "solution"])
def test_a_task_name_that_climbs_out_is_refused_before_anything_is_made(
    command: str, tmp_path: Path
) -> None:
    cwd = tmp_path / "a" / "b" / "c"
    cwd.mkdir(parents=True)
    before = everything_under(tmp_path)
    done = wordgrad(cwd, "optimize", command, "--task", "../../../x", "--quiet")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("wordgrad: unknown task '../../../x'")
    assert everything_under(tmp_path) == before


def test_a_typo_in_the_task_name_suggests_the_task_and_leaves_no_run_dir(tmp_path: Path) -> None:
    done = wordgrad(tmp_path, "optimize", "prompt", "--task", "BBH_object_countin", "--quiet")
    assert done.returncode == 2
    assert "did you mean BBH_object_counting?" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_a_run_dir_that_cannot_be_made_is_one_line_and_debug_shows_the_traceback(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    args = ["optimize", "prompt", "--run-dir", str(blocker / "run"), "--quiet"]
    args += ["--data-dir", str(SHARED_DATA)]
    done = wordgrad(tmp_path, *args)
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"wordgrad: cannot create {blocker / 'run'}: ")
    assert "Traceback" not in done.stderr

    debug = wordgrad(tmp_path, *args, "--debug")
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr


@pytest.mark.parametrize(
    ("error", "says", "code"),
    [
        (json.JSONDecodeError("Expecting value", "{x", 1), "not valid JSON", 1),
        (PermissionError(13, "Permission denied", "/some/file"), "permission denied", 1),
        (OSError(28, "No space left on device", "/full/disk"), "free some space", 1),
        (FileNotFoundError(2, "No such file or directory", "/no/file"), "/no/file", 2),
        (ValueError("batch_size must be at least 1, got 0"), "batch_size must be", 1),
        (KeyError("surprise"), "unexpected KeyError", 1),
    ],
)
def test_errors_reaching_the_command_line_are_one_line(
    error: Exception,
    says: str,
    code: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def failing(*args: object) -> Path:
        raise error

    monkeypatch.setattr(cli, "write_report", failing)
    with pytest.raises(SystemExit) as exited:
        cli.main(["report", str(tmp_path)])
    assert exited.value.code == code
    err = capsys.readouterr().err
    (line,) = err.strip().splitlines()
    assert line.startswith("wordgrad: ") and says in line

    monkeypatch.setenv("WORDGRAD_DEBUG", "0")  # restored afterwards; --debug sets it
    with pytest.raises(type(error)):
        cli.main(["report", str(tmp_path), "--debug"])


def test_report_of_a_log_with_a_garbage_line_says_so_and_still_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = {"v": 1, "type": "run_start", "time": "t", "step": None, "kind": "prompt"}
    (tmp_path / "events.jsonl").write_text(json.dumps(line) + "\n" + "garbage\n")
    with pytest.raises(SystemExit) as exited:
        cli.main(["report", str(tmp_path)])
    assert exited.value.code == 0
    captured = capsys.readouterr()
    assert "1 line of events.jsonl could not be read and were skipped: 2 (not JSON)" in captured.err
    assert (tmp_path / "report.html").exists()
