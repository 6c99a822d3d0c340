"""Two runs side by side: ``wordgrad report RUN_A RUN_B``, one self-contained HTML file.

What it shows: the settings that differ; each comparison both runs report (accuracy before and
after, with 95% intervals); the final values, with the changes from A to B marked; the examples
of the last evaluation of each split that the two runs scored differently, with both answers;
and tokens and cost by what they were spent on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wordgrad.errors import WordgradError
from wordgrad.report.diff import diff_html
from wordgrad.report.html import CSS, SCRIPT, _e, _fold, _pct, _pre
from wordgrad.report.model import summarize
from wordgrad.train.events import Evaluation, RunStart, read_events
from wordgrad.train.results import load_result
from wordgrad.train.runs import RunDir, config_differences
from wordgrad.train.summary import USAGE_LABELS


def write_comparison(
    run_a: str | os.PathLike[str],
    run_b: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the comparison of two runs; returns its path (default ``RUN_A/compare-<B>.html``).

    Raises:
        FileNotFoundError: a directory holds no run (no ``events.jsonl``).
    """
    for run in (run_a, run_b):
        if not (Path(run) / "events.jsonl").is_file():
            raise FileNotFoundError(f"{run} has no events.jsonl; give two run directories")
    target = (
        Path(output)
        if output is not None
        else Path(run_a) / f"compare-{Path(run_b).resolve().name}.html"
    )
    target.write_text(build_comparison(run_a, run_b), encoding="utf-8")
    return target


def build_comparison(run_a: str | os.PathLike[str], run_b: str | os.PathLike[str]) -> str:
    """The comparison page as HTML text."""
    a, b = Path(run_a), Path(run_b)
    names = (a.resolve().name, b.resolve().name)
    title = f"wordgrad comparison: {names[0]} vs {names[1]}"
    sections = [
        f'<header><h1>{_e(title)}</h1><p class="facts">A = {_e(a)} · B = {_e(b)}</p></header>',
        _settings(a, b),
        _comparisons(a, b),
        _values(a, b),
        _examples(a, b),
        _usage(a, b),
    ]
    body = "\n".join(s for s in sections if s)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def _config(run: Path) -> dict[str, Any]:
    start = next((e for e in read_events(run) if isinstance(e, RunStart)), None)
    return dict(start.config) if start else {}


def _settings(a: Path, b: Path) -> str:
    differences = config_differences(_config(a), _config(b))
    items = "".join(f"<li><code>{_e(d)}</code></li>" for d in differences)
    body = f"<ul>{items}</ul>" if items else "<p>The two runs have the same settings.</p>"
    return f'<section id="settings"><h2>Settings that differ (A → B)</h2>{body}</section>'


def _comparisons(a: Path, b: Path) -> str:
    results = [RunDir(a).results() or {}, RunDir(b).results() or {}]
    keys = [k for k in results[0].get("comparisons", []) if k in results[1].get("comparisons", [])]
    if not keys:
        return (
            '<section id="results"><h2>Results</h2><p class="muted">The runs share no '
            "finished comparison (is one of them unfinished?).</p></section>"
        )
    rows = []
    for key in keys:
        for side in ("before", "after"):
            cells = []
            for result in results:
                summary = result[key].get(side, {})
                label = result[key].get(f"{side}_label", side)
                cells.append(
                    f'<td class="num">{_pct(summary.get("accuracy"))} '
                    f"[{_pct(summary.get('ci_low'))}, {_pct(summary.get('ci_high'))}] "
                    f"n={summary.get('n', 0)}</td>"
                )
            rows.append(f"<tr><td>{_e(key)}</td><td>{_e(label)}</td>{''.join(cells)}</tr>")
    return (
        '<section id="results"><h2>Results</h2><table><thead><tr><th>comparison</th>'
        "<th>what</th><th>A</th><th>B</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _values(a: Path, b: Path) -> str:
    try:
        first, second = load_result(a).values, load_result(b).values
    except WordgradError:
        return ""
    blocks = []
    for name in list(dict.fromkeys([*first, *second]))[:50]:
        left, right = first.get(name, ""), second.get(name, "")
        blocks.append(
            f'<div class="variable"><h3 class="role">{_e(name)}</h3>'
            f'<div class="diff">{diff_html(left, right)}</div></div>'
        )
    return (
        '<section id="values"><h2>Final values (changes from A to B marked)</h2>'
        + "".join(blocks)
        + "</section>"
    )


def _last_evaluations(run: Path) -> dict[str, Evaluation]:
    found: dict[str, Evaluation] = {}
    for event in read_events(run):
        if isinstance(event, Evaluation):
            found[event.split] = event
    return found


def _examples(a: Path, b: Path) -> str:
    first, second = _last_evaluations(a), _last_evaluations(b)
    blocks = []
    for split in [s for s in first if s in second]:
        one, two = first[split], second[split]
        if len(one.scores) != len(two.scores):
            continue
        left = list(one.extra.get("predictions") or [])
        right = list(two.extra.get("predictions") or [])
        rows = "".join(
            f'<tr class="example"><td class="num">{i}</td><td class="num">{_pct(x)} / {_pct(y)}'
            f"</td><td>{_pre(left[i] if i < len(left) else '')}</td>"
            f"<td>{_pre(right[i] if i < len(right) else '')}</td></tr>"
            for i, (x, y) in enumerate(zip(one.scores, two.scores))
            if x != y
        )
        changed = sum(1 for x, y in zip(one.scores, two.scores) if x != y)
        table = (
            '<table class="examples compare"><thead><tr><th>example</th><th>A / B</th>'
            f"<th>A's answer</th><th>B's answer</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        blocks.append(
            f"<h3>{_e(split)} ({_e(one.label)} vs {_e(two.label)}): {changed} of "
            f"{len(one.scores)} examples scored differently</h3>"
            + (_fold("show them", table) if changed else "")
        )
    if not blocks:
        return ""
    return (
        '<section id="examples"><h2>Examples scored differently</h2>'
        + "".join(blocks)
        + ("</section>")
    )


def _usage(a: Path, b: Path) -> str:
    rows = []
    summaries = [summarize(read_events(a)), summarize(read_events(b))]
    purposes = list(dict.fromkeys(row.label for s in summaries for row in s.usage_by_purpose))
    for purpose in [*purposes, "total"]:
        cells = []
        for summary in summaries:
            table: Mapping[str, Any] = {row.label: row for row in summary.usage_by_purpose}
            row = summary.usage_total if purpose == "total" else table.get(purpose)
            cells.append(
                f'<td class="num">{row.calls:,.0f} calls · {row.total_tokens:,.0f} tokens · '
                f"${row.cost_usd:,.4f}</td>"
                if row is not None
                else '<td class="num">–</td>'
            )
        label = "total" if purpose == "total" else USAGE_LABELS.get(purpose, purpose)
        rows.append(f"<tr><td>{_e(label)}</td>{''.join(cells)}</tr>")
    return (
        '<section id="usage"><h2>Tokens and cost</h2><table><thead><tr><th>what for</th>'
        f"<th>A</th><th>B</th></tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )
