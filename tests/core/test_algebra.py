"""tg.sum and tg.aggregate: who receives which feedback, and how often."""

from __future__ import annotations

import wordgrad as tg
from wordgrad.autograd import LLMCall
from wordgrad.llm import Request
from wordgrad.variable import Variable

from .scripts import give_feedback, kind_of, role_in_gradient_request


def minibatch_script(request: Request) -> str:
    kind = kind_of(request)
    if kind == "gradient":
        # Feedback on the prompt names the question it came from, so we can tell them apart.
        question = request.prompt.split("<INPUT>\n", 1)[1].split("\n", 1)[0]
        return f"fix for {question} on [{role_in_gradient_request(request)}]"
    if kind == "merge":
        return "merged: " + " | ".join(
            part.split("\n</FEEDBACK>")[0] for part in request.prompt.split("<FEEDBACK>\n")[1:]
        )
    if kind == "evaluation":
        return "wrong"
    return "answer"


def build_batch(engine: tg.ScriptedEngine, combine):  # type: ignore[no-untyped-def]
    prompt = Variable("Solve it.", role_description="system prompt")
    questions = [
        Variable(f"q{i}", requires_grad=False, role_description="question") for i in range(3)
    ]
    answers = [LLMCall(engine, prompt)(q, response_role_description="answer") for q in questions]
    losses = [tg.TextLoss("Evaluate the answer.", engine=engine)(a) for a in answers]
    return prompt, answers, losses, combine(losses)


def test_sum_of_losses_gives_each_loss_its_own_pass_and_the_prompt_one_feedback_per_example() -> (
    None
):
    engine = tg.ScriptedEngine(minibatch_script)
    prompt, answers, losses, total = build_batch(engine, tg.sum)
    assert total.value == "wrong\nwrong\nwrong"
    total.backward(engine)
    for loss in losses:
        assert loss.gradients == [] or all(g.value == "" for g in loss.gradients)
    for answer in answers:
        assert len(answer.gradients) == 1
    assert [g.value for g in prompt.gradients] == [
        f"fix for q{i} on [system prompt]" for i in range(3)
    ]
    assert not any(kind_of(r) == "merge" for r in engine.requests)


def test_sum_passes_its_own_feedback_to_every_input_exactly_once() -> None:
    parts = [Variable(f"part {i}", role_description=f"part {i}") for i in range(3)]
    total = tg.sum(parts)
    give_feedback(total, "all parts are too long")
    total.backward(tg.ScriptedEngine(lambda r: "unused"))
    for part in parts:
        assert [g.value for g in part.gradients] == ["all parts are too long"]


def test_aggregate_gives_every_input_feedback_and_merges_what_reaches_a_shared_prompt() -> None:
    engine = tg.ScriptedEngine(minibatch_script)
    prompt, answers, _, total = build_batch(engine, tg.aggregate)
    total.backward(engine)
    for answer in answers:
        assert len(answer.gradients) == 1
    merges = [r for r in engine.requests if kind_of(r) == "merge"]
    assert len(merges) == 1
    assert len(prompt.gradients) == 1
    merged = prompt.gradients[0].value
    assert merged.startswith("merged: ")
    for i in range(3):
        assert f"fix for q{i}" in merged


def test_sum_role_lists_distinct_roles_in_order() -> None:
    a = Variable("a", role_description="first")
    b = Variable("b", role_description="second")
    total = tg.sum([a, b, a])
    assert total.role_description == "combination of: first, second"
    assert total.predecessors == [a, b]
