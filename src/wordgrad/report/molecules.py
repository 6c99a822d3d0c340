"""The report's section for molecule runs: affinity and QED over iterations, and every molecule.

For each trajectory (one target, one starting molecule): two inline SVG line charts, the Vina
docking score (kcal/mol, lower binds more strongly) and QED (0..1, higher is more drug-like),
over iterations, with the known binders given to the run (``references``, docked with the same
settings) as dashed lines; then a drawing of each molecule by RDKit, with its numbers. A SMILES
RDKit cannot read is shown with RDKit's reason. Without RDKit installed, the drawings give way to
the SMILES text.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wordgrad.errors import WordgradError
from wordgrad.science.molecules import molecule_svg
from wordgrad.train.events import Iterate, RunEnd, RunStart, read_events

KIND = "molecule"
WIDTH, HEIGHT = 500, 240
LEFT, RIGHT, TOP, BOTTOM = 54, 16, 28, 40
LINE, REFERENCE = "#2563eb", "#ea580c"
_XML_HEADER = re.compile(r"<\?xml[^>]*\?>\s*")
_XMLNS = re.compile(r"\s+xmlns(:\w+)?='[^']*'")


def _e(text: object) -> str:
    return html.escape(str(text))


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def molecule_section(run_dir: str | Path) -> str:
    """The section's HTML for a molecule run in ``run_dir`` ("" for any other kind of run)."""
    events = read_events(run_dir)
    start = next((e for e in events if isinstance(e, RunStart)), None)
    if start is None or start.kind != KIND:
        return ""
    end = next((e for e in reversed(events) if isinstance(e, RunEnd)), None)
    references = list(((end.results or {}) if end else {}).get("references", []))
    by_instance: dict[str, list[Iterate]] = {}
    for event in events:
        if isinstance(event, Iterate):
            by_instance.setdefault(event.instance, []).append(event)
    if not by_instance:
        return (
            '<section id="molecules"><h2>Molecules</h2><p class="muted">No molecule has been '
            "measured yet.</p></section>"
        )
    blocks = [
        _trajectory(name, sorted(points, key=lambda p: p.iteration), references)
        for name, points in by_instance.items()
    ]
    return (
        f'<section id="molecules"><style>{CSS}</style><h2>Molecules</h2>'
        '<p class="muted">Vina docking score in kcal/mol (AutoDock Vina against the DOCKSTRING '
        "target; more negative binds more strongly) and QED drug-likeness (RDKit; 0 to 1, higher "
        "is more drug-like) of each molecule, in the order the optimizer proposed them.</p>"
        + "".join(blocks)
        + "</section>"
    )


def _trajectory(
    name: str, points: Sequence[Iterate], references: Sequence[Mapping[str, Any]]
) -> str:
    target = next((str(p.details["target"]) for p in points if p.details.get("target")), name)
    known = [r for r in references if r.get("target") == target]
    vina = [(p.iteration, _number(p.details.get("vina_score"))) for p in points]
    qed = [(p.iteration, _number(p.details.get("qed"))) for p in points]
    lines = [
        (f"reference {k + 1}", value)
        for k, r in enumerate(known)
        if (value := _number(r.get("vina_score"))) is not None
    ]
    qed_lines = [
        (f"reference {k + 1}", value)
        for k, r in enumerate(known)
        if (value := _number(r.get("qed"))) is not None
    ]
    charts = (
        '<div class="mol-charts">'
        + line_chart(vina, "Vina score (kcal/mol), lower is better", lines)
        + line_chart(qed, "QED, higher is better", qed_lines, low=0.0, high=1.0)
        + "</div>"
    )
    cards = "".join(_card(point) for point in points)
    reference_cards = "".join(_reference_card(k, r) for k, r in enumerate(known))
    return (
        f'<div class="mol-trajectory" id="molecules-{_e(name)}"><h3>{_e(name)} '
        f'<span class="facts">target {_e(target)} · {len(points)} molecules</span></h3>'
        f"{_standing(points, known)}{charts}"
        f'<div class="mol-grid">{cards}</div>'
        + (
            f'<h4>Known binders (docked with the same settings)</h4><div class="mol-grid">'
            f"{reference_cards}</div>"
            if reference_cards
            else '<p class="muted">No known binders were given to compare with (DOCKSTRING\'s '
            "package ships none; pass their SMILES with --reference or "
            "MoleculeOptimizationConfig(references=...)).</p>"
        )
        + "</div>"
    )


def _standing(points: Sequence[Iterate], known: Sequence[Mapping[str, Any]]) -> str:
    """One sentence: the best docking score of the trajectory against the known binders'."""
    docked = [(v, p) for p in points if (v := _number(p.details.get("vina_score"))) is not None]
    if not docked:
        return '<p class="muted">No molecule of this trajectory was docked.</p>'
    best, point = min(docked, key=lambda item: (item[0], item[1].iteration))
    text = f"Best docking score {best:.2f} kcal/mol, at iteration {point.iteration}"
    scores = [v for r in known if (v := _number(r.get("vina_score"))) is not None]
    if scores:
        better = sum(best < s for s in scores)
        text += (
            f"; it binds more strongly than {better} of the {len(scores)} known binders "
            f"(best of them {min(scores):.2f} kcal/mol)"
        )
    return f'<p class="mol-standing">{_e(text)}.</p>'


def _drawing(smiles: str) -> str:
    try:
        svg = molecule_svg(smiles, 220, 160)
    except WordgradError:  # not a molecule RDKit reads, or RDKit is missing
        return ""
    return _XMLNS.sub("", _XML_HEADER.sub("", svg)).replace("<svg ", '<svg class="mol-svg" ', 1)


