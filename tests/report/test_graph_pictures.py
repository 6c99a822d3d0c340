"""Graph pictures: Graphviz when it is installed, the built-in layout when it is not."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import wordgrad as tg
from wordgrad.graph import picture
from wordgrad.graph_render import (
    GraphSVG,
    dot_available,
    layout_svg,
    parse_dot,
    picture_to_dot,
    render_graph_svg,
)

needs_dot = pytest.mark.skipif(
    not dot_available(), reason="Graphviz's dot is not installed (scripts/install-system-deps.sh)"
)


def diamond() -> tg.Variable:
    """A prompt used by two joins that meet again: two layers below the inputs."""
    prompt = tg.Variable("Be brief & <exact>.", role_description="system prompt")
    a = tg.Variable("first question", role_description="question", requires_grad=False)
    b = tg.Variable("second question", role_description="question", requires_grad=False)
    return tg.sum([prompt + a, prompt + b])


@pytest.fixture
def no_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert not dot_available()


def test_dot_text_reads_back_into_the_same_picture() -> None:
    root = diamond()
    read = parse_dot(root.to_dot())
    expected = picture(root)
    assert read.edges == expected.edges
    for (read_id, read_rows), (node_id, rows) in zip(read.nodes, expected.nodes, strict=True):
        assert read_id == node_id
        assert [(h, " ".join(t.split())) for h, t in read_rows] == [
            (h, " ".join(t.split())) for h, t in rows
        ]


def test_a_picture_gives_the_dot_text_of_its_graph() -> None:
    root = diamond()
    assert picture_to_dot(picture(root)) == root.to_dot()


def test_the_built_in_layout_draws_every_box_and_arrow_in_layers() -> None:
    svg = layout_svg(picture(diamond()))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="node"') == 6 and svg.count('class="edge"') == 6
    assert "Be brief &amp; &lt;exact&gt;." in svg  # escaped
    top = {
        node: float(y)
        for node, y in re.findall(
            r'id="(v\d)"><title>.*?</title><rect x="[\d.]+" y="([\d.]+)"', svg
        )
    }
    # inputs v0 (prompt), v1, v3 (questions); joins v2, v4; their sum v5
    assert top["v0"] == top["v1"] == top["v3"] < top["v2"] == top["v4"] < top["v5"]


@pytest.mark.usefixtures("no_dot")
def test_without_dot_variables_draw_themselves() -> None:
    root = diamond()
    assert 'class="wordgrad-graph"' in root.to_svg()
    shown = root.generate_graph()
    assert isinstance(shown, GraphSVG)
    assert shown.source == root.to_dot()
    assert shown._repr_svg_().startswith("<svg")


def test_a_failing_dot_falls_back_to_the_built_in_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "bin" / "dot"
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", f"{broken.parent}{os.pathsep}/bin")
    assert dot_available()
    assert 'class="wordgrad-graph"' in render_graph_svg(diamond().to_dot())


@needs_dot
def test_with_dot_graphviz_draws() -> None:
    root = diamond()
    svg = render_graph_svg(root.to_dot())
    assert svg.startswith("<svg") and 'class="graph"' in svg
    assert render_graph_svg(picture(root)) == svg
    assert 'class="wordgrad-graph"' in render_graph_svg(root.to_dot(), use_dot=False)


@needs_dot
def test_with_dot_and_the_graphviz_package_generate_graph_is_a_source() -> None:
    graphviz = pytest.importorskip("graphviz")
    shown = diamond().generate_graph()
    assert isinstance(shown, graphviz.Source)
    assert shown.source.rstrip() == diamond().to_dot()


def test_a_graph_svg_saves_its_picture(tmp_path: Path) -> None:
    shown = GraphSVG("digraph {}", "<svg></svg>")
    assert Path(shown.save(str(tmp_path / "g.svg"))).read_text() == "<svg></svg>"
