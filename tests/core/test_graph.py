"""The backward pass on chains, diamonds and several losses; no_grad; graph pictures."""

from __future__ import annotations

import sys

import pytest

import wordgrad as tg
from wordgrad.autograd import FormattedLLMCall, LLMCall
from wordgrad.graph import topological_order
from wordgrad.llm import Request
from wordgrad.variable import Variable

from .scripts import give_feedback, kind_of, role_in_gradient_request


def feedback_script(request: Request) -> str:
    """Forward calls echo; evaluations criticise; gradients name the variable they are about."""
    kind = kind_of(request)
    if kind == "gradient":
        return f"feedback for [{role_in_gradient_request(request)}]"
    if kind == "evaluation":
        return "the answer is too vague"
    return f"answer to: {request.prompt[:40]}"


def test_chain_passes_feedback_from_loss_to_the_first_prompt() -> None:
    engine = tg.ScriptedEngine(feedback_script)
    prompt = Variable("Be concise.", role_description="system prompt")
    question = Variable("What is 2+2?", requires_grad=False, role_description="question")
    draft = LLMCall(engine, prompt)(question, response_role_description="draft answer")
    final = LLMCall(engine)(draft, response_role_description="final answer")
    loss = tg.TextLoss("Evaluate the final answer.", engine=engine)(final)
    loss.backward(engine)

    assert [g.value for g in final.gradients] == ["feedback for [final answer]"]
    assert [g.value for g in draft.gradients] == ["feedback for [draft answer]"]
    assert [g.value for g in prompt.gradients] == ["feedback for [system prompt]"]
    assert question.gradients == []
    # The draft's feedback request carried the final answer's feedback as criticism.
    draft_request = next(
        r
        for r in engine.requests
        if kind_of(r) == "gradient" and role_in_gradient_request(r) == "draft answer"
    )
    assert "feedback for [final answer]" in draft_request.prompt
    context = prompt.gradients_context[prompt.gradients[0]]
    assert context is not None and "What is 2+2?" in context["context"]
    assert context["response_desc"] == "draft answer"


def test_diamond_waits_for_both_branches_before_passing_feedback_on() -> None:
    engine = tg.ScriptedEngine(feedback_script)
    root = Variable("shared context", role_description="shared context")
    left = LLMCall(engine)(root, response_role_description="left summary")
    right = LLMCall(engine)(root, response_role_description="right summary")
    joined = FormattedLLMCall(engine, "{a}\n{b}", ["a", "b"])(
        {"a": left, "b": right}, response_role_description="merged summary"
    )
    loss = tg.TextLoss("Evaluate the summary.", engine=engine)(joined)
    loss.backward(engine)

    assert [g.value for g in root.gradients] == [
        "feedback for [shared context]",
        "feedback for [shared context]",
    ]
    gradient_roles = [
        role_in_gradient_request(r) for r in engine.requests if kind_of(r) == "gradient"
    ]
    # Both branches get their feedback before the shared root is asked about (ready sets).
    last_branch = max(gradient_roles.index("left summary"), gradient_roles.index("right summary"))
    assert gradient_roles.index("shared context") > last_branch
    assert gradient_roles.count("shared context") == 2


def test_feedback_from_two_losses_accumulates_in_order() -> None:
    engine = tg.ScriptedEngine(feedback_script)
    answer = Variable("Paris is in Germany.", role_description="answer")
    first = tg.TextLoss("Evaluate factual accuracy.", engine=engine)(answer)
    second = tg.TextLoss("Evaluate the style.", engine=engine)(answer)
    first.backward(engine)
    second.backward(engine)
    assert len(answer.gradients) == 2
    contexts = [answer.gradients_context[g]["context"] for g in answer.gradients]  # type: ignore[index]
    assert "factual accuracy" in contexts[0] and "style" in contexts[1]


def test_frozen_variables_get_no_call_and_stop_propagation() -> None:
    engine = tg.ScriptedEngine(feedback_script)
    frozen_prompt = Variable("fixed", requires_grad=False, role_description="frozen prompt")
    question = Variable("q", requires_grad=False, role_description="question")
    answer = LLMCall(engine, frozen_prompt)(question, response_role_description="answer")
    assert answer.requires_grad  # outputs can be optimized themselves, as upstream
    loss = tg.TextLoss("Evaluate.", engine=engine)(answer)
    loss.backward(engine)
    asked_about = [role_in_gradient_request(r) for r in engine.requests if kind_of(r) == "gradient"]
    assert asked_about == ["answer"]
    assert frozen_prompt.gradients == [] and question.gradients == []

    frozen_answer = Variable("a", requires_grad=False, role_description="frozen answer")
    frozen_loss = tg.TextLoss("Evaluate.", engine=engine)(frozen_answer)
    frozen_loss.backward(engine)
    assert frozen_answer.gradients == []
    assert len([r for r in engine.requests if kind_of(r) == "gradient"]) == 1


