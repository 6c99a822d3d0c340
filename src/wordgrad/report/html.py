"""The run report: one self-contained HTML file built from a run directory.

Everything the page needs is inside it (CSS, a few lines of JavaScript, the plot and the graph
as inline SVG), so it opens from disk, can be mailed or archived, and never reaches the network.
All text from the run is HTML-escaped; secrets were already replaced in the log
(:func:`wordgrad.train.events.redact`), and the graph file is redacted the same way when read.

What it shows, top to bottom: the run's outcome in a few numbers; accuracy over steps with 95%
intervals; every step (the word-level change each update proposed, whether validation kept or
reverted it, the feedback behind it, the minibatch); the variables' first and last text; tokens,
cost and latency per step and per purpose; the computation graph of a step; errors.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path

import wordgrad
from wordgrad.graph_render import dot_available, render_graph_svg
from wordgrad.report.diff import WordDiff, word_diff
from wordgrad.report.model import (
    RunSummary,
    StepRecord,
    UsageRow,
    ValidationChange,
    summarize,
)
from wordgrad.report.plot import accuracy_plot
from wordgrad.train.events import (
    Error,
    Iterate,
    Question,
    Repair,
    Step,
    read_log,
    redact,
)
from wordgrad.train.summary import USAGE_LABELS

REPORT_FILE = "report.html"
GRAPHS_DIR = "graphs"
_GRAPH_FILE = re.compile(r"^step-(\d+)\.dot$")
_XMLNS = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
logger = logging.getLogger("wordgrad.report")
_diffs: ContextVar[dict[tuple[str, str], WordDiff] | None] = ContextVar(
    "wordgrad_report_diffs", default=None
)
"""The diffs of the report being built: each pair of texts is compared once, though the steps
and the variables sections both show it."""


def _word_diff(old: str, new: str) -> WordDiff:
    memo = _diffs.get()
    if memo is None:
        return word_diff(old, new)
    change = memo.get((old, new))
    if change is None:
        change = memo[(old, new)] = word_diff(old, new)
    return change


# ---------------------------------------------------------------------------- entry points


def write_report(
    run_dir: str | os.PathLike[str], output: str | os.PathLike[str] | None = None
) -> Path:
    """Write the HTML report of the run in ``run_dir``; returns its path.

    Args:
        run_dir: a run directory (it holds ``events.jsonl``).
        output: where to write (default ``<run_dir>/report.html``).
    """
    run_path = Path(run_dir)
    if not (run_path / "events.jsonl").is_file():
        raise FileNotFoundError(
            f"{run_path} has no events.jsonl; give the directory a training run wrote "
            "(its --run-dir)"
        )
    target = Path(output) if output is not None else run_path / REPORT_FILE
    target.write_text(build_report(run_path), encoding="utf-8")
    return target


def build_report(run_dir: str | os.PathLike[str]) -> str:
    """The report of the run in ``run_dir`` as HTML text."""
    token = _diffs.set({})
    try:
        return _build_report(Path(run_dir))
    finally:
        _diffs.reset(token)


def _build_report(run_path: Path) -> str:
    log = read_log(run_path)
    skipped = log.describe_skipped()
    if skipped:
        logger.warning("%s: %s", run_path, skipped)
    summary = summarize(log.events)
    title = f"wordgrad report: {run_path.resolve().name}"
    sections = [
        _header(title, summary),
        _log_notice(skipped, [e for e in log.events if isinstance(e, Repair)]),
        _cards(summary),
        _accuracy_section(summary),
        _steps_section(summary),
        _variables_section(summary),
        _usage_section(summary),
        _graph_section(run_path),
        _instances_section(summary),
        _questions_section(summary.questions),
        _errors_section(summary),
        _footer(),
    ]
    body = "\n".join(section for section in sections if section)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


# ---------------------------------------------------------------------------- formatting


def _e(text: object) -> str:
    return html.escape(str(text))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _tokens(value: float) -> str:
    return f"{value:,.0f}"


def _cost(value: float) -> str:
    return f"${value:,.4f}"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} s"


def _badge(decision: str) -> str:
    return f'<span class="badge {_e(decision)}">{_e(decision)}</span>'


def _fold(summary: str, content: str, css: str = "") -> str:
    """A collapsible block (closed at first)."""
    return f'<details class="fold {css}"><summary>{summary}</summary>{content}</details>'


def _pre(text: str) -> str:
    return f'<div class="text">{_e(text)}</div>'


# ---------------------------------------------------------------------------- sections


def _header(title: str, summary: RunSummary) -> str:
    start, end = summary.start, summary.end
    facts = []
    if start is not None:
        task = start.config.get("task")
        facts += [f"kind: {_e(start.kind)}", f"started {_e(start.time[:19].replace('T', ' '))} UTC"]
        facts += [f"task: {_e(task)}"] if task else []
        if start.resumed_from is not None:
            facts.append(f"resumed from step {start.resumed_from}")
    status = end.status if end is not None else "running or stopped"
    config = _fold("settings", _pre(json.dumps(redact(start.config), indent=2))) if start else ""
    return (
        f'<header><h1>{_e(title)}</h1><p class="facts">'
        f'<span class="status {_e(status.split()[0])}">'
        f"{_e(status)}</span> {' · '.join(facts)}</p>"
        + (f'<p class="message">{_e(end.message)}</p>' if end and end.message else "")
        + config
        + '<nav><a href="#accuracy">accuracy</a><a href="#steps">steps</a>'
        '<a href="#variables">variables</a><a href="#usage">usage</a><a href="#graph">graph</a>'
        '<button type="button" data-fold="open">expand all</button>'
        '<button type="button" data-fold="close">collapse all</button></nav></header>'
    )


def _cards(summary: RunSummary) -> str:
    decisions = [u.decision for r in summary.steps for u in r.updates]
    cards = [("steps", str(summary.last_step), "")]
    for split, points in summary.series.items():
        line = [p for p in points if not p.rejected]
        if line and split in ("val", "test"):
            first, last = line[0], line[-1]
            cards.append(
                (
                    f"{split} accuracy",
                    f"{_pct(first.accuracy)} → {_pct(last.accuracy)}",
                    f"95% CI of last: [{_pct(last.ci_low)}, {_pct(last.ci_high)}], n={last.n}",
                )
            )
    if decisions:
        kept, reverted = decisions.count("kept"), decisions.count("reverted")
        others = f"{reverted} reverted · {decisions.count('unchanged')} unchanged"
        cards.append(("updates", f"{kept} kept", others))
    total = summary.usage_total
    if total is not None:
        cards.append(("tokens", _tokens(total.total_tokens), f"{total.calls:,.0f} calls"))
        time = "estimated from list prices"
        if total.latency_s is not None:
            time = f"LLM time {_seconds(total.latency_s)}"
        cards.append(("cost", _cost(total.cost_usd), time))
    items = "".join(
        f'<div class="card"><div class="label">{_e(label)}</div><div class="value">{_e(value)}'
        f'</div><div class="sub">{_e(sub)}</div></div>'
        for label, value, sub in cards
    )
    return f'<section class="cards">{items}</section>'


def _accuracy_section(summary: RunSummary) -> str:
    if not summary.series:
        return '<section id="accuracy"><h2>Accuracy</h2><p>No evaluations in the log.</p></section>'
    decisions = {r.step: _step_decision(r) for r in summary.steps if r.updates}
    rows = "".join(
        f"<tr><td>{_e(ev.split)}</td><td>{_e(ev.label)}</td><td>{ev.step}</td>"
        f'<td class="num">{_pct(ev.accuracy)}</td>'
        f'<td class="num">[{_pct(ev.ci_low)}, {_pct(ev.ci_high)}]</td>'
        f'<td class="num">{ev.n}</td></tr>'
        for ev in summary.evaluations
    )
    table = (
        "<table><thead><tr><th>split</th><th>what</th><th>step</th><th>accuracy</th>"
        f"<th>95% CI</th><th>n</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return (
        '<section id="accuracy"><h2>Accuracy over steps</h2>'
        f'<figure class="plot-box">{accuracy_plot(summary.series, decisions, summary.last_step)}'
        "<figcaption>Each split's accuracy with its 95% bootstrap interval; final evaluations "
        "sit at the last step. Hover a point for its numbers.</figcaption></figure>"
        + _fold("all evaluations", table)
        + "</section>"
    )


def _step_decision(record: StepRecord) -> str:
    decisions = [u.decision for u in record.updates]
    for decision in ("reverted", "kept"):
        if decision in decisions:
            return decision
    return "unchanged"


def _steps_section(summary: RunSummary) -> str:
    if not summary.steps:
        if summary.iterates:
            return ""  # test-time runs: the instances section shows each value over iterations
        return (
            '<section id="steps"><h2>Steps</h2><p>No optimization steps in the log.</p></section>'
        )
    articles = "\n".join(_step_article(record) for record in summary.steps)
    return f'<section id="steps"><h2>Steps</h2>{articles}</section>'


def _step_article(record: StepRecord) -> str:
    facts = [f"epoch {record.epoch}"] if record.epoch is not None else []
    if record.batch_accuracy is not None:
        facts.append(f"minibatch accuracy {_pct(record.batch_accuracy)}")
    if record.usage is not None:
        facts.append(f"{_tokens(record.usage.total_tokens)} tokens, {_cost(record.usage.cost_usd)}")
    updates = "".join(_update(update) for update in record.updates)
    updates = updates or '<p class="muted">No update recorded for this step.</p>'
    return (
        f'<article class="step {_step_decision(record)}" id="step-{record.step}">'
        f'<h3>Step {record.step} <span class="facts">{" · ".join(facts)}</span></h3>'
        f"{updates}{_validation_changes(record)}{_minibatch(record)}</article>"
    )


def _validation_changes(record: StepRecord) -> str:
    if not record.val_won and not record.val_lost:
        return ""

    def rows(changes: list[ValidationChange]) -> str:
        return "".join(
            f'<tr><td class="num">{c.index}</td><td class="num">{_pct(c.before)} → '
            f"{_pct(c.after)}</td><td>{_pre(c.prediction_before)}</td>"
            f"<td>{_pre(c.prediction_after)}</td></tr>"
            for c in changes
        )

    head = (
        '<table class="examples"><thead><tr><th>example</th><th>score</th><th>answer before'
        "</th><th>answer with the proposal</th></tr></thead><tbody>"
    )
    won = ", ".join(str(c.index) for c in record.val_won) or "none"
    lost = ", ".join(str(c.index) for c in record.val_lost) or "none"
    return (
        f'<p class="val-changes">validation examples won: <b class="won">{_e(won)}</b>'
        f' · lost: <b class="lost">{_e(lost)}</b></p>'
        + _fold(
            f"validation examples that changed ({len(record.val_won) + len(record.val_lost)})",
            head + rows(record.val_won) + rows(record.val_lost) + "</tbody></table>",
            "val-changes",
        )
    )


def _update(update: Step) -> str:
    change = _word_diff(update.old_value, update.new_value)
    removed, added = change.removed, change.added
    validation = ""
    if update.val_before is not None or update.val_after is not None:
        validation = f"validation {_pct(update.val_before)} → {_pct(update.val_after)}"
    fate = {
        "kept": "the proposal became the new text",
        "reverted": "validation got worse, so the text stayed as before",
        "unchanged": "the optimizer left the text as it was",
    }.get(update.decision, "")
    errors = "".join(f"<li>{_e(error)}</li>" for error in update.parse_errors)
    feedback = "".join(f"<li>{_pre(text)}</li>" for text in update.feedback)
    return (
        f'<div class="update {_e(update.decision)}">'
        f'<div class="update-head">{_badge(update.decision)}'
        f' <span class="role">{_e(update.parameter)}</span>'
        f' <span class="facts">−{removed} / +{added} words · {validation}</span></div>'
        f'<p class="fate">{_e(fate)}</p>'
        f'<div class="diff">{change.html}</div>'
        + (f'<ul class="parse-errors">{errors}</ul>' if errors else "")
        + _fold(
            f"feedback that drove this update ({len(update.feedback)})",
            f'<ol class="feedback">{feedback}</ol>',
            "feedback",
        )
        + "</div>"
    )


def _minibatch(record: StepRecord) -> str:
    forward = record.forward
    if forward is None and not record.losses:
        return ""
    rows = []
    predictions = forward.predictions if forward else []
    inputs = list(forward.extra.get("inputs") or []) if forward else []
    targets = list(forward.extra.get("targets") or []) if forward else []
    for position, prediction in enumerate(predictions):
        index = forward.indices[position] if forward and position < len(forward.indices) else ""
        score = forward.scores[position] if forward and position < len(forward.scores) else None
        loss = record.losses[position] if position < len(record.losses) else ""
        given = inputs[position] if position < len(inputs) else "(not logged)"
        expected = targets[position] if position < len(targets) else "(not logged)"
        rows.append(
            f'<tr class="example"><td class="num">{_e(index)}</td><td>{_pre(given)}</td>'
            f"<td>{_pre(expected)}</td><td>{_pre(prediction)}</td>"
            f'<td class="num">{_pct(score)}</td><td>{_pre(loss)}</td></tr>'
        )
    table = (
        '<table class="examples"><thead><tr><th>example</th><th>input</th><th>expected</th>'
        "<th>prediction</th><th>score</th><th>verdict (loss)</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return _fold(f"minibatch ({len(predictions)} examples)", table)


def _variables_section(summary: RunSummary) -> str:
    blocks = []
    for role in summary.parameters:
        history = summary.history(role)
        first, last = history[0][1], history[-1][1]
        previous = [history[0][1]] + [text for _, text in history[:-1]]
        steps = "".join(
            f'<li><span class="step-no">step {step}</span>'
            f'<div class="diff">{_word_diff(before, text).html}</div></li>'
            for (step, text), before in zip(history, previous)
        )
        blocks.append(
            f'<div class="variable"><h3 class="role">{_e(role)}</h3>'
            '<p class="muted">From the first text to the last, changes marked:</p>'
            f'<div class="diff">{_word_diff(first, last).html}</div>'
            + _fold(
                f"its text after every step, changes against the step before ({len(history)})",
                f'<ol class="history">{steps}</ol>',
            )
            + "</div>"
        )
    if not blocks:
        return ""
    return '<section id="variables"><h2>Variables</h2>' + "".join(blocks) + "</section>"


def _usage_table(rows: Sequence[UsageRow], first: str, total: UsageRow | None = None) -> str:
    most = max((row.total_tokens for row in rows), default=0) or 1

    def line(row: UsageRow, css: str = "") -> str:
        bar = f'<span class="bar" style="width:{100 * row.total_tokens / most:.0f}%"></span>'
        return (
            f'<tr class="{css}"><td>{_e(row.label)}</td><td class="num">{row.calls:,.0f}</td>'
            f'<td class="num">{_tokens(row.prompt_tokens)}</td>'
            f'<td class="num">{_tokens(row.completion_tokens)}</td>'
            f'<td class="num tokens">{_tokens(row.total_tokens)}{"" if css else bar}</td>'
            f'<td class="num">{_cost(row.cost_usd)}</td>'
            f'<td class="num">{_seconds(row.latency_s)}</td></tr>'
        )

    body = "".join(line(row) for row in rows) + (line(total, "total") if total else "")
    return (
        f'<table class="usage"><thead><tr><th>{_e(first)}</th><th>calls</th><th>prompt</th>'
        "<th>completion</th><th>tokens</th><th>cost</th><th>LLM time</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _usage_section(summary: RunSummary) -> str:
    if not summary.usage_by_step:
        return '<section id="usage"><h2>Usage</h2><p>No usage in the log.</p></section>'
    total = summary.usage_total
    note = ""
    if total is not None and total.latency_s is None:
        note = '<p class="muted">The log records no latencies, so LLM time shows as –.</p>'
    by_step = _usage_table(summary.usage_by_step, "step", total)
    labelled = [
        UsageRow(
            USAGE_LABELS.get(row.label, row.label),
            row.calls,
            row.prompt_tokens,
            row.completion_tokens,
            row.cost_usd,
            row.latency_s,
        )
        for row in summary.usage_by_purpose
    ]
    by_purpose = _usage_table(labelled, "what for", total)
    return (
        '<section id="usage"><h2>Tokens, cost and time</h2><div class="two">'
        f"<div><h3>per step</h3>{by_step}</div><div><h3>per role</h3>{by_purpose}"
        '<p class="muted">"initial evaluation" is the work before step 1 (the first '
        'evaluation, pre-flight calls); "final evaluation" the work after the last step. '
        "Cached calls cost nothing.</p></div></div>"
        f"{note}</section>"
    )


def graph_files(run_dir: Path) -> list[tuple[int, Path]]:
    """The ``graphs/step-NNNN.dot`` files of a run, by step."""
    directory = run_dir / GRAPHS_DIR
    if not directory.is_dir():
        return []
    found = ((_GRAPH_FILE.match(p.name), p) for p in directory.iterdir())
    return sorted((int(match.group(1)), path) for match, path in found if match)


def _graph_section(run_dir: Path) -> str:
    files = graph_files(run_dir)
    if not files:
        return (
            '<section id="graph"><h2>Computation graph</h2><p class="muted">The run saved no '
            f"graph ({GRAPHS_DIR}/step-NNNN.dot).</p></section>"
        )
    step, path = files[0]
    svg = _XMLNS.sub("", render_graph_svg(str(redact(path.read_text(encoding="utf-8")))))
    how = (
        "Graphviz"
        if dot_available()
        else "wordgrad's built-in layout (install Graphviz for a tidier one)"
    )
    return (
        f'<section id="graph"><h2>Computation graph of step {step}</h2>'
        f'<div class="graph">{svg}</div><p class="muted">Drawn by {_e(how)}; '
        "inputs on top, the loss at the bottom.</p></section>"
    )


def _instances_section(summary: RunSummary) -> str:
    """Test-time runs: each instance's value and score over the iterations."""
    if not summary.iterates:
        return ""
    blocks = []
    for instance, iterates in summary.iterates.items():
        scores = [it.score for it in iterates]
        best = max(range(len(iterates)), key=lambda i: (scores[i], -i))
        rows = "".join(_iterate_row(it, best == position) for position, it in enumerate(iterates))
        stopped = iterates[-1].stopped if iterates[-1].done else "not finished"
        trend = " → ".join(f"{score:g}" for score in scores)
        blocks.append(
            f'<article class="instance" id="instance-{_e(instance)}">'
            f'<h3>{_e(instance)} <span class="facts">scores {_e(trend)} · {_e(stopped)}</span></h3>'
            + _fold(
                f"its {len(iterates)} values over the iterations",
                '<table class="examples"><thead><tr><th>iteration</th><th>score</th>'
                "<th>value</th><th>measurement</th><th>critique that led to it</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>",
            )
            + "</article>"
        )
    return (
        '<section id="instances"><h2>Answers over iterations</h2>'
        '<p class="muted">Each instance starts from its first value (iteration 0); every '
        "iteration is a critique, feedback and a rewrite, then a new measurement. The best "
        "value is marked.</p>" + "".join(blocks) + "</section>"
    )


