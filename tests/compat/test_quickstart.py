"""The README's quickstart and a minibatch step, exactly as a user writes them."""

from __future__ import annotations

import wordgrad as tg
from wordgrad.llm import Request


def quickstart_engine() -> tg.ScriptedEngine:
    def script(request: Request) -> str:
        if request.purpose == "optimizer":
            return "<IMPROVED_VARIABLE>It takes 30 minutes: drying is parallel.</IMPROVED_VARIABLE>"
        if request.purpose == "backward":
            return "Shirts dry at the same time; the time does not scale with their number."
        if request.purpose == "evaluation":
            return "The answer wrongly assumes drying time scales with the number of shirts."
        return "It takes 1 hour to dry 25 shirts."

    return tg.ScriptedEngine(script)


def test_quickstart() -> None:
    engine = quickstart_engine()
    tg.set_backward_engine(engine, override=True)

    question = tg.Variable(
        "If it takes 1 hour to dry 25 shirts under the sun, how long does it take to dry 30?",
        role_description="question to the LLM",
        requires_grad=False,
    )
    model = tg.BlackboxLLM(engine)
    answer = model(question)
    answer.set_role_description("concise and accurate answer to the question")

    optimizer = tg.TGD(parameters=[answer])
    evaluation_instruction = (
        f"Here's a question: {question.value}. Evaluate any given answer to this question, "
        "be smart, logical, and very critical. Just provide concise feedback."
    )
    loss_fn = tg.TextLoss(evaluation_instruction)
    loss = loss_fn(answer)
    loss.backward()
    optimizer.step()
    assert answer.value == "It takes 30 minutes: drying is parallel."


def test_minibatch_prompt_optimization_step() -> None:
    engine = quickstart_engine()
    tg.set_backward_engine(engine, override=True)
    prompt = tg.Variable(
        "Answer the question.",
        requires_grad=True,
        role_description="system prompt for a question-answering model",
    )
    model = tg.BlackboxLLM(engine, prompt)
    loss_fn = tg.TextLoss("Be critical: find the flaw in this answer.")
    optimizer = tg.TGD(parameters=model.parameters())

    batch = [f"How long do {n} shirts take to dry?" for n in (10, 20, 30, 40)]
    optimizer.zero_grad()
    losses = []
    for text in batch:
        question = tg.Variable(text, requires_grad=False, role_description="question")
        losses.append(loss_fn(model(question)))
    tg.sum(losses).backward()
    optimizer.step()

    assert len(prompt.gradients) == 4
    assert prompt.value == "It takes 30 minutes: drying is parallel."
    forward_prompts = [
        r.prompt for r in engine.requests if r.system_prompt == "Answer the question."
    ]
    assert sorted(forward_prompts) == sorted(batch)  # sent side by side, in any order
