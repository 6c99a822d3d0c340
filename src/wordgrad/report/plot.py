"""The accuracy plot: an inline SVG drawn here, so the report needs no plotting library or CDN.

Each split is a line through its evaluations with the 95% interval as a band and error bars.
A validation of a proposal that was reverted is drawn hollow and red, off the line: the prompt
in use did not change. Ticks along the bottom show each step's decision.
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Callable, Mapping, Sequence

from wordgrad.report.model import Point

WIDTH, HEIGHT = 1040, 340
LEFT, RIGHT, TOP, BOTTOM = 52, 180, 16, 44
PAD_X = 0.25  # steps of room at each end, so points at step 0 clear the axis
COLORS = {"val": "#2563eb", "test": "#ea580c", "train": "#16a34a"}
OTHER_COLORS = ("#7c3aed", "#0891b2", "#be185d", "#4d7c0f")
DECISION_COLORS = {"kept": "#16a34a", "reverted": "#dc2626", "unchanged": "#9ca3af"}
REJECTED = "#dc2626"

_Scale = Callable[[float], float]


def accuracy_plot(
    series: Mapping[str, Sequence[Point]], decisions: Mapping[int, str], last_step: int
) -> str:
    """The plot as an ``<svg>`` element.

    Args:
        series: split name → its points.
        decisions: step → "kept" / "reverted" / "unchanged" (the ticks along the x axis).
        last_step: the right end of the x axis.
    """
    x_max = max(last_step, max((p.x for ps in series.values() for p in ps), default=0), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + plot_w * (x + PAD_X) / (x_max + 2 * PAD_X)

    def sy(y: float) -> float:
        return TOP + plot_h * (1 - min(max(y, 0.0), 1.0))

    parts = [
        f'<svg class="plot" role="img" aria-label="accuracy over steps" viewBox="0 0 {WIDTH} '
        f'{HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-size="12">',
        *_axes(x_max, sx, sy),
        *_decision_ticks(decisions, sx, sy(0)),
    ]
    names = list(series)
    legend: list[tuple[str, str]] = []
    for index, name in enumerate(names):
        color = COLORS.get(name) or OTHER_COLORS[index % len(OTHER_COLORS)]
        shift = (index - (len(names) - 1) / 2) * 5  # side by side where splits share a step
        parts.extend(_series(name, series[name], color, functools.partial(_shifted, sx, shift), sy))
        legend.append((name, color))
    rejected = any(p.rejected for ps in series.values() for p in ps)
    parts.extend(_legend(legend, rejected, bool(decisions)))
    parts.append("</svg>")
    return "\n".join(parts)


def _shifted(scale: _Scale, pixels: float, x: float) -> float:
    return scale(x) + pixels


def _axes(x_max: int, sx: _Scale, sy: _Scale) -> list[str]:
    parts = []
    for tenth in range(0, 11, 2):
        y = sy(tenth / 10)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{tenth * 10}%</text>'
        )
    every = max(1, math.ceil(x_max / 12))
    for x in range(0, x_max + 1, every):
        parts.append(
            f'<text x="{sx(x):.1f}" y="{HEIGHT - BOTTOM + 30}" text-anchor="middle">{x}</text>'
        )
    parts.append(
        f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2:.1f}" y="{HEIGHT - 2}" '
        'text-anchor="middle" class="axis-title">step</text>'
    )
    return parts


def _decision_ticks(decisions: Mapping[int, str], sx: _Scale, base: float) -> list[str]:
    return [
        f'<rect class="decision" x="{sx(step) - 3:.1f}" y="{base + 4:.1f}" width="6" height="8" '
        f'fill="{DECISION_COLORS.get(decision, "#9ca3af")}"><title>step {step}: '
        f"{html.escape(decision)}</title></rect>"
        for step, decision in sorted(decisions.items())
    ]


def _series(name: str, points: Sequence[Point], color: str, sx: _Scale, sy: _Scale) -> list[str]:
    on_line = sorted((p for p in points if not p.rejected), key=lambda p: p.x)
    # Validated after steps: the text in use keeps its accuracy until an update is kept, so the
    # line holds its level and then steps; a series measured only now and then is joined straight.
    stepped = any(p.label.startswith("step ") for p in points)
    parts = []
    if len(on_line) > 1:
        upper = _path([(p.x, p.ci_high) for p in on_line], stepped, sx, sy)
        lower = _path([(p.x, p.ci_low) for p in on_line], stepped, sx, sy, backwards=True)
        parts.append(f'<polygon class="band" points="{upper} {lower}" fill="{color}"/>')
        line = _path([(p.x, p.accuracy) for p in on_line], stepped, sx, sy)
        parts.append(f'<polyline class="line" points="{line}" stroke="{color}"/>')
    for point in points:
        x = sx(point.x)
        stroke = REJECTED if point.rejected else color
        fill = "#fff" if point.rejected else color
        title = (
            f"{name}, {point.label}: {point.accuracy:.1%} "
            f"[{point.ci_low:.1%}, {point.ci_high:.1%}], n={point.n}"
            + (" (proposal reverted)" if point.rejected else "")
        )
        parts.append(
            f'<g class="point"><title>{html.escape(title)}</title>'
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{sy(point.ci_low):.1f}" '
            f'y2="{sy(point.ci_high):.1f}" stroke="{stroke}" class="errorbar"/>'
            f'<circle cx="{x:.1f}" cy="{sy(point.accuracy):.1f}" r="4.5" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="2"/></g>'
        )
    return parts


def _path(
    xy: list[tuple[float, float]], stepped: bool, sx: _Scale, sy: _Scale, backwards: bool = False
) -> str:
    """SVG points through ``xy`` (``stepped``: each level holds until the next x), listed from
    the right end when ``backwards`` (the lower edge of a band)."""
    corners: list[tuple[float, float]] = []
    for x, y in xy:
        if stepped and corners:
            corners.append((x, corners[-1][1]))
        corners.append((x, y))
    ordered = reversed(corners) if backwards else corners
    return " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in ordered)


def _legend(entries: list[tuple[str, str]], rejected: bool, decisions: bool) -> list[str]:
    x, y = WIDTH - RIGHT + 20, TOP + 8
    parts = []
    for name, color in entries:
        parts.append(
            f'<rect x="{x}" y="{y - 9}" width="14" height="10" fill="{color}" opacity="0.3"/>'
            f'<line x1="{x}" x2="{x + 14}" y1="{y - 4}" y2="{y - 4}" stroke="{color}" '
            f'stroke-width="2"/><text x="{x + 20}" y="{y}">{html.escape(name)}</text>'
        )
        y += 20
    if rejected:
        parts.append(
            f'<circle cx="{x + 7}" cy="{y - 4}" r="4.5" fill="#fff" stroke="{REJECTED}" '
            f'stroke-width="2"/><text x="{x + 20}" y="{y}">reverted proposal</text>'
        )
        y += 20
    if decisions:
        parts.append(f'<text x="{x}" y="{y + 6}" class="legend-title">step decisions</text>')
    for decision, color in DECISION_COLORS.items() if decisions else ():
        y += 18
        parts.append(
            f'<rect x="{x + 4}" y="{y - 8}" width="6" height="8" fill="{color}"/>'
            f'<text x="{x + 20}" y="{y}">{decision}</text>'
        )
    parts.append(
        f'<text x="{x}" y="{HEIGHT - BOTTOM + 12}" class="note">bands and bars: 95% CI</text>'
    )
    return parts
