"""The report of a real run, opened in headless Chromium: no console errors, and the plot and the
diffs are on the page and visible. A screenshot of the whole page is saved as
``screenshot.png`` in the test's temporary directory (its path is printed).

Regenerate it with::

    .venv/bin/pytest tests/report/test_browser.py -s --basetemp=/tmp/wordgrad-report
    # -> /tmp/wordgrad-report/test_report_in_chromium0/screenshot.png
"""

from __future__ import annotations

import json
import subprocess
import sys
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


# --------------------------------------------------------------------------- molecules

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "molecule_optimization.py"

MOLECULES = """JSON.stringify((() => {
  const box = (e) => {
    const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return {width: r.width, height: r.height,
            shown: s.display !== "none" && s.visibility !== "hidden" && r.width > 0 && r.height > 0};
  };
  const all = (selector) => Array.from(document.querySelectorAll(selector)).map(box);
  return {
    plots: all("#molecules svg.mol-plot"),
    plotPoints: document.querySelectorAll("#molecules svg.mol-plot .point").length,
    referenceLines: document.querySelectorAll("#molecules svg.mol-plot line.reference").length,
    drawings: all("#molecules .mol-card:not(.reference) svg.mol-svg"),
    invalid: all("#molecules .mol-card.invalid"),
    references: all("#molecules .mol-card.reference svg.mol-svg"),
    standing: document.querySelector("#molecules .mol-standing")?.textContent || "",
    pageWidth: document.documentElement.scrollWidth,
  };
})())"""


def test_molecule_report_in_chromium(tmp_path: Path) -> None:
    """The example's run against DRD2 (real RDKit and Vina, a scripted chemist): its run
    directory holds the trajectory, and its report shows both plots and every drawing."""
    pytest.importorskip("vina")
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not at {CHROMIUM}; run scripts/install-system-deps.sh")
    run_dir = tmp_path / "drd2"
    done = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--run-dir",
            str(run_dir),
            "--iterations",
            "3",
            "--reference",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((run_dir / "results.json").read_text())
    trajectory = results["instances"][0]["trajectory"]
    assert [point["valid"] for point in trajectory] == [True, True, False, True]
    assert all(p["vina_score"] < 0 for p in trajectory if p["valid"])  # docked for real
    assert results["references"][0]["vina_score"] < 0
    report = run_dir / "report.html"
    assert report.is_file() and str(report) in done.stdout

    with Chromium(tmp_path / "profile", tmp_path / "chromium.log") as browser:
        browser.open_page(width=1280)
        browser.navigate(report.resolve().as_uri())
        page = json.loads(browser.evaluate(MOLECULES))
        screenshot = browser.screenshot(tmp_path / "molecules.png")
        errors = browser.console_errors()

    print(f"\nscreenshot: {screenshot}\nreport: {report}")
    assert errors == []
    assert len(page["plots"]) == 2 and all(p["shown"] and p["width"] > 250 for p in page["plots"])
    assert page["plotPoints"] == 2 * len(trajectory)  # affinity and QED, every iteration
    assert page["referenceLines"] == 2  # the known binder on both plots
    assert len(page["drawings"]) == 3 and all(
        d["shown"] and d["height"] > 60 for d in page["drawings"]
    )
    assert len(page["invalid"]) == 1 and page["invalid"][0]["shown"]
    assert len(page["references"]) == 1 and page["references"][0]["shown"]
    assert "Best docking score" in page["standing"]
    assert page["pageWidth"] <= 1280  # fits the window


# --------------------------------------------------------------------------- treatment plans

PLAN_MEASURE = """JSON.stringify((() => {
  const box = (e) => {
    const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return {width: r.width, height: r.height,
            shown: s.display !== "none" && s.visibility !== "hidden" && r.width > 0 && r.height > 0};
  };
  return {
    dvh: Array.from(document.querySelectorAll("#plans svg.dvh")).map(box),
    curves: document.querySelectorAll("#plans svg.dvh polyline.curve").length,
    rows: document.querySelectorAll("#plans table.plans tbody tr").length,
    best: document.querySelectorAll("#plans table.plans tr.best").length,
    missed: document.querySelectorAll("#plans td.missed").length,
  };
})())"""


def test_plan_report_with_dvh_plots_in_chromium(tmp_path: Path) -> None:
    """The radiotherapy example's run (scripted planner, real pyRadPlan on a coarse grid):
    the weights and metrics table and the three DVH plots are on the page and visible."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not at {CHROMIUM}; run scripts/install-system-deps.sh")
    pytest.importorskip("pyRadPlan", reason="needs pip install 'wordgrad[radiotherapy]'")
    from tests.science.planner_plugin import load_example

    run_dir = tmp_path / "plan-run"
    cache = tmp_path.parent / "radiotherapy-cache"
    example = load_example()
    assert (
        example.main(
            [
                "--run-dir",
                str(run_dir),
                "--iterations",
                "2",
                "--voxel-mm",
                "10",
                "--beams",
                "3",
                "--cache-dir",
                str(cache),
            ]
        )
        == 0
    )
    report = run_dir / "report.html"
    with Chromium(tmp_path / "profile", tmp_path / "chromium.log") as browser:
        browser.open_page()
        browser.navigate(report.resolve().as_uri())
        page = json.loads(browser.evaluate(PLAN_MEASURE))
        screenshot = browser.screenshot(tmp_path / "plan-screenshot.png")
        errors = browser.console_errors()

    print(f"\nscreenshot: {screenshot}\nreport: {report}")
    assert errors == []
    assert len(page["dvh"]) == 3  # first, best and last plans
    assert all(
        plot["shown"] and plot["width"] > 200 and plot["height"] > 100 for plot in page["dvh"]
    )
    assert page["curves"] == 9  # PTV, bladder and rectum in each
    assert page["rows"] == 3 and page["best"] == 1  # the start and two updates
    assert page["missed"] >= 1  # the start favours the organs and misses the target goals
