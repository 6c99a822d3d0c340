"""The report's treatment-plan section: weights and dose-volume metrics per iteration, and the
dose-volume histograms (DVH) of the first, best and last plans as inline SVG.

It reads the ``iterate`` events of a plan run (their ``details["plan"]``, written by
:func:`wordgrad.train.plan_optimization.plan_measure`); other runs have none, and the section
is left out.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from wordgrad.train.events import Event, Iterate

WIDTH, HEIGHT = 520, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 120, 14, 40
COLORS = ("#dc2626", "#2563eb", "#a16207", "#16a34a", "#7c3aed", "#0891b2")

CSS = """
.dvh-row{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:14px}
.dvh{max-width:100%;height:auto}.dvh text{fill:#374151}.dvh .grid{stroke:#e5e7eb}
.dvh .curve{fill:none;stroke-width:2}.dvh .rx{stroke:#6b7280;stroke-dasharray:4 3}
table.plans td.missed{color:#991b1b;font-weight:600}table.plans tr.best td{background:#f0fdf4}
"""


def plan_iterates(events: Iterable[Event]) -> list[Iterate]:
    """The ``iterate`` events of a plan run, in order (those holding a plan or a weights error)."""
    return [
        event
        for event in events
        if isinstance(event, Iterate)
        and ("plan" in event.details or "weights_error" in event.details)
    ]


def plan_section(events: Iterable[Event]) -> str:
    """The section's HTML, or "" when the run holds no plans."""
    iterates = plan_iterates(events)
    plans = [(it, it.details.get("plan")) for it in iterates]
    measured = [(it, plan) for it, plan in plans if isinstance(plan, Mapping)]
    if not measured:
        return ""
    best = max(measured, key=lambda pair: (pair[0].score, -pair[0].iteration))[0]
    table = _table(plans, best)
    chosen = [("first plan", measured[0]), ("best plan", (best, best.details["plan"]))]
    chosen.append(("last plan", measured[-1]))
    figures = "".join(
        f'<figure class="plot-box"><figcaption>{_e(label)} (iteration {it.iteration}, score '
        f"{it.score:.3f})</figcaption>{dvh_svg(plan, label)}</figure>"
        for label, (it, plan) in chosen
    )
    return (
        f'<section id="plans"><style>{CSS}</style><h2>Treatment plans</h2>'
        '<p class="muted">Each iteration\'s weights, the fluence pyRadPlan optimized with them, '
        "and the plan's dose-volume metrics (Dx: dose to the hottest x % of the volume; Vx: "
        "percent of the volume receiving at least x Gy, or x % of the prescription). Missed "
        "goals are red; the best plan is shaded.</p>"
        f'{table}<h3>Dose-volume histograms</h3><div class="dvh-row">{figures}</div>'
        '<p class="muted">Cumulative DVH: the percentage of each structure receiving at least '
        "the dose on the x axis; the dashed line is the prescription.</p></section>"
    )


def _e(text: object) -> str:
    return html.escape(str(text))


def _table(plans: Sequence[tuple[Iterate, Any]], best: Iterate) -> str:
    measured = [plan for _, plan in plans if isinstance(plan, Mapping)]
    weight_names = list(dict.fromkeys(n for plan in measured for n in plan["weights"]))
    columns = list(
        dict.fromkeys(
            (structure, metric)
            for plan in measured
            for structure, metrics in plan["metrics"].items()
            for metric in metrics
        )
    )
    head = (
        "<tr><th>iteration</th>"
        + "".join(f"<th>w {_e(n)}</th>" for n in weight_names)
        + "<th>score</th><th>goals met</th>"
        + "".join(f"<th>{_e(s)} {_e(m)}</th>" for s, m in columns)
        + "</tr>"
    )
    rows = []
    for iterate, plan in plans:
        css = ' class="best"' if iterate is best else ""
        if not isinstance(plan, Mapping):
            error = iterate.details.get("weights_error", "")
            rows.append(
                f'<tr{css}><td class="num">{iterate.iteration}</td>'
                f'<td colspan="{len(weight_names) + 2 + len(columns)}" class="missed">'
                f"weights not readable, no plan: {_e(error)}</td></tr>"
            )
            continue
        missed = {(g["structure"], g["metric"]) for g in plan["goals"] if not g["met"]}
        cells = "".join(f'<td class="num">{plan["weights"].get(n, 0):g}</td>' for n in weight_names)
        cells += f'<td class="num">{iterate.score:.3f}</td>'
        cells += f'<td class="num">{plan["goals_met"]} / {len(plan["goals"])}</td>'
        for structure, metric in columns:
            value = plan["metrics"].get(structure, {}).get(metric)
            unit = "%" if metric.startswith("V") else "Gy"
            flag = ' class="num missed"' if (structure, metric) in missed else ' class="num"'
            cells += f"<td{flag}>" + ("–" if value is None else f"{value:.1f} {unit}") + "</td>"
        rows.append(f'<tr{css}><td class="num">{iterate.iteration}</td>{cells}</tr>')
    return (
        f'<div style="overflow-x:auto"><table class="plans"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def dvh_svg(plan: Mapping[str, Any], label: str) -> str:
    """One plan's cumulative DVH (every structure) as an ``<svg class="dvh">``."""
    dvh = plan.get("dvh", {})
    doses: list[float] = list(dvh.get("dose_gy", []))
    curves: Mapping[str, list[float]] = dvh.get("volume_pct", {})
    top = max(doses, default=1.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + plot_w * x / top

    def sy(y: float) -> float:
        return TOP + plot_h * (1 - y / 100)

    parts = [
        f'<svg class="dvh" role="img" aria-label="{_e(label)} dose-volume histogram" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-size="11">'
    ]
    for percent in range(0, 101, 20):
        y = sy(percent)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{percent}%</text>'
        )
    step = 10 if top > 40 else 5
    for gy in range(0, int(top) + 1, step):
        parts.append(
            f'<text x="{sx(gy):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{gy}</text>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 4}" text-anchor="middle">dose (Gy)</text>'
    )
    rx = float(plan.get("prescription_gy", 0.0))
    if 0 < rx <= top:
        parts.append(
            f'<line class="rx" x1="{sx(rx):.1f}" x2="{sx(rx):.1f}" y1="{TOP}" '
            f'y2="{TOP + plot_h}"><title>prescription {rx:g} Gy</title></line>'
        )
    for index, (structure, volumes) in enumerate(curves.items()):
        color = COLORS[index % len(COLORS)]
        points = " ".join(f"{sx(d):.1f},{sy(v):.1f}" for d, v in zip(doses, volumes))
        y = TOP + 10 + 18 * index
        parts.append(
            f'<polyline class="curve" points="{points}" stroke="{color}">'
            f"<title>{_e(structure)}</title></polyline>"
            f'<line x1="{WIDTH - RIGHT + 12}" x2="{WIDTH - RIGHT + 28}" y1="{y - 4}" '
            f'y2="{y - 4}" stroke="{color}" stroke-width="2"/>'
            f'<text x="{WIDTH - RIGHT + 34}" y="{y}">{_e(structure)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
