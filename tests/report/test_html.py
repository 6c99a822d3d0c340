"""The HTML report: self-contained, escaped, with diffs, decisions, usage, graph and redaction."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import wordgrad as tg
from tests.report.logs import PROMPT_REVERTED, SECRET, write_run
from wordgrad.report import build_report, write_report
from wordgrad.report.diff import change_counts, diff_html, words
from wordgrad.report.model import summarize
from wordgrad.train.events import read_events


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return write_run(tmp_path / "run")


def small_graph() -> tg.Variable:
    prompt = tg.Variable("Answer briefly.", role_description="system prompt")
    question = tg.Variable("What is 2+2?", role_description="question", requires_grad=False)
    return prompt + question


def write_graph(run_dir: Path, text: str) -> None:
    (run_dir / "graphs").mkdir()
    (run_dir / "graphs" / "step-0001.dot").write_text(text, encoding="utf-8")


def test_write_report_defaults_to_the_run_directory(run_dir: Path, tmp_path: Path) -> None:
    assert write_report(run_dir) == run_dir / "report.html"
    elsewhere = write_report(run_dir, tmp_path / "r.html")
    assert elsewhere.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_a_directory_without_a_log_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no events\.jsonl"):
        write_report(tmp_path)


def test_the_page_loads_nothing_from_anywhere(run_dir: Path) -> None:
    write_graph(run_dir, small_graph().to_dot())
    page = build_report(run_dir)
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<(link|img|iframe|object|embed)\b", page)
    assert not re.search(r"<script[^>]*\bsrc=", page) and "@import" not in page
    assert re.findall(r"url\((?!#)", page) == []  # only references inside the page
    assert page.count("<style>") == 1 and page.count("<script>") == 1


def test_changes_are_marked_word_by_word_and_escaped(run_dir: Path) -> None:
    page = build_report(run_dir)
    assert "<ins>question step by step.\nEnd with &#x27;Answer: &lt;number&gt;&#x27;.</ins>" in page
    assert "<del>question.</del>" in page
    assert "&lt;quickly&gt; &amp; move on." in page  # the reverted proposal, escaped
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    history = page[page.index('<ol class="history">') :]
    assert history.startswith(
        '<ol class="history"><li><span class="step-no">step 0</span>'
        '<div class="diff">Answer the question.</div></li>'
        '<li><span class="step-no">step 1</span><div class="diff">Answer the <del>question.</del>'
    )


def test_word_diff() -> None:
    assert "".join(words("  two  words\n")) == "  two  words\n"
    assert diff_html("a b c", "a x c") == "a <del>b </del><ins>x </ins>c"
    assert diff_html("same", "same") == "same"
    assert change_counts("one two three", "one three four") == (2, 2)


def test_reverted_and_unchanged_steps_are_marked(run_dir: Path) -> None:
    page = build_report(run_dir)
    assert page.count('class="update kept"') == 1
    assert page.count('class="update reverted"') == 1
    assert page.count('class="update unchanged"') == 1
    assert "validation got worse, so the text stayed as before" in page
    assert "reverted proposal" in page  # the plot's legend: a hollow point off the line
    assert 'stroke="#dc2626" stroke-width="2"/></g>' in page


def test_the_history_keeps_the_text_in_use(run_dir: Path) -> None:
    summary = summarize(read_events(run_dir))
    texts = [text for _, text in summary.history("system prompt")]
    assert texts[0] == "Answer the question."
    assert PROMPT_REVERTED not in texts  # reverted: the text stayed
    assert [point.rejected for point in summary.series["val"]] == [False, False, True]
    assert summary.series["test"][-1].x == 3  # the final evaluation sits at the last step


def test_usage_per_step_and_per_purpose(run_dir: Path) -> None:
    summary = summarize(read_events(run_dir))
    labels = [row.label for row in summary.usage_by_step]
    assert labels == ["initial evaluation", "step 1", "step 2", "step 3", "final evaluation"]
    assert {row.total_tokens for row in summary.usage_by_step} == {330}
    assert [row.label for row in summary.usage_by_purpose] == ["forward", "backward", "optimizer"]
    assert summary.usage_total is not None and summary.usage_total.total_tokens == 1650
    assert summary.usage_total.latency_s == pytest.approx(7.5)
    page = build_report(run_dir)
    usage = page[page.index('id="usage"') :]
    assert "per step" in usage and "per role" in usage
    assert ">1,650<" in usage and ">$0.0150<" in usage and ">7.5 s<" in usage


def test_errors_and_a_run_that_has_not_ended(tmp_path: Path) -> None:
    page = build_report(write_run(tmp_path / "run", ended=False))
    assert "RateLimitError" in page and "running or stopped" in page


def test_secrets_stay_redacted(run_dir: Path) -> None:
    write_graph(run_dir, small_graph().to_dot().replace("Answer briefly.", f"key {SECRET}"))
    page = build_report(run_dir)
    assert SECRET not in page
    assert "[REDACTED]" in page


def test_without_a_graph_file_the_page_says_so(run_dir: Path) -> None:
    assert "The run saved no graph" in build_report(run_dir)


def test_the_graph_is_drawn_without_graphviz(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_graph(run_dir, small_graph().to_dot())
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    page = build_report(run_dir)
    assert 'class="wordgrad-graph"' in page and "built-in layout" in page
    assert "Answer briefly." in page


def test_the_graph_is_drawn_by_graphviz_when_installed(run_dir: Path) -> None:
    from wordgrad.graph_render import dot_available

    if not dot_available():
        pytest.skip("Graphviz's dot is not installed (scripts/install-system-deps.sh)")
    write_graph(run_dir, small_graph().to_dot())
    page = build_report(run_dir)
    assert 'class="graph"' in page and "Drawn by Graphviz" in page
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