def _iterate_row(iterate: Iterate, best: bool) -> str:
    measurement = iterate.feedback
    if iterate.details:
        measurement += ("\n" if measurement else "") + json.dumps(iterate.details)
    if iterate.parse_error:
        measurement += f"\n(no new value: {iterate.parse_error})"
    mark = ' class="best"' if best else ""
    return (
        f'<tr{mark}><td class="num">{iterate.iteration}{" ★" if best else ""}</td>'
        f'<td class="num">{iterate.score:g}</td><td>{_pre(iterate.value)}</td>'
        f"<td>{_pre(measurement)}</td><td>{_pre(iterate.critique)}</td></tr>"
    )


def _questions_section(questions: Iterable[Question]) -> str:
    rows = "".join(
        f'<tr><td class="num">{q.index}</td><td>{_e(q.answer)}</td>'
        f"<td>{_e(' '.join(v or '·' for v in q.votes))}</td><td>{_e(q.majority or '–')}</td>"
        f'<td class="num">{_pct(q.zero_shot_score)}</td>'
        f'<td class="num">{_pct(q.majority_score)}</td></tr>'
        for q in questions
    )
    if not rows:
        return ""
    return (
        '<section id="questions"><h2>Questions</h2><table><thead><tr><th>#</th><th>answer</th>'
        "<th>votes</th><th>majority</th><th>zero-shot</th><th>majority vote</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _errors_section(summary: RunSummary) -> str:
    errors: list[Error] = summary.errors
    if not errors:
        return ""
    items = "".join(
        f"<li><b>{_e(error.error_type)}</b> (step {_e(error.step)}): {_e(error.message)}</li>"
        for error in errors
    )
    return f'<section id="errors"><h2>Errors</h2><ul class="errors">{items}</ul></section>'


def _log_notice(skipped: str, repairs: list[Repair]) -> str:
    """What the reader should know about the log itself: skipped lines, repairs."""
    items = [f"<li>{_e(skipped)}.</li>"] if skipped else []
    items += [f"<li>{_e(repair.message)}</li>" for repair in repairs]
    if not items:
        return ""
    return (
        '<section id="log-notes"><h2>About the log</h2>'
        f'<ul class="errors">{"".join(items)}</ul></section>'
    )


def _footer() -> str:
    written = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<footer>Written by wordgrad {_e(wordgrad.__version__)} on {written} from the run's "
        "events.jsonl. This page is self-contained: it loads nothing from the network.</footer>"
    )


