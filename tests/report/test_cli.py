"""``wordgrad report RUN_DIR``: writes the report and prints its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.logs import write_run
from wordgrad.cli import main


def test_report_command_prints_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = write_run(tmp_path / "run")
    with pytest.raises(SystemExit) as done:
        main(["report", str(run_dir)])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == str(run_dir / "report.html")
    assert (run_dir / "report.html").is_file()


def test_report_command_on_a_folder_without_a_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["report", str(tmp_path), "-o", str(tmp_path / "r.html")])
    assert done.value.code == 2
    assert "no events.jsonl" in capsys.readouterr().err
