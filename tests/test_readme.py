"""The README's Python examples run, unchanged, against scripted engines (no network)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import wordgrad as tg
from wordgrad.engine import register_engine, unregister_engine
from wordgrad.llm import Request

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def plausible(request: Request) -> str:
    if request.purpose == "optimizer":
        return "<IMPROVED_VARIABLE>Reason step by step, then state the answer.</IMPROVED_VARIABLE>"
    if request.purpose == "backward":
        return "State the reasoning before the answer."
    return "A reply."


@pytest.fixture()
def provider_names() -> object:
    names = ("gpt-4o", "gpt-4o-mini")
    for name in names:
        register_engine(
            name, lambda name=name, **kw: tg.ScriptedEngine(plausible, model_string=name)
        )
    yield
    for name in names:
        unregister_engine(name)


def test_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_readme_example_runs(
    index: int, provider_names: object, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(EXAMPLES[index], f"README example {index + 1}", "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out
    if "print(" in EXAMPLES[index]:
        assert "Reason step by step" in printed
