"""Upstream attributes that real client code reads on optimizers and losses."""

from __future__ import annotations

import wordgrad as tg
from tests.core.scripts import give_feedback
from wordgrad.optimizer.optimizer import get_gradient_and_context_text

UPDATE = "<IMPROVED_VARIABLE>{}</IMPROVED_VARIABLE>"


def test_tgd_gradient_memory_dict_and_friends() -> None:
    prompt = tg.Variable("Answer.", role_description="system prompt")
    engine = tg.ScriptedEngine(
        [UPDATE.format("Answer briefly."), UPDATE.format("Answer in one line.")]
    )
    optimizer = tg.TGD([prompt], engine=engine, gradient_memory=2, constraints=["Be short."])
    assert optimizer.do_gradient_memory and optimizer.do_constrained
    assert not optimizer.do_in_context_examples and optimizer.in_context_examples == []
    assert optimizer.constraint_text == "1. Be short."
    assert "<IMPROVED_VARIABLE>" in optimizer.optimizer_system_prompt
    assert optimizer.gradient_memory_dict[prompt] == []
    give_feedback(prompt, "too long")
    optimizer.step()
    optimizer.zero_grad()
    give_feedback(prompt, "still long")
    assert "still long" in get_gradient_and_context_text(prompt)
    optimizer.step()
    assert optimizer.gradient_memory_dict[prompt] == [
        {"value": "too long"},
        {"value": "still long"},
    ]
    memory_text = optimizer.get_gradient_memory_text(prompt)
    assert "too long" in memory_text and "still long" in memory_text
    # the next update request shows exactly that memory
    optimizer.zero_grad()
    give_feedback(prompt, "now fine")
    assert memory_text in optimizer.update_request(prompt).prompt


def test_momentum_attributes() -> None:
    prompt = tg.Variable("v0", role_description="system prompt")
    engine = tg.ScriptedEngine([UPDATE.format("v1")])
    optimizer = tg.optimizer.TextualGradientDescentwithMomentum(engine, [prompt], momentum_window=3)
    assert optimizer.do_momentum and optimizer.momentum_window == 3
    assert optimizer.momentum_storage == [[]]
    give_feedback(prompt, "feedback on v0")
    optimizer.step()
    assert optimizer.momentum_storage == [[{"value": "v0", "gradients": "feedback on v0"}]]


def test_loss_attributes() -> None:
    engine = tg.ScriptedEngine(["ok"])
    text_loss = tg.TextLoss("Judge it.", engine=engine)
    assert text_loss.engine is engine
    multi = tg.loss.MultiFieldEvaluation(
        tg.Variable("Compare.", requires_grad=False, role_description="instruction"),
        ["question", "answer"],
        engine=engine,
    )
    assert multi.formatted_llm_call is multi.llm_call
    assert "**question**" in multi.format_string
    critic = tg.loss.MultiChoiceTestTime("Check it.", engine=engine)
    assert critic.tt_system_prompt is critic.system_prompt
    assert critic.fields == ["instruction", "question", "prediction"]
    image_loss = tg.loss.ImageQALoss("Check the answer.", engine=engine)
    assert image_loss.multimodal_llm_call is image_loss.llm_call
