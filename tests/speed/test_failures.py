"""A failure in one branch of a minibatch is reported with the failing node's name, at the read,
at backward and at step; what finished is kept."""

from __future__ import annotations

import pytest
from benchmarks.server import reply_for

import wordgrad as tg
from tests.speed.conftest import texts_of
from wordgrad.errors import NodeError, ServerError
from wordgrad.llm import Request


def script(request: Request) -> str:
    if request.purpose == "forward" and "question 3" in request.prompt:
        raise ServerError("injected failure", status=500)
    return reply_for(texts_of(request))


def test_a_failed_branch_names_its_node_and_the_rest_is_kept() -> None:
    engine = tg.ScriptedEngine(script, retry=tg.engine.RetryPolicy(max_attempts=1))
    tg.set_backward_engine(engine, override=True)
    prompt = tg.Variable("Answer briefly.", role_description="system prompt")
    call = tg.autograd.LLMCall(engine, prompt)
    answers = [
        call(
            tg.Variable(f"question {i}", requires_grad=False, role_description="question"),
            response_role_description=f"answer to question {i}",
        )
        for i in range(6)
    ]
    losses = [tg.TextLoss("Judge the answer.")(answer) for answer in answers]
    total = tg.sum(losses)

    with pytest.raises(NodeError, match="answer to question 3") as caught:
        total.backward()
    assert isinstance(caught.value.cause, ServerError)
    with pytest.raises(NodeError, match="answer to question 3"):
        losses[3].get_value()  # a downstream node reports the node that failed
    assert [answers[i].value.startswith("Reply") for i in (0, 1, 2, 4, 5)] == [True] * 5
    assert losses[5].value.startswith("Reply")


def test_a_failed_update_names_the_parameter() -> None:
    def failing_updates(request: Request) -> str:
        if request.purpose == "optimizer":
            raise ServerError("optimizer down", status=503)
        return reply_for(texts_of(request))

    engine = tg.ScriptedEngine(failing_updates, retry=tg.engine.RetryPolicy(max_attempts=1))
    tg.set_backward_engine(engine, override=True)
    prompt = tg.Variable("Answer briefly.", role_description="system prompt of the solver")
    answer = tg.BlackboxLLM(engine, prompt)(
        tg.Variable("question", requires_grad=False, role_description="question")
    )
    tg.TextLoss("Judge.")(answer).backward()
    with pytest.raises(ServerError, match="update of system prompt of the solver") as raised:
        tg.TGD([prompt]).step()
    assert raised.value.purpose == "optimizer" and raised.value.model == "scripted/scripted"
    assert prompt.value == "Answer briefly."
    assert prompt.gradients, "the feedback computed before the failure is kept"
