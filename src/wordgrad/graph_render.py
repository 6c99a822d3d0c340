"""Computation graphs as SVG pictures, with Graphviz when it is installed and without it.

:func:`render_graph_svg` takes DOT text (what :func:`wordgrad.graph.to_dot` writes) or a
:class:`~wordgrad.graph.GraphPicture`. When the Graphviz ``dot`` program is on ``PATH`` it does
the layout (a subprocess with a time-out); otherwise, or when ``dot`` fails, a small layered
layout drawn here in pure Python gives a plainer picture of the same boxes and arrows. So a
report or a notebook always has a picture, and a better one when Graphviz is there.

:class:`GraphSVG` wraps a picture for Jupyter (``_repr_svg_``) and keeps the DOT text in
``.source``, like ``graphviz.Source`` does.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wordgrad.graph import GraphPicture, to_dot

DOT_TIMEOUT_S = 30.0

# ---------------------------------------------------------------------------- entry points


def dot_available() -> bool:
    """True when the Graphviz ``dot`` program is on ``PATH``."""
    return shutil.which("dot") is not None


def render_graph_svg(graph: str | GraphPicture, *, use_dot: bool | None = None) -> str:
    """An SVG picture (an ``<svg>`` element, no XML prolog) of ``graph``.

    Args:
        graph: DOT text or a :class:`GraphPicture`.
        use_dot: ``None`` (default) uses Graphviz when ``dot`` is on ``PATH``; ``False`` always
            draws with the built-in layout.
    """
    if use_dot is not False and dot_available():
        try:
            return dot_to_svg(graph if isinstance(graph, str) else picture_to_dot(graph))
        except (OSError, subprocess.SubprocessError):
            pass  # a broken or slow Graphviz still leaves the built-in picture
    picture = graph if isinstance(graph, GraphPicture) else parse_dot(graph)
    return layout_svg(picture)


def dot_to_svg(dot: str, timeout: float = DOT_TIMEOUT_S) -> str:
    """DOT text rendered by Graphviz's ``dot -Tsvg``, without its XML prolog and doctype.

    Raises ``OSError`` when ``dot`` is missing, ``subprocess.SubprocessError`` when it fails or
    takes longer than ``timeout`` seconds.
    """
    done = subprocess.run(
        ["dot", "-Tsvg"],
        input=dot.encode("utf-8"),
        capture_output=True,
        timeout=timeout,
        check=True,
    )
    svg = done.stdout.decode("utf-8")
    return svg[svg.index("<svg") :]


@dataclass(frozen=True)
class GraphSVG:
    """A rendered graph: Jupyter shows it inline; ``source`` is the DOT text, ``svg`` the picture.

    ``Variable.generate_graph()`` returns one when Graphviz (package or program) is missing.
    """

    source: str
    svg: str

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str) -> str:
        """Write the SVG to ``path`` (returns ``path``)."""
        with open(path, "w", encoding="utf-8") as file:
            file.write(self.svg)
        return path


# ---------------------------------------------------------------------------- DOT in and out


class _PictureNode:
    """A node of a :class:`GraphPicture`, shaped like a variable for :func:`to_dot`."""

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        self.rows = rows
        self.predecessors: list[_PictureNode] = []

    def _describe(self, print_gradients: bool) -> list[tuple[str, str]]:
        return self.rows


def picture_to_dot(picture: GraphPicture) -> str:
    """DOT text of a picture, written by :func:`wordgrad.graph.to_dot` itself.

    A picture is taken from one root, which comes last; the nodes it reaches are written.
    """
    nodes = {node_id: _PictureNode(rows) for node_id, rows in picture.nodes}
    for source, target in picture.edges:
        nodes[target].predecessors.append(nodes[source])
    if not nodes:
        return "digraph wordgrad {\n}"
    return to_dot(list(nodes.values())[-1])


_NODE = re.compile(r"^\s*(\w+)\s*\[label=(<.*>|\"(?:[^\"\\]|\\.)*\")\s*\];?\s*$")
_EDGE = re.compile(r"^\s*(\w+)\s*->\s*(\w+)")
_CELL = re.compile(r"<TD[^>]*>(.*?)</TD>", re.IGNORECASE | re.DOTALL)
_HEADED = re.compile(r"^<B>(.*?)</B>:\s*(.*)$", re.DOTALL)


def parse_dot(dot: str) -> GraphPicture:
    """The nodes and edges of DOT text as written by :func:`wordgrad.graph.to_dot`.

    Only that simple form is read (one node or edge per line; HTML-table or quoted labels);
    nodes that appear only in edges get their id as label.
    """
    nodes: dict[str, list[tuple[str, str]]] = {}
    edges: list[tuple[str, str]] = []
    for line in dot.splitlines():
        if edge := _EDGE.match(line):
            source, target = edge.groups()
            edges.append((source, target))
            for node_id in (source, target):
                nodes.setdefault(node_id, [("", node_id)])
        elif node := _NODE.match(line):
            nodes[node.group(1)] = _label_rows(node.group(2))
    return GraphPicture(list(nodes.items()), edges)


def _label_rows(label: str) -> list[tuple[str, str]]:
    if label.startswith('"'):
        return [("", label[1:-1].replace('\\"', '"').replace("\\n", " "))]
    rows = []
    for cell in _CELL.findall(label):
        text = cell.replace("<BR/>", " ")
        headed = _HEADED.match(text)
        heading, body = headed.groups() if headed else ("", text)
        rows.append((html.unescape(heading), html.unescape(re.sub(r"<[^>]+>", "", body))))
    return rows


# ---------------------------------------------------------------------------- built-in layout

BOX_WIDTH = 280
CHARS_PER_LINE = 42
MAX_LINES_PER_ROW = 5
LINE_HEIGHT = 15
PADDING = 8
GAP_X = 36
GAP_Y = 54
MARGIN = 12


@dataclass
class _Box:
    node_id: str
    lines: list[tuple[str, str]]  # (heading or "", text) per drawn line
    layer: int = 0
    x: float = 0.0
    y: float = 0.0

    @property
    def height(self) -> float:
        return len(self.lines) * LINE_HEIGHT + 2 * PADDING


def layout_svg(picture: GraphPicture) -> str:
    """Boxes in layers (inputs on top, each node below everything it is computed from) joined
    by arrows: a dependency-free picture for when Graphviz is not installed."""
    boxes = {node_id: _Box(node_id, _box_lines(rows)) for node_id, rows in picture.nodes}
    for node_id, _ in picture.nodes:  # nodes come predecessors first
        for source, target in picture.edges:
            if target == node_id and source in boxes:
                boxes[target].layer = max(boxes[target].layer, boxes[source].layer + 1)
    layers: dict[int, list[_Box]] = {}
    for box in boxes.values():
        layers.setdefault(box.layer, []).append(box)
    width = max((len(row) for row in layers.values()), default=1) * (BOX_WIDTH + GAP_X) - GAP_X
    y = float(MARGIN)
    for index in sorted(layers):
        row = layers[index]
        row_width = len(row) * (BOX_WIDTH + GAP_X) - GAP_X
        for position, box in enumerate(row):
            box.x = MARGIN + (width - row_width) / 2 + position * (BOX_WIDTH + GAP_X)
            box.y = y
        y += max(box.height for box in row) + GAP_Y
    total_width = width + 2 * MARGIN
    total_height = y - GAP_Y + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="wordgrad-graph" '
        f'width="{total_width:.0f}" height="{total_height:.0f}" '
        f'viewBox="0 0 {total_width:.0f} {total_height:.0f}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="11">',
        '<defs><marker id="wg-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    ]
    parts.extend(_arrow(boxes[s], boxes[t]) for s, t in picture.edges if s in boxes and t in boxes)
    parts.extend(_box_svg(box) for box in boxes.values())
    parts.append("</svg>")
    return "\n".join(parts)


def _box_lines(rows: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for heading, text in rows:
        prefix = f"{heading}: " if heading else ""
        wrapped = textwrap.wrap(prefix + " ".join(text.split()), CHARS_PER_LINE) or [prefix]
        if len(wrapped) > MAX_LINES_PER_ROW:
            wrapped = [*wrapped[: MAX_LINES_PER_ROW - 1], wrapped[MAX_LINES_PER_ROW - 1] + " …"]
        lines.append((heading, wrapped[0][len(prefix) :] if heading else wrapped[0]))
        lines.extend(("", line) for line in wrapped[1:])
    return lines


def _box_svg(box: _Box) -> str:
    texts = []
    for index, (heading, text) in enumerate(box.lines):
        y = box.y + PADDING + (index + 1) * LINE_HEIGHT - 4
        bold = f'<tspan font-weight="bold">{html.escape(heading)}: </tspan>' if heading else ""
        texts.append(
            f'<text x="{box.x + PADDING:.1f}" y="{y:.1f}">{bold}{html.escape(text)}</text>'
        )
    title = html.escape(" | ".join(text for _, text in box.lines))
    return (
        f'<g class="node" id="{html.escape(box.node_id)}"><title>{title}</title>'
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{BOX_WIDTH}" height="{box.height:.1f}" '
        'rx="4" fill="#fff" stroke="#333"/>' + "".join(texts) + "</g>"
    )


def _arrow(source: _Box, target: _Box) -> str:
    x1, y1 = source.x + BOX_WIDTH / 2, source.y + source.height
    x2, y2 = target.x + BOX_WIDTH / 2, target.y
    bend = (y2 - y1) / 2
    return (
        f'<path class="edge" d="M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} '
        f'{x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2:.1f}" fill="none" stroke="#555" '
        'marker-end="url(#wg-arrow)"/>'
    )


def graph_svg_object(dot: str, picture: GraphPicture | None = None) -> Any:
    """A ``graphviz.Source`` of ``dot`` when the graphviz package and ``dot`` exist, else a
    :class:`GraphSVG` (drawn by ``dot`` if only the package is missing, else by the built-in
    layout from ``picture``, or from ``dot`` parsed back)."""
    if dot_available():
        try:
            import graphviz
        except ImportError:
            pass
        else:
            return graphviz.Source(dot)
    return GraphSVG(dot, render_graph_svg(dot if picture is None else picture))
