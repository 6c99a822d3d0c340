"""The report's code section: built from a code run's iterate events; absent for other runs."""

from __future__ import annotations

from pathlib import Path

from wordgrad.report.code import code_section
from wordgrad.train.code_optimization import CodeOptimization, CodeOptimizationConfig

from ..train.code_fixtures import add_problem, engine


def test_code_section_shows_each_iteration_with_diff_results_and_baseline(tmp_path: Path) -> None:
    scripted = engine()
    CodeOptimization(
        CodeOptimizationConfig(model="scripted-code", iterations=2),
        tmp_path / "run",
        problems=[add_problem("only")],
        forward_engine=scripted,
        backward_engine=scripted,
    ).run()
    section = code_section(tmp_path / "run")
    assert section.startswith('<section id="code">')
    assert "only" in section and "zero-shot ✘ fail · Reflexion ✘ fail · TextGrad ✔ pass" in section
    assert "iteration 0" in section and "iteration 1" in section
    assert "return a <del>- b\n</del><ins>+ b</ins>" in section  # the fix, as a word diff
    assert "FAIL add(2, 3) == 5  expected 5, got -1" in section
    assert "PASS add(2, 3) == 5" in section
    assert "Reflexion baseline (2 attempts)" in section
    assert "<script" not in section  # all run text is escaped


def test_code_section_is_empty_for_other_runs(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"task": "BBH_object_counting"}')
    (tmp_path / "events.jsonl").write_text("")
    assert code_section(tmp_path) == ""