# ---------------------------------------------------------------------------- style and script

CSS = """
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f8fafc;--kept:#16a34a;--reverted:#dc2626;
--unchanged:#9ca3af;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:0 0 12px}h3{font-size:15px;margin:0 0 8px}
section,header{background:#fff;border:1px solid var(--line);border-radius:10px;padding:18px 20px;
margin-bottom:18px}
.facts{color:var(--muted);font-weight:normal;font-size:13px}
.muted{color:var(--muted);font-size:13px}
.status{display:inline-block;padding:1px 8px;border-radius:999px;background:#e5e7eb;font-weight:600}
.status.completed{background:#dcfce7;color:#166534}.status.failed{background:#fee2e2;color:#991b1b}
.status.interrupted,.status.budget{background:#fef3c7;color:#92400e}
nav{display:flex;gap:14px;align-items:center;margin-top:10px;flex-wrap:wrap}
nav a{color:var(--accent);text-decoration:none}nav a:hover{text-decoration:underline}
nav button{margin-left:auto;border:1px solid var(--line);background:#fff;border-radius:6px;
padding:3px 10px;cursor:pointer;font:inherit;font-size:12px}nav button+button{margin-left:0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;
background:none;border:none;padding:0}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:19px;font-weight:650;white-space:nowrap}
.card .sub{color:var(--muted);font-size:12px}
.plot-box{margin:0;overflow-x:auto}.plot{max-width:100%;height:auto}
.plot text{fill:#374151}.plot .grid{stroke:#e5e7eb}.plot .band{fill-opacity:.13}
.plot .line{fill:none;stroke-width:2}.plot .errorbar{stroke-width:1.5}
.plot .legend-title{font-weight:600}.plot .note{fill:var(--muted);font-size:11px}
.plot .point:hover circle{r:6}
figcaption{color:var(--muted);font-size:13px;margin-top:4px}
article.step{border-left:4px solid var(--unchanged);padding:8px 0 8px 14px;margin:0 0 18px}
article.step.kept{border-color:var(--kept)}article.step.reverted{border-color:var(--reverted)}
.update{margin:6px 0 10px}.update-head{display:flex;gap:8px;align-items:baseline;flex-wrap:wrap}
.role{font-weight:600;font-size:13px}
.update .role{font-weight:normal;color:var(--muted)}
.fate{margin:2px 0 6px;color:var(--muted);font-size:13px}
.badge{display:inline-block;padding:0 8px;border-radius:999px;font-size:12px;font-weight:700;
text-transform:uppercase;letter-spacing:.03em;color:#fff;background:var(--unchanged)}
.badge.kept{background:var(--kept)}.badge.reverted{background:var(--reverted)}
.diff,.text{white-space:pre-wrap;word-wrap:break-word;font:13px/1.55 ui-monospace,SFMono-Regular,
Menlo,Consolas,monospace}
.diff{background:#f9fafb;border:1px solid var(--line);border-radius:6px;padding:10px 12px}
.update.reverted .diff{opacity:.75;background:#fff7f7}
ins{background:#bbf7d0;color:#14532d;text-decoration:none;border-radius:2px}
del{background:#fecaca;color:#7f1d1d;text-decoration:line-through;border-radius:2px}
details.fold{margin:8px 0}details.fold>summary{cursor:pointer;color:var(--accent);font-size:13px}
ol.feedback,ol.history{padding-left:22px}ol.feedback li,ol.history li{margin:6px 0}
.step-no{display:block;color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{color:var(--muted);font-weight:600}td:first-child{white-space:nowrap}td.num,th.num{text-align:right;white-space:nowrap}
table.usage td.tokens{min-width:90px}
.bar{display:block;height:4px;background:var(--accent);opacity:.45;border-radius:2px;margin-left:auto}
tr.total td{font-weight:700;border-top:2px solid var(--ink)}
.two{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:20px}
.two>div{overflow-x:auto}
@media (max-width:900px){.two{grid-template-columns:1fr}}
.graph{overflow:auto;max-height:720px;border:1px solid var(--line);border-radius:6px;padding:8px;
background:#fff}
.graph svg{max-width:100%;height:auto}
table.examples{table-layout:fixed}table.examples .text{max-height:220px;overflow:auto}
table.examples td:first-child,table.examples th:first-child{width:72px}
.val-changes{font-size:13px;margin:4px 0}b.won{color:var(--kept)}b.lost{color:var(--reverted)}
tr.best td{background:#f0fdf4}article.instance{margin:0 0 10px}
.compare td{width:45%}
ul.errors li{color:#991b1b}ul.parse-errors{color:#92400e;font-size:13px}
footer{color:var(--muted);font-size:12px;text-align:center}
"""

SCRIPT = """
document.querySelectorAll("button[data-fold]").forEach(function (button) {
  button.addEventListener("click", function () {
    var open = button.getAttribute("data-fold") === "open";
    document.querySelectorAll("details.fold").forEach(function (d) { d.open = open; });
  });
});
"""
