"""The three benchmark workloads, written the way a user writes them for upstream textgrad.

Each builder takes the library module (``wordgrad`` or ``textgrad``, used as ``tg``) and an
engine, and returns a :class:`Workload` whose ``step()`` runs one optimization step with a plain
Python loop: no batch API, nothing wordgrad-specific. So the same code measures wordgrad's
concurrent mode, its sequential mode (``tg.set_max_concurrency(1)``) and upstream textgrad.

``depth`` is the number of LLM calls on the longest dependency chain of one step; times the
latency it is the wall time no scheduler can beat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Workload:
    name: str
    step: Callable[[], None]
    depth: int
    calls: int
    """LLM calls in one step."""
    parameters: list[Any]
    """The trainable variables, to compare final values between runs."""


QUESTIONS = [
    f"I have {n + 2} apples, {n} pears and a plum. How many pieces of fruit do I have?"
    for n in range(16)
]


STARTING_PROMPT = (
    "You answer counting questions. Think step by step, then end with 'Answer: $VALUE'."
)


def prompt_optimization(
    tg: ModuleType, engine: Any, batch_size: int = 8, prompt: str = STARTING_PROMPT
) -> Workload:
    """A system prompt trained on a minibatch: forward, loss, ``tg.sum``, backward, step.

    Calls per step: ``batch_size`` answers, losses, feedback on answers and feedback on the
    prompt, plus one update (33 for 8). Depth 5: answer, loss, feedback to the answer, feedback
    to the prompt, update.
    """
    tg.set_backward_engine(engine, override=True)
    system_prompt = tg.Variable(
        prompt,
        requires_grad=True,
        role_description="system prompt to a model that answers counting questions",
    )
    model = tg.BlackboxLLM(engine, system_prompt=system_prompt)
    optimizer = tg.TGD(parameters=[system_prompt])
    batch = [(q, str(2 * n + 3)) for n, q in enumerate(QUESTIONS[:batch_size])]

    def step() -> None:
        optimizer.zero_grad()
        losses = []
        for question, answer in batch:
            x = tg.Variable(question, requires_grad=False, role_description="question to answer")
            prediction = model(x)
            loss_fn = tg.TextLoss(
                f"Check the answer to this question: {question} The correct answer is {answer}. "
                "Say concisely what is wrong with the reasoning or the answer."
            )
            losses.append(loss_fn(prediction))
        total_loss = tg.sum(losses)
        total_loss.backward()
        optimizer.step()

    return Workload("minibatch prompt opt.", step, 5, 4 * batch_size + 1, [system_prompt])


def chain(tg: ModuleType, engine: Any, stages: int = 4, batch_size: int = 4) -> Workload:
    """A pipeline of ``stages`` LLM calls, one trainable prompt each, on a small minibatch.

    Depth ``2 * stages + 3``: the stages, the loss, feedback back down the chain to the first
    prompt (``stages + 1`` calls), and the update. Calls per example ``3 * stages + 1``, plus
    one update per stage.
    """
    tg.set_backward_engine(engine, override=True)
    prompts = [
        tg.Variable(
            f"Stage {k + 1}: improve the text you are given; keep it short.",
            requires_grad=True,
            role_description=f"system prompt of stage {k + 1} of a text pipeline",
        )
        for k in range(stages)
    ]
    models = [tg.BlackboxLLM(engine, system_prompt=prompt) for prompt in prompts]
    optimizer = tg.TGD(parameters=prompts)
    loss_fn = tg.TextLoss("Judge whether the text answers the original question; be concise.")

    def step() -> None:
        optimizer.zero_grad()
        losses = []
        for question in QUESTIONS[:batch_size]:
            text = tg.Variable(question, requires_grad=False, role_description="question")
            for model in models:
                text = model(text)
            losses.append(loss_fn(text))
        tg.sum(losses).backward()
        optimizer.step()

    calls = batch_size * (3 * stages + 1) + stages
    return Workload(f"{stages}-stage chain", step, 2 * stages + 3, calls, prompts)


def solution_optimization(tg: ModuleType, engine: Any, questions: int = 4) -> Workload:
    """Test-time optimization of the solutions to several questions, all in one loop.

    Depth 3 per step: the critique, the feedback on the solution, the update; ``3 * questions``
    calls.
    """
    tg.set_backward_engine(engine, override=True)
    solutions = [
        tg.Variable(
            f"Counting the fruit gives {n + 3}. Answer: {n + 3}",
            requires_grad=True,
            role_description="solution to a counting question",
        )
        for n in range(questions)
    ]
    critics = [
        tg.TextLoss(
            tg.Variable(
                f"You review a solution to this question: {QUESTIONS[n]} Find any mistake and "
                "say how to fix it, concisely.",
                requires_grad=False,
                role_description="system prompt of the reviewer",
            )
        )
        for n in range(questions)
    ]
    optimizer = tg.TGD(parameters=solutions)

    def step() -> None:
        optimizer.zero_grad()
        losses = [critic(solution) for critic, solution in zip(critics, solutions)]
        tg.sum(losses).backward()
        optimizer.step()

    return Workload("test-time solution opt.", step, 3, 3 * questions, solutions)


BUILDERS: list[Callable[[ModuleType, Any], Workload]] = [
    prompt_optimization,
    chain,
    solution_optimization,
]
