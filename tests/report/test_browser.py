"""The report of a real run, opened in headless Chromium: no console errors, and the plot and the
diffs are on the page and visible. A screenshot of the whole page is saved as
``screenshot.png`` in the test's temporary directory (its path is printed).

Regenerate it with::

    .venv/bin/pytest tests/report/test_browser.py -s --basetemp=/tmp/wordgrad-report
    # -> /tmp/wordgrad-report/test_report_in_chromium0/screenshot.png
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.report.chromium import CHROMIUM, Chromium
from tests.report.runs import SHARED_DATA, scripted_run
from wordgrad.report import write_report

pytestmark = pytest.mark.browser

# What the test reads off the page: the size and visibility of the parts that must be seen.
MEASURE = """JSON.stringify((() => {
  const box = (e) => {
    const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return {width: r.width, height: r.height,
            shown: s.display !== "none" && s.visibility !== "hidden" && r.width > 0 && r.height > 0};
  };
  const all = (selector) => Array.from(document.querySelectorAll(selector)).map(box);
  return {
    title: document.title,
    plot: all("svg.plot"),
    points: document.querySelectorAll("svg.plot .point").length,
    inserted: all(".diff ins"),
    deleted: all(".diff del"),
    reverted: document.querySelectorAll(".update.reverted").length,
    graph: all("#graph svg"),
    usageRows: document.querySelectorAll("#usage table.usage tbody tr").length,
  };
})())"""


@pytest.fixture
def report(tmp_path: Path) -> Path:
    if not (SHARED_DATA / "bbh").is_dir():
        pytest.skip(f"the BBH data is not at {SHARED_DATA}")
    run_dir = scripted_run(tmp_path / "run")
    return write_report(run_dir)


def test_report_in_chromium(report: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not at {CHROMIUM}; run scripts/install-system-deps.sh")
    with Chromium(tmp_path / "profile", tmp_path / "chromium.log") as browser:
        browser.open_page()
        browser.navigate(report.resolve().as_uri())
        page = json.loads(browser.evaluate(MEASURE))
        screenshot = browser.screenshot(tmp_path / "screenshot.png")
        browser.evaluate('document.querySelector("button[data-fold=open]").click()')
        closed = browser.evaluate('document.querySelectorAll("details.fold:not([open])").length')
        errors = browser.console_errors()

    print(f"\nscreenshot: {screenshot}\nreport: {report}")
    assert errors == []
    assert page["title"].startswith("wordgrad report")
    assert len(page["plot"]) == 1 and page["plot"][0]["shown"], page["plot"]
    assert page["plot"][0]["width"] > 300 and page["plot"][0]["height"] > 150
    assert page["points"] >= 4  # initial and final test, initial and per-step validation
    assert page["inserted"] and all(part["shown"] for part in page["inserted"])
    assert page["deleted"] and all(part["shown"] for part in page["deleted"])
    assert page["reverted"] >= 1  # the scripted run reverts some updates
    assert page["graph"] and page["graph"][0]["shown"]
    assert page["usageRows"] >= 3
    assert closed == 0  # "expand all" opened every collapsible section
    assert screenshot.stat().st_size > 10_000


def test_console_errors_are_caught(tmp_path: Path) -> None:
    """The check above would see a broken page: an error logged, an exception thrown."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not at {CHROMIUM}; run scripts/install-system-deps.sh")
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><title>broken</title><script>console.error('logged');"
        "undefinedFunction();</script>",
        encoding="utf-8",
    )
    with Chromium(tmp_path / "profile", tmp_path / "chromium.log") as browser:
        browser.open_page()
        browser.navigate(page.as_uri())
        errors = browser.console_errors()
    assert any("logged" in error for error in errors)
    assert any("Uncaught" in error for error in errors), errors


FIT = """JSON.stringify((() => {
  document.querySelectorAll("details.fold").forEach((d) => { d.open = true; });
  const rows = Array.from(document.querySelectorAll("tr.example")).map((e) => {
    const r = e.getBoundingClientRect();
    return {width: r.width, height: r.height};
  });
  const wide = Array.from(document.querySelectorAll("main *")).filter(
    (e) => e.getBoundingClientRect().right > window.innerWidth + 1).length;
  return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
          rows: rows, wide: wide};
})())"""


def test_own_data_report_and_comparison_fit_1280_pixels(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not at {CHROMIUM}; run scripts/install-system-deps.sh")
    from tests.report.own_runs import instance_run, prompt_run
    from wordgrad.report.compare import write_comparison

    a = prompt_run(tmp_path / "a", steps=0, prompt="Add them. " * 60)  # a long prompt
    b = prompt_run(tmp_path / "b", steps=1)
    pages = [write_report(b), write_comparison(a, b), write_report(instance_run(tmp_path / "i"))]
    with Chromium(tmp_path / "profile", tmp_path / "chromium.log") as browser:
        browser.open_page(width=1280)
        measured = []
        for page in pages:
            browser.navigate(page.resolve().as_uri())
            measured.append(json.loads(browser.evaluate(FIT)))
        errors = browser.console_errors()
    assert errors == []
    for page, fit in zip(pages, measured):
        assert fit["inner"] == 1280 and fit["scroll"] <= 1280, (page, fit)
        assert fit["wide"] == 0, (page, fit)
    report_rows, comparison_rows = measured[0]["rows"], measured[1]["rows"]
    assert len(report_rows) == 2 and all(r["height"] > 10 for r in report_rows)
    # 2 validation and 4 test examples: A never ends with "Answer:", B always does
    assert len(comparison_rows) == 6 and all(r["width"] > 300 for r in comparison_rows)
