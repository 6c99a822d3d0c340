"""Solution optimization at test time, as in the paper's MMLU / GPQA experiments.

For each question the model first answers zero-shot (reasoning, then a last line
``Answer: X``). That answer becomes a trainable variable; in each iteration a critic reviews it,
the review is turned into feedback, and TGD rewrites the answer under the constraint that it
still ends with an ``Answer:`` line. The final answer is the majority vote over the letters of
all versions (the zero-shot one included; a tie goes to the letter that appeared first).

Reported: zero-shot accuracy against majority-vote accuracy on the same questions, each with a
95% bootstrap interval, and the paired test between them.

Questions are independent, so a step handles ``batch_size`` of them side by side and each step
is checkpointed; a killed run continues with the next unfinished step. With ``ray=RayBackend()``
(``--ray`` on the command line) each question is a task on a Ray cluster: workers build the
engines by name and load the question themselves, every finished question is journaled in the
run directory (a resumed run skips it even within an unfinished step), and the workers' usage
counts towards the run's budget (:mod:`wordgrad.distributed`).

::

    from wordgrad.train import SolutionOptimizationConfig, optimize_solutions
    results = optimize_solutions(SolutionOptimizationConfig(model="gpt-4o"), "runs/mmlu")
"""

from __future__ import annotations

import contextvars
import dataclasses
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import wordgrad as tg
from wordgrad.distributed import RayBackend, TaskFailed
from wordgrad.engine.base import EngineLM
from wordgrad.errors import ConfigurationError
from wordgrad.tasks import load_instance_task
from wordgrad.tasks.evaluation import SolutionObjective
from wordgrad.tasks.metrics import parse_choice_letter
from wordgrad.tasks.multichoice import ChoiceScorer
from wordgrad.train.evaluate import accuracy_summary, paired_summary
from wordgrad.train.loop import RunLoop, build_engine
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

    Takes the options of :class:`~wordgrad.train.loop.RunLoop`, and ``ray``: a
    :class:`~wordgrad.distributed.RayBackend` to solve the questions as tasks on a Ray cluster
    (engines are then built on the workers from the names in ``config``, so ``forward_engine`` /
    ``backward_engine`` objects cannot be used with it).
    """

    kind = "solution"

    def __init__(
        self,
        config: SolutionOptimizationConfig,
        run_dir: str | os.PathLike[str],
        *,
        ray: RayBackend | None = None,
        **options: Any,
    ) -> None:
        super().__init__(config, run_dir, **options)
        self.config = config
        self.ray = ray
        if ray is not None and (self._forward is not None or self._backward is not None):
            raise ConfigurationError(
                "with ray=, engines are built on the workers from the names in the config; pass "
                "engine names (register your own with wordgrad.engine.register_engine in a "
                "plugin module named in $WORDGRAD_PLUGINS) instead of engine objects"
            )

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
        journal = run.path / "distributed" / "questions.jsonl"
        if run.checkpoint is None:
            journal.unlink(missing_ok=True)  # a fresh start (or --force) redoes every question
            run.commit(0, {"zero_shot": [], "majority": []})
        items: list[Any] = list(questions)
        if self.ray is None:
            solver = _Solver(forward, backward, self.optimizer_engine(backward), c.iterations)
            solve: Callable[[Any], dict[str, Any]] = solver.solve
        else:
            remote = _RemoteSolver(c, None if self.data_dir is None else str(self.data_dir))
            solve, items = remote, list(range(len(questions)))  # workers load the questions
        with self.reporter.task("questions", len(questions)) as advance:
            for _ in zero_shot:
                advance()
            while len(zero_shot) < len(questions) and (c.steps is None or step < c.steps):
                run.check_budget(step)
                step += 1
                start = len(zero_shot)
                batch = items[start : start + c.batch_size]
                outcomes = solve_side_by_side(
                    solve,
                    batch,
                    self.ray,
                    keys=[_question_key(c, i) for i in range(start, start + len(batch))],
                    journal=journal,
                    before_submit=lambda: run.check_budget(0),  # stop once the budget is spent
                )
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


_WORKER_SOLVERS: dict[str, tuple[_Solver, list[Any]]] = {}
"""Per worker process: the solver and questions of each run config (built on first use)."""


class _RemoteSolver:
    """``solve(index)`` in a Ray worker: builds the engines by name and loads the task once per
    process, then solves question ``index``. Holds only names and settings, never an engine
    (or its key)."""

    def __init__(self, config: SolutionOptimizationConfig, data_dir: str | None) -> None:
        self.config = config
        self.data_dir = data_dir

    def __call__(self, index: int) -> dict[str, Any]:
        c = self.config
        key = json.dumps([c.as_dict(), self.data_dir], sort_keys=True)
        if key not in _WORKER_SOLVERS:
            forward = build_engine(c.model, c.reply_tokens)
            name = c.backward_model or c.model
            backward = forward if name == c.model else build_engine(name, c.reply_tokens)
            rewriter = backward if c.reply_tokens is None else build_engine(name, None)
            questions = list(
                load_instance_task(
                    c.task, evaluation_api=backward, data_dir=self.data_dir, max_samples=c.size
                )
            )
            _WORKER_SOLVERS[key] = (_Solver(forward, backward, rewriter, c.iterations), questions)
        solver, questions = _WORKER_SOLVERS[key]
        return solver.solve(questions[index])


def _question_key(config: SolutionOptimizationConfig, index: int) -> str:
    """The journal's name for question ``index`` of a run of ``config``."""
    digest = hashlib.sha256(json.dumps(config.as_dict(), sort_keys=True).encode()).hexdigest()
    return f"{index}-{digest[:16]}"


def solve_side_by_side(
    solve: Callable[[Any], dict[str, Any]],
    items: Sequence[Any],
    ray: RayBackend | None = None,
    *,
    keys: Sequence[str] | None = None,
    journal: str | os.PathLike[str] | None = None,
    before_submit: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """``[solve(item) for item in items]``, results in order: each on its own thread, or with
    ``ray`` each as a task on a Ray cluster.

    Each thread runs in a copy of the caller's context, so the run's usage meter sees its
    calls. On Ctrl-C the threads are abandoned rather than waited for. With ``ray``: ``keys``,
    ``journal`` and ``before_submit`` are those of :meth:`RayBackend.map`, ``solve`` must be
    picklable, and an item that failed on every attempt raises its
    :class:`~wordgrad.distributed.TaskFailed`.
    """
    if ray is not None:
        outcomes = ray.map(solve, items, keys=keys, journal=journal, before_submit=before_submit)
        solved: list[dict[str, Any]] = []
        for outcome in outcomes:
            if isinstance(outcome, TaskFailed):
                raise outcome
            solved.append(outcome)
        return solved
    pool = ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="wordgrad-solve")
    try:
        futures = [pool.submit(contextvars.copy_context().run, solve, item) for item in items]
        results = [future.result() for future in futures]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results


def optimize_solutions(
    config: SolutionOptimizationConfig | None = None,
    run_dir: str | os.PathLike[str] = "runs/solution",
    **options: Any,
) -> dict[str, Any]:
    """Run (or continue) a solution optimization; see :class:`SolutionOptimization`."""
    return SolutionOptimization(config or SolutionOptimizationConfig(), run_dir, **options).run()
