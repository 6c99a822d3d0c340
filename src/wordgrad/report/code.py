"""The report's section for code-optimization runs: each problem's code over the iterations.

For every problem: the pass/fail of zero-shot, Reflexion and TextGrad on the scoring tests, then
each iterate with its visible-test results (expected and actual values, errors, why a run was
stopped), the code (the first in full, later ones as word-level diffs against the previous one)
and the critique that led to it. Built from the run's ``iterate`` events and ``results.json``;
empty for other runs.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wordgrad.report.diff import change_counts, diff_html
from wordgrad.train.events import Iterate, read_events
from wordgrad.train.runs import RunDir


def _e(text: object) -> str:
    return html.escape(str(text))


def _fold(summary: str, content: str) -> str:
    return f'<details class="fold"><summary>{summary}</summary>{content}</details>'


def _mark(passed: object) -> str:
    if passed is None:
        return "–"
    return "✔ pass" if passed else "✘ fail"


def _cases(result: Mapping[str, Any]) -> str:
    """A run's test results: one line per case, then why it stopped and errors."""
    lines = []
    for case in result.get("cases", []):
        if case.get("passed"):
            lines.append(f"PASS {case['name']}")
        elif case.get("error_type"):
            lines.append(f"FAIL {case['name']}  raised {case['error_type']}")
        else:
            lines.append(
                f"FAIL {case['name']}  expected {case.get('expected')}, got {case.get('actual')}"
            )
    missing = int(result.get("expected_cases", 0)) - len(result.get("cases", []))
    if missing > 0:
        lines.append(f"{missing} test(s) did not run")
    if result.get("stopped") not in (None, "finished"):
        lines.append(f"stopped: {result['stopped']}")
    if result.get("error") and not result.get("cases"):
        lines.append(str(result["error"]).rstrip())
    return f'<div class="text">{_e(chr(10).join(lines))}</div>'


def _iterate(event: Iterate, previous: Iterate | None) -> str:
    visible = event.details.get("visible", {})
    passed = sum(1 for c in visible.get("cases", []) if c.get("passed"))
    total = visible.get("expected_cases", 0)
    if previous is None:
        code = f'<div class="diff">{_e(event.value)}</div>'
        change = "starting code"
    else:
        removed, added = change_counts(previous.value, event.value)
        code = f'<div class="diff">{diff_html(previous.value, event.value)}</div>'
        change = f"−{removed} / +{added} words"
    critique = (
        _fold("critique and feedback behind this version", f'<div class="text">'
              f"{_e(event.critique)}\n\n{_e(event.gradient)}</div>")
        if event.critique
        else ""
    )  # fmt: skip
    return (
        f'<div class="update"><div class="update-head"><b>iteration {event.iteration}</b>'
        f' <span class="facts">visible tests {passed}/{total} · score {event.score:g} · '
        f"{_e(change)}</span></div>{code}{_cases(visible)}{critique}</div>"
    )


def _problem(instance: str, iterates: Sequence[Iterate], summary: Mapping[str, Any] | None) -> str:
    head = ""
    if summary is not None:
        reflexion = summary.get("reflexion_pass")
        head = (
            f" · zero-shot {_mark(summary.get('zero_shot_pass'))}"
            f" · Reflexion {_mark(None if reflexion is None else bool(reflexion))}"
            f" · TextGrad {_mark(summary.get('textgrad_pass'))}"
        )
    body = "".join(
        _iterate(event, iterates[n - 1] if n else None) for n, event in enumerate(iterates)
    )
    attempts = (summary or {}).get("reflexion") or []
    if len(attempts) > 1:
        shown = "".join(
            f"<p><b>attempt {a['iteration']}</b></p>"
            + (f'<div class="text">{_e(a["reflection"])}</div>' if a.get("reflection") else "")
            + f'<div class="diff">{_e(a["code"])}</div>{_cases(a.get("visible", {}))}'
            for a in attempts[1:]
        )
        body += _fold(f"Reflexion baseline ({len(attempts) - 1} attempts)", shown)
    return _fold(f"<b>{_e(instance)}</b>{_e(head)}", body)


def code_section(run_dir: str | os.PathLike[str]) -> str:
    """The code section of the report of ``run_dir``; "" unless it is a code run."""
    path = Path(run_dir)
    config = RunDir(path).config_path
    if not config.is_file() or '"code"' not in config.read_text(encoding="utf-8"):
        return ""
    by_instance: dict[str, list[Iterate]] = {}
    for event in read_events(path):
        if isinstance(event, Iterate):
            by_instance.setdefault(event.instance, []).append(event)
    if not by_instance:
        return ""
    results = RunDir(path).results() or {}
    summaries = {s["id"]: s for s in results.get("instances", [])}
    metric = results.get("metric", "")
    problems = "".join(
        _problem(instance, iterates, summaries.get(instance))
        for instance, iterates in by_instance.items()
    )
    note = f'<p class="muted">Scored on: {_e(metric)}.</p>' if metric else ""
    return (
        '<section id="code"><h2>Code over iterations</h2>'
        '<p class="muted">Each problem: the code after every iteration with its visible-test '
        f"results; later versions are shown as changes to the one before.</p>{note}"
        f"{problems}</section>"
    )