def test_ten_thousand_node_chain_needs_no_recursion() -> None:
    head = Variable("start", role_description="head")
    node = head
    for index in range(10_000):
        node = node + Variable(".", requires_grad=False, role_description=f"dot {index}")
    assert len(topological_order(node)) > sys.getrecursionlimit()
    give_feedback(node, "shorter please")
    node.backward(tg.ScriptedEngine(lambda r: "unused"))
    assert len(head.gradients) == 1
    assert "shorter please" in head.gradients[0].value


def test_no_grad_records_no_graph() -> None:
    engine = tg.ScriptedEngine(feedback_script)
    prompt = Variable("p", role_description="prompt")
    with tg.no_grad():
        out = LLMCall(engine, prompt)(Variable("q", requires_grad=False, role_description="q"))
    assert out.predecessors == [] and out.requires_grad is False and out.grad_fn is None
    assert out.value.startswith("answer to")


def test_backward_without_any_usable_engine_says_how_to_set_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from wordgrad.engine import registry

    monkeypatch.setattr(registry, "_default", None)
    monkeypatch.setenv("WORDGRAD_LOCAL_MODEL", str(tmp_path / "missing.gguf"))
    answer = Variable("x", role_description="answer")
    loss = tg.sum([answer])
    with pytest.raises(tg.errors.NoEngineError, match="set_backward_engine"):
        loss.backward()


def test_upstream_style_backward_context_still_runs() -> None:
    engine = tg.ScriptedEngine(feedback_script)
    source = Variable("in", role_description="input")
    out = Variable("out", predecessors=[source], role_description="output")
    seen: list[object] = []

    def backward(response: Variable, backward_engine: object) -> None:
        seen.append(backward_engine)
        source.gradients.add(Variable("custom", requires_grad=False, role_description="fb"))

    out.set_grad_fn(tg.BackwardContext(backward, response=out))
    out.backward(engine)
    assert seen == [engine] and source.gradients[0].value == "custom"
    assert "backward" in repr(out.grad_fn)


def test_dot_export_lists_nodes_and_edges() -> None:
    engine = tg.ScriptedEngine(feedback_script)
    prompt = Variable("Be brief & <exact>.", role_description="system prompt")
    out = LLMCall(engine, prompt)(Variable("q", requires_grad=False, role_description="question"))
    dot = out.to_dot()
    assert dot.startswith("digraph wordgrad {")
    assert "Be brief &amp; &lt;exact&gt;." in dot
    assert dot.count("->") == 2 and "LLMCall" in dot


def test_a_slow_branch_holds_up_only_what_depends_on_it() -> None:
    """Branch 1's feedback reaches the shared prompt while branch 0's is still being written."""
    import threading

    released = threading.Event()
    seen: list[str] = []

    def script(request: Request) -> str:
        kind = kind_of(request)
        if kind != "gradient":
            return "critique" if kind == "evaluation" else f"answer to {request.prompt}"
        role = role_in_gradient_request(request)
        about = "q0" if "q0" in request.prompt else "q1"
        seen.append(f"{role}/{about}")
        if role == "answer" and about == "q0":
            released.wait(10)  # stuck until branch 1 has reached the prompt
        if role == "system prompt" and about == "q1":
            released.set()
        return f"fix via {about}"

    engine = tg.ScriptedEngine(script)
    prompt = Variable("Solve.", role_description="system prompt")
    losses = []
    for name in ("q0", "q1"):
        question = Variable(name, requires_grad=False, role_description="question")
        answer = LLMCall(engine, prompt)(question, response_role_description="answer")
        losses.append(tg.TextLoss("Evaluate the answer.", engine=engine)(answer))
    tg.sum(losses).backward(engine)

    assert released.is_set()
    assert seen.index("system prompt/q1") < seen.index("system prompt/q0")
    # Gradient order is by graph position, not by arrival: q0's feedback comes first.
    assert [g.value for g in prompt.gradients] == ["fix via q0", "fix via q1"]
