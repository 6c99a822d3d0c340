"""A snapshot of every request a small program sends (forward, loss, backward, step).

A change to what the LLM sees must show up here as a diff. To accept a deliberate change, run
``WORDGRAD_UPDATE_SNAPSHOTS=1 pytest tests/core/test_prompts.py`` and review the file. The
templates themselves live in ``wordgrad/prompts/templates.py``; they are not copied here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import wordgrad as tg
from wordgrad import prompts
from wordgrad.variable import Variable

from .scripts import TAGGED_UPDATE

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "prompts"
UPDATE = os.environ.get("WORDGRAD_UPDATE_SNAPSHOTS") == "1"


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}; run with WORDGRAD_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; see module docstring"


@pytest.mark.parametrize("name", sorted(prompts.TEMPLATES))
def test_every_template_renders_each_of_its_fields(name: str) -> None:
    fields = {field: f"<<{field} value>>" for field in prompts.template_fields(name)}
    text = prompts.render(name, fields)
    assert all(value in text for value in fields.values())


def test_render_rejects_missing_and_unknown_fields() -> None:
    with pytest.raises(KeyError, match="needs fields"):
        prompts.render("gradient.llm_call", system_prompt="s", input="i")
    with pytest.raises(TypeError, match="has no fields"):
        prompts.render("role.llm_output", extra="x")
    with pytest.raises(KeyError, match="no prompt template"):
        prompts.render("no.such.template")


def test_values_with_braces_are_inserted_verbatim() -> None:
    text = prompts.render("gradient.llm_call", system_prompt="{x}", input="{}", output="}{")
    assert "{x}" in text and "}{" in text


def test_requests_of_a_quickstart_step_snapshot() -> None:
    engine = tg.ScriptedEngine(
        {
            "backward": "State the count explicitly.",
            "optimizer": TAGGED_UPDATE.format("Count each item, then answer."),
            "evaluation": "The answer omits the count.",
            "forward": "There are several.",
        }
    )
    prompt = Variable("Answer briefly.", role_description="system prompt of a counting assistant")
    question = Variable(
        "I have two apples and a pear. How many fruits?",
        requires_grad=False,
        role_description="question",
    )
    answer = tg.BlackboxLLM(engine, prompt)(question)
    loss = tg.TextLoss("Evaluate whether the answer gives a number.", engine=engine)(answer)
    loss.backward(engine)
    tg.TGD([prompt], engine=engine, constraints=["Keep it under 20 words."]).step()
    rendered = "\n\n=====\n\n".join(
        "\n---\n".join(f"[{m.role}]\n{m.text}" for m in request.messages)
        for request in engine.requests
    )
    check_snapshot("program.quickstart_step", rendered)
