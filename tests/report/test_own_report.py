"""The report shows what happened to each example, labels its cost rows, shows test-time runs'
values over iterations, and compares two runs."""

from __future__ import annotations

from pathlib import Path

from tests.report.own_runs import instance_run, prompt_run
from wordgrad.report import build_report
from wordgrad.report.compare import build_comparison, write_comparison
from wordgrad.report.model import summarize
from wordgrad.train.events import read_events


def test_minibatch_rows_show_input_expected_and_prediction(tmp_path: Path) -> None:
    page = build_report(prompt_run(tmp_path / "run"))
    minibatch = page[page.index("minibatch (2 examples)") :]
    assert "<th>input</th><th>expected</th><th>prediction</th>" in minibatch
    assert "What is 12 + 30?" in minibatch and "It is 42, I think." in minibatch
    assert "the final answer &#x27;It is 42, I think.&#x27; is not &#x27;42&#x27;" in minibatch


def test_each_step_lists_the_validation_examples_it_won_and_lost(tmp_path: Path) -> None:
    run = prompt_run(tmp_path / "run")
    (step,) = summarize(read_events(run)).steps
    assert [(c.index, c.before, c.after) for c in step.val_won] == [(0, 0.0, 1.0), (1, 0.0, 1.0)]
    assert step.val_lost == []
    assert step.val_won[0].prediction_after == "Answer: 123"
    page = build_report(run)
    assert 'won: <b class="won">0, 1</b> · lost: <b class="lost">none</b>' in page


def test_cost_rows_are_labelled_by_what_they_were(tmp_path: Path) -> None:
    run = prompt_run(tmp_path / "run")
    summary = summarize(read_events(run))
    labels = [row.label for row in summary.usage_by_step]
    assert labels == ["initial evaluation", "step 1", "final evaluation"]
    assert summary.usage_by_step[-1].calls == 4  # the final test evaluation, not "initial"
    page = build_report(run)
    assert "answers (training)" in page and "evaluations, judges, critics" in page


def test_a_test_time_run_shows_each_value_over_the_iterations(tmp_path: Path) -> None:
    page = build_report(instance_run(tmp_path / "run"))
    assert "No optimization steps in the log" not in page
    section = page[page.index('id="instances"') :]
    assert "scores -7 → -4 → -1 → -2 · iterations" in section
    assert "x = 9" in section and "★" in section  # the best value is marked
    assert "x is 3, which is too small" in section and "The value is too small." in section


def test_two_runs_compared(tmp_path: Path) -> None:
    a = prompt_run(tmp_path / "a", steps=0)
    b = prompt_run(tmp_path / "b", steps=1)
    page = build_comparison(a, b)
    assert "steps: 0 -&gt; 1" in page  # the setting that differs
    assert "Add <del>them.</del><ins>the two numbers." in page.replace("\n", "")
    assert "val (initial vs step 1): 2 of 2 examples scored differently" in page
    assert "It is 123, I think." in page and "Answer: 123" in page
    path = write_comparison(a, b)
    assert path == a / "compare-b.html" and path.read_text() == page