def _card(point: Iterate) -> str:
    details = point.details
    valid = bool(details.get("valid"))
    vina, qed = _number(details.get("vina_score")), _number(details.get("qed"))
    facts = []
    if vina is not None:
        facts.append(f"Vina {vina:.2f} kcal/mol")
    elif valid:
        facts.append(
            f"not docked: {details.get('docking_message') or details.get('docking_status')}"
        )
    if qed is not None:
        facts.append(f"QED {qed:.3f}")
    drawing = _drawing(point.value) if valid else ""
    if not valid:
        drawing = (
            '<div class="mol-invalid">RDKit cannot read this SMILES:<br>'
            f"{_e(details.get('error', point.feedback))}</div>"
        )
    elif not drawing:
        drawing = '<div class="mol-invalid">(no drawing: RDKit is not installed)</div>'
    return (
        f'<figure class="mol-card{"" if valid else " invalid"}">{drawing}'
        f"<figcaption><b>iteration {point.iteration}</b><br>"
        f'<code class="smiles">{_e(point.value)}</code><br>{_e(" · ".join(facts))}'
        "</figcaption></figure>"
    )


def _reference_card(index: int, reference: Mapping[str, Any]) -> str:
    smiles = str(reference.get("smiles", ""))
    vina, qed = _number(reference.get("vina_score")), _number(reference.get("qed"))
    facts = [f"Vina {vina:.2f} kcal/mol" if vina is not None else "not docked"]
    facts += [f"QED {qed:.3f}"] if qed is not None else []
    return (
        f'<figure class="mol-card reference">{_drawing(smiles)}'
        f"<figcaption><b>reference {index + 1}</b><br>"
        f'<code class="smiles">{_e(smiles)}</code><br>{_e(" · ".join(facts))}'
        "</figcaption></figure>"
    )


def line_chart(
    points: Sequence[tuple[int, float | None]],
    title: str,
    references: Sequence[tuple[str, float]] = (),
    *,
    low: float | None = None,
    high: float | None = None,
) -> str:
    """A small SVG line chart of ``(iteration, value)``; ``None`` values are gaps (hollow marks
    on the axis); ``references`` are dashed horizontal lines with their labels."""
    values = [v for _, v in points if v is not None] + [v for _, v in references]
    lo = low if low is not None else min(values, default=0.0)
    hi = high if high is not None else max(values, default=1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    margin = 0.0 if low is not None and high is not None else 0.08 * (hi - lo)
    lo, hi = lo - margin, hi + margin
    x_max = max((x for x, _ in points), default=1) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + plot_w * (x + 0.3) / (x_max + 0.6)

    def sy(y: float) -> float:
        return TOP + plot_h * (1 - (y - lo) / (hi - lo))

    parts = [
        f'<svg class="mol-plot" role="img" aria-label="{_e(title)}" viewBox="0 0 {WIDTH} '
        f'{HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-size="12">',
        f'<text x="{LEFT}" y="16" class="mol-plot-title">{_e(title)}</text>',
    ]
    for k in range(5):
        tick = lo + (hi - lo) * k / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{sy(tick):.1f}" '
            f'y2="{sy(tick):.1f}"/><text x="{LEFT - 6}" y="{sy(tick) + 4:.1f}" '
            f'text-anchor="end">{tick:.2f}</text>'
        )
    for x, _ in points:
        parts.append(
            f'<text x="{sx(x):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{x}</text>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">iteration</text>'
    )
    for label, value in references:
        parts.append(
            f'<line class="reference" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{sy(value):.1f}" '
            f'y2="{sy(value):.1f}" stroke="{REFERENCE}" stroke-dasharray="5 4"/>'
            f'<text x="{WIDTH - RIGHT - 4}" y="{sy(value) - 4:.1f}" text-anchor="end" '
            f'fill="{REFERENCE}">{_e(label)} {value:.2f}</text>'
        )
    segment: list[str] = []
    paths: list[str] = []
    for x, y in points:
        if y is None:
            if len(segment) > 1:
                paths.append(" ".join(segment))
            segment = []
            continue
        segment.append(f"{'M' if not segment else 'L'}{sx(x):.1f},{sy(y):.1f}")
    if len(segment) > 1:
        paths.append(" ".join(segment))
    parts += [f'<path class="line" d="{d}" stroke="{LINE}"/>' for d in paths]
    for x, y in points:
        if y is None:
            parts.append(
                f'<g class="point missing"><circle cx="{sx(x):.1f}" cy="{TOP + plot_h:.1f}" r="4" '
                f'fill="#fff" stroke="#dc2626"/><title>iteration {x}: not measured</title></g>'
            )
        else:
            parts.append(
                f'<g class="point"><circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" '
                f'fill="{LINE}"/><title>iteration {x}: {y:.3f}</title></g>'
            )
    parts.append("</svg>")
    return "".join(parts)


CSS = """
.mol-charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px;
margin:8px 0}
.mol-plot{max-width:100%;height:auto;background:#fff}.mol-plot text{fill:#374151}
.mol-plot .grid{stroke:#e5e7eb}.mol-plot .line{fill:none;stroke-width:2}
.mol-plot-title{font-weight:600}
.mol-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:10px;
margin:8px 0 14px}
.mol-card{margin:0;border:1px solid var(--line);border-radius:8px;padding:6px;background:#fff}
.mol-card.invalid{border-color:#fca5a5;background:#fff7f7}
.mol-card.reference{border-color:#fdba74}
.mol-card .mol-svg{width:100%;height:auto;display:block}
.mol-card figcaption{font-size:12px;color:var(--ink)}
.mol-card code.smiles{word-break:break-all;font-size:11px;color:var(--muted)}
.mol-invalid{min-height:120px;display:flex;align-items:center;justify-content:center;
text-align:center;color:#991b1b;font-size:12px;padding:6px}
.mol-standing{font-weight:600}
"""
