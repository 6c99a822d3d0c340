"""A real prompt-optimization run with a scripted engine, for the report tests.

Every reply depends only on its request (through a hash), so the run is the same every time:
answers are right or wrong by hash, the optimizer's rewrites vary with what it is shown, and
validation therefore keeps some updates and reverts others.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import SHARED_DATA
from wordgrad.engine import ScriptedEngine
from wordgrad.llm import Request

ADVICE = (
    "List every object with its quantity before adding anything.",
    "Count only the items of the kind the question asks about.",
    "Treat words like 'two' or 'a pair of' as numbers.",
    "Add the quantities one at a time and keep a running total.",
    "Check the total once more before answering.",
    "Do not count the same object twice.",
)


def _hash(*texts: str) -> int:
    return int(hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:12], 16)


def make_script(answers: dict[str, str]) -> Callable[[Request], str]:
    """Replies of a plausible model, chosen by a hash of the request.

    The model answers a question right (``answers`` holds the right ones) more often the more
    pieces of advice its system prompt holds, so good updates raise accuracy.
    """
    return functools.partial(_reply, answers)


def _reply(answers: dict[str, str], request: Request) -> str:
    system, prompt = request.system_prompt or "", request.prompt
    h = _hash(system, prompt)
    if request.purpose == "optimizer":
        first, second = ADVICE[h % len(ADVICE)], ADVICE[(h // 7) % len(ADVICE)]
        return (
            "<IMPROVED_VARIABLE>You will answer a reasoning question about counting objects. "
            f"Think step by step. {first} {second} The last line of your response should be "
            "of the form 'Answer: $VALUE' where VALUE is a number.</IMPROVED_VARIABLE>"
        )
    if prompt in answers:
        skill = 35 + 12 * sum(advice in system for advice in ADVICE)
        right = h % 100 < skill
        answer = answers[prompt] if right else str(int(answers[prompt]) + 1 + h % 3)
        return f"Let me count the objects one by one. Answer: {answer}"
    return (
        f"Feedback {h % 100}: the prompt should ask the model to list the objects and their "
        "quantities before adding them, and to check the final count."
    )


def scripted_run(run_dir: Path) -> Path:
    """Run a short prompt optimization into ``run_dir`` and return it."""
    from wordgrad.tasks import load_task
    from wordgrad.train.prompt_optimization import PromptOptimization, PromptOptimizationConfig

    train, val, test, eval_fn = load_task("BBH_object_counting", data_dir=SHARED_DATA)
    answers = {str(x): str(y) for split in (train, val, test) for x, y in split}
    engine = ScriptedEngine(make_script(answers), model_string="gpt-4o-mini", latency_s=0.001)
    config = PromptOptimizationConfig(
        model="scripted",
        batch_size=3,
        max_epochs=1,
        steps_per_epoch=4,
        train_size=12,
        val_size=20,
        test_size=20,
    )
    PromptOptimization(
        config, run_dir, data_dir=SHARED_DATA, forward_engine=engine, backward_engine=engine
    ).run()
    save_step_graph(run_dir, engine, [(str(x), str(y)) for x, y in train][:2], eval_fn)
    return run_dir


def save_step_graph(
    run_dir: Path, engine: ScriptedEngine, examples: list[tuple[str, str]], eval_fn: Any
) -> None:
    """Write ``graphs/step-0001.dot`` as the training loop will: the DOT text of the summed
    loss of a minibatch (``total_loss.to_dot()``), here rebuilt with the core API."""
    import wordgrad as tg
    from wordgrad.train.evaluate import answer_variable, judge, question_variable
    from wordgrad.train.events import Step, read_events

    first = next(e for e in read_events(run_dir) if isinstance(e, Step))
    prompt = tg.Variable(
        first.old_value,
        requires_grad=True,
        role_description="system prompt of a language model answering the task's questions",
    )
    model = tg.BlackboxLLM(engine, prompt)
    losses = []
    for question, answer in examples:
        x = question_variable(question)
        losses.append(judge(eval_fn, x, answer_variable(answer), model(x)))
    total = tg.sum(losses)
    (run_dir / "graphs").mkdir(exist_ok=True)
    (run_dir / "graphs" / "step-0001.dot").write_text(total.to_dot(), encoding="utf-8")
