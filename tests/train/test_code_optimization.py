"""The code loop with the scripted engine: a planted bug, the critique, TGD, the baselines."""

from __future__ import annotations

from pathlib import Path

import pytest

from wordgrad.errors import ConfigurationError
from wordgrad.train.code_optimization import (
    CodeOptimization,
    CodeOptimizationConfig,
    problem_instance,
    visible_tests_measure,
)
from wordgrad.train.events import read_events

from .code_fixtures import BUGGY, FIXED, add_problem, engine, kind


def run(tmp_path: Path, *, critic_sees_bug: bool = True, **settings: object) -> tuple[dict, object]:
    scripted = engine(critic_sees_bug)
    config = CodeOptimizationConfig(model="scripted-code", iterations=3, **settings)  # type: ignore[arg-type]
    loop = CodeOptimization(
        config,
        tmp_path / "run",
        problems=[add_problem("p1"), add_problem("p2")],
        forward_engine=scripted,
        backward_engine=scripted,
    )
    return loop.run(), scripted


def test_the_critique_that_names_the_bug_gets_it_fixed(tmp_path: Path) -> None:
    results, _ = run(tmp_path)
    first = results["instances"][0]
    assert first["start_value"] == BUGGY and first["final_value"].strip() == FIXED.strip()
    assert first["stopped"] == "stop_when" and first["iterations"] == 1  # stopped early
    assert (first["zero_shot_pass"], first["textgrad_pass"]) == (0.0, 1.0)
    comparison = results["textgrad_vs_zero_shot"]
    assert comparison["before"]["accuracy"] == 0.0 and comparison["after"]["accuracy"] == 1.0
    assert comparison["gained"] == 2 and comparison["lost"] == 0


def test_without_the_critique_pointing_at_it_the_bug_stays(tmp_path: Path) -> None:
    results, _ = run(tmp_path, critic_sees_bug=False)
    first = results["instances"][0]
    assert first["iterations"] == 3 and first["stopped"] == "iterations"
    assert first["final_value"].strip() == BUGGY.strip()
    assert first["textgrad_pass"] == 0.0
    assert results["pass_at_1"]["TextGrad"]["accuracy"] == 0.0


def test_the_critic_reads_the_test_results_and_every_iterate_is_kept(tmp_path: Path) -> None:
    results, scripted = run(tmp_path, stop_early=False)
    critic_prompts = [r.prompt for r in scripted.requests if kind(r) == "critic"]
    assert critic_prompts and "add(2, 3) == 5" in critic_prompts[0]
    assert "expected 5, got -1" in critic_prompts[0]
    iterates = [e for e in read_events(tmp_path / "run") if e.type == "iterate"]
    assert [(e.instance, e.iteration) for e in iterates if e.instance == "p1"] == [
        ("p1", 0),
        ("p1", 1),
        ("p1", 2),
        ("p1", 3),
    ]
    cases = iterates[0].details["visible"]["cases"]
    assert cases[0]["expected"] == "5" and cases[0]["actual"] == "-1"
    kept = results["instances"][0]["iterates"]
    assert [i["passed"] for i in kept] == [False, True, True, True]  # hidden tests per iterate


def test_the_reflexion_baseline_runs_on_the_same_problems(tmp_path: Path) -> None:
    results, scripted = run(tmp_path)
    for summary in results["instances"]:
        attempts = summary["reflexion"]
        assert [a["iteration"] for a in attempts] == [0, 1, 2, 3]
        assert attempts[0]["code"] == summary["start_value"]  # same zero-shot start
        assert attempts[1]["reflection"] == "I returned a - b; I should return the sum."
        assert summary["reflexion_pass"] == 0.0
    reflexion_calls = [r for r in scripted.requests if kind(r) == "reflexion_rewrite"]
    assert len(reflexion_calls) == 6  # 3 attempts on each of 2 problems
    assert "I returned a - b" in reflexion_calls[-1].prompt  # its memory of reflections
    assert results["comparisons"] == [
        "textgrad_vs_zero_shot",
        "textgrad_vs_reflexion",
        "reflexion_vs_zero_shot",
    ]
    assert results["textgrad_vs_reflexion"]["gained"] == 2
    assert results["pass_at_1"]["Reflexion"]["n"] == 2


def test_a_resumed_run_of_other_code_settings_is_refused(tmp_path: Path) -> None:
    run(tmp_path, size=None)
    from wordgrad.train.runs import RunConfigError

    with pytest.raises(RunConfigError):
        run(tmp_path, timeout_s=3.0)


def test_measure_scores_the_fraction_of_visible_tests_and_reports_them() -> None:
    instance = problem_instance(add_problem(), timeout_s=5.0)
    bad = visible_tests_measure(instance, BUGGY)
    assert bad.value == 0.0 and "expected 5, got -1" in bad.feedback
    good = visible_tests_measure(instance, f"```python\n{FIXED}```")
    assert good.value == 1.0 and good.details["visible"]["passed"] is True


def test_unknown_task_is_refused_with_the_choices() -> None:
    with pytest.raises(ConfigurationError, match="humaneval, leetcode-hard"):
        CodeOptimizationConfig(task="mbpp")


def test_a_reply_with_only_the_body_is_completed_with_the_signature() -> None:
    from wordgrad.train.code_optimization import complete_solution

    problem = add_problem()
    body = "    return a + b\n"
    assert complete_solution(problem, body) == problem.prompt.rstrip("\n") + "\n" + body
    assert complete_solution(problem, FIXED) == FIXED
    assert (
        visible_tests_measure(
            problem_instance(problem, 5.0), complete_solution(problem, body)
        ).value
        == 1.0
    )


def test_the_live_view_follows_a_code_run(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from wordgrad.report.live import LiveView

    view = LiveView(Console(file=io.StringIO(), width=100))
    scripted = engine()
    loop = CodeOptimization(
        CodeOptimizationConfig(model="scripted-code", iterations=1, reflexion=False),
        tmp_path / "run",
        problems=[add_problem()],
        forward_engine=scripted,
        backward_engine=scripted,
        on_event=view.write,
    )
    loop.run()
    assert view.kind == "code" and view.step == 2 and view.status == "completed"
