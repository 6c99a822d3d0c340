"""Solution optimization at test time, as in the paper's MMLU / GPQA experiments.

For each question the model first answers zero-shot (reasoning, then a last line
``Answer: X``). That answer becomes a trainable variable; in each iteration a critic reviews it,
the review is turned into feedback, and TGD rewrites the answer under the constraint that it
still ends with an ``Answer:`` line. The final answer is the majority vote over the letters of
all versions (the zero-shot one included; a tie goes to the letter that appeared first).

Reported: zero-shot accuracy against majority-vote accuracy on the same questions, each with a
95% bootstrap interval, and the paired test between them.

Questions are independent, so a step handles ``batch_size`` of them side by side and each step
is checkpointed; a killed run continues with the next unfinished step.

::

    from wordgrad.train import SolutionOptimizationConfig, optimize_solutions
    results = optimize_solutions(SolutionOptimizationConfig(model="gpt-4o"), "runs/mmlu")
"""

from __future__ import annotations

import contextvars
import dataclasses
import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import wordgrad as tg
from wordgrad.engine.base import EngineLM
from wordgrad.tasks import load_instance_task
from wordgrad.tasks.evaluation import SolutionObjective
from wordgrad.tasks.metrics import parse_choice_letter
from wordgrad.tasks.multichoice import ChoiceScorer
from wordgrad.train.evaluate import accuracy_summary, paired_summary
from wordgrad.train.loop import RunLoop
from wordgrad.train.runs import Run

SOLUTION_ROLE = "reasoning and final answer to a multiple-choice question"
ANSWER_CONSTRAINT = (
    "The last line of the new text must be 'Answer: $LETTER' (without quotes), where LETTER is "
    "one of A, B, C, D."
)


@dataclass(frozen=True)
class SolutionOptimizationConfig:
    """What a solution-optimization run computes; saved as the run's ``config.json``.

    Defaults follow the paper (MMLU machine learning, 3 iterations, majority vote), with the
    embedded local model as the default engine.

    Args:
        task: ``"MMLU_<subject>"`` or ``"GPQA_diamond"``.
        model: the engine that writes the zero-shot answers.
        backward_model: the critic, feedback writer and rewriter (default: ``model``).
        iterations: critique-and-rewrite rounds per question.
        batch_size: questions per step (handled side by side; one checkpoint per step).
        steps: stop after this many steps (``None``: every question).
        size: use only the first this many questions (``None``: all).
        reply_tokens: cap answers, critiques and feedback at this many tokens (``None``: the
            engines' defaults); rewrites are never capped.
    """

    task: str = "MMLU_machine_learning"
    model: str = "local"
    backward_model: str | None = None
    iterations: int = 3
    batch_size: int = 4
    steps: int | None = None
    size: int | None = None
    reply_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.iterations < 1 or self.batch_size < 1:
            raise ValueError("iterations and batch_size must be at least 1")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def majority_vote(letters: Sequence[str | None]) -> str | None:
    """The most frequent letter (ties: the one seen first); None when no version has one."""
    counts = Counter(letter for letter in letters if letter is not None)
    if not counts:
        return None
    return counts.most_common(1)[0][0]


class SolutionOptimization(RunLoop):
    """The test-time loop; :func:`optimize_solutions` is the short way to run it.

    Takes the options of :class:`~wordgrad.train.loop.RunLoop`.
    """

    kind = "solution"

    def __init__(
        self, config: SolutionOptimizationConfig, run_dir: str | os.PathLike[str], **options: Any
    ) -> None:
        super().__init__(config, run_dir, **options)
        self.config = config

    def execute(self, run: Run) -> dict[str, Any]:
        c = self.config
        forward, backward = self.engines()
        questions = list(
            load_instance_task(
                c.task, evaluation_api=backward, data_dir=self.data_dir, max_samples=c.size
            )
        )
        checkpoint = run.checkpoint or {"step": 0, "zero_shot": [], "majority": []}
        step = int(checkpoint["step"])
        zero_shot: list[float] = list(checkpoint["zero_shot"])
        majority: list[float] = list(checkpoint["majority"])
        if run.checkpoint is None:
            run.commit(0, {"zero_shot": [], "majority": []})
        solver = _Solver(forward, backward, self.optimizer_engine(backward), c.iterations)
        with self.reporter.task("questions", len(questions)) as advance:
            for _ in zero_shot:
                advance()
            while len(zero_shot) < len(questions) and (c.steps is None or step < c.steps):
                run.check_budget(step)
                step += 1
                start = len(zero_shot)
                batch = questions[start : start + c.batch_size]
                outcomes = solve_side_by_side(solver.solve, batch)
                for index, outcome in enumerate(outcomes, start=start):
                    run.emit("question", step, index=index, **outcome)
                    zero_shot.append(outcome["zero_shot_score"])
                    majority.append(outcome["majority_score"])
                    advance()
                run.commit(step, {"zero_shot": zero_shot, "majority": majority})

        for label, scores in (("zero-shot", zero_shot), ("majority vote", majority)):
            if scores:
                run.emit(
                    "evaluation",
                    0,
                    split="test",
                    label=label,
                    scores=scores,
                    **accuracy_summary(scores),
                )
        results = {
            "kind": self.kind,
            "task": c.task,
            "questions": len(zero_shot),
            "test": paired_summary(
                zero_shot,
                majority,
                name="test",
                before_label="zero-shot",
                after_label="majority vote",
            ),
            "comparisons": ["test"],
        }
        return run.finish(results)


class _Solver:
    """Answers one question zero-shot, then critiques and rewrites it ``iterations`` times."""

    def __init__(
        self, forward: EngineLM, backward: EngineLM, rewriter: EngineLM, iterations: int
    ) -> None:
        self.model = tg.BlackboxLLM(forward)
        self.backward = backward
        self.rewriter = rewriter
        self.iterations = iterations

    def solve(self, item: Sequence[Any]) -> dict[str, Any]:
        prompt, answer, objective, scorer = item
        assert isinstance(objective, SolutionObjective) and isinstance(scorer, ChoiceScorer)
        question = tg.Variable(prompt, requires_grad=False, role_description="question")
        with tg.no_grad():
            first = self.model(question).text
        solution = tg.Variable(first, requires_grad=True, role_description=SOLUTION_ROLE)
        optimizer = tg.TGD(
            [solution],
            engine=self.rewriter,
            constraints=[ANSWER_CONSTRAINT],
            on_parse_error="record",
        )
        iterates = [first]
        for _ in range(self.iterations):
            optimizer.zero_grad()
            objective(solution).backward(self.backward)
            optimizer.step()
            iterates.append(solution.text)
        votes = [parse_choice_letter(text) for text in iterates]
        voted = majority_vote(votes)
        return {
            "answer": answer,
            "iterates": iterates,
            "votes": votes,
            "majority": voted,
            "zero_shot_score": scorer(first),
            "majority_score": float(voted == answer),
        }


def solve_side_by_side(
    solve: Callable[[Sequence[Any]], dict[str, Any]], items: Sequence[Sequence[Any]]
) -> list[dict[str, Any]]:
    """``[solve(item) for item in items]``, each on its own thread, results in order.

    Each thread runs in a copy of the caller's context, so the run's usage meter sees its
    calls. On Ctrl-C the threads are abandoned rather than waited for.
    """
    pool = ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="wordgrad-solve")
    try:
        futures = [pool.submit(contextvars.copy_context().run, solve, item) for item in items]
        outcomes = [future.result() for future in futures]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return outcomes


def optimize_solutions(
    config: SolutionOptimizationConfig | None = None,
    run_dir: str | os.PathLike[str] = "runs/solution",
    **options: Any,
) -> dict[str, Any]:
    """Run (or continue) a solution optimization; see :class:`SolutionOptimization`."""
    return SolutionOptimization(config or SolutionOptimizationConfig(), run_dir, **options).run()
