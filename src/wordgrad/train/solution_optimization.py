"""Solution optimization at test time, as in the paper's MMLU / GPQA experiments.

For each question the model first answers zero-shot (reasoning, then a last line
``Answer: X``). That answer becomes a trainable variable; in each iteration a critic reviews it,
the review is turned into feedback, and TGD rewrites the answer under the constraint that it
still ends with an ``Answer:`` line. The final answer is the majority vote over the letters of
all versions (the zero-shot one included; a tie goes to the letter that appeared first).

Reported: zero-shot accuracy against majority-vote accuracy on the same questions, each with a
95% bootstrap interval, and the paired test between them.

It is a use of :class:`~wordgrad.train.instance_optimization.InstanceOptimization`: each
question is an instance, up to ``batch_size`` of them side by side; a step advances each by one
version (the first is the zero-shot answer) and is checkpointed, so a killed run continues with
the next unfinished step. Each version's correctness is logged (``iterate`` events) but never
shown to the critic.

::

    from wordgrad.train import SolutionOptimizationConfig, optimize_solutions
    results = optimize_solutions(SolutionOptimizationConfig(model="gpt-4o"), "runs/mmlu")
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import wordgrad as tg
from wordgrad.errors import ConfigurationError
from wordgrad.tasks import load_instance_task
from wordgrad.tasks.evaluation import SolutionObjective, make_critic
from wordgrad.tasks.metrics import parse_choice_letter
from wordgrad.tasks.score import Score
from wordgrad.train.evaluate import paired_summary
from wordgrad.train.instance_optimization import (
    InstanceOptimization,
    InstanceOptimizationConfig,
    side_by_side,
)
from wordgrad.train.loop import Projection
from wordgrad.train.objective import CritiqueFn, Instance, Trajectory
from wordgrad.train.runs import Run

solve_side_by_side = side_by_side
"""Kept for callers of the earlier name."""

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
        batch_size: questions handled side by side.
        steps: stop after this many steps (``None``: every question); a step advances each
            active question by one version.
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


def choice_measure(instance: Instance, value: str) -> Score:
    """1.0 when the letter of the ``Answer:`` line is ``instance.data["answer"]``, else 0.0.

    Kept in the log only: the critic of solution optimization never sees it (at test time the
    right answer is unknown).
    """
    letter = parse_choice_letter(value)
    return Score(float(letter == instance.data["answer"]), details={"letter": letter})


class SolutionOptimization(InstanceOptimization):
    """The test-time loop, a use of :class:`~wordgrad.train.instance_optimization.
    InstanceOptimization`: each question is an instance whose starting value is the model's
    zero-shot answer, reviewed by the task's critic (which never sees the right answer).

    A step advances every active question by one iterate (the first step of a question is
    its zero-shot answer); ``batch_size`` questions run side by side. Takes the options of
    :class:`~wordgrad.train.loop.RunLoop`; :func:`optimize_solutions` is the short way to run it.
    """

    kind = "solution"

    def __init__(
        self, config: SolutionOptimizationConfig, run_dir: str | os.PathLike[str], **options: Any
    ) -> None:
        self.solution_config = config
        super().__init__(config, run_dir, self._load_questions, choice_measure, **options)
        self._settings = InstanceOptimizationConfig(
            model=config.model,
            backward_model=config.backward_model,
            iterations=config.iterations,
            batch_size=config.batch_size,
            steps=config.steps,
            reply_tokens=config.reply_tokens,
        )

    @property
    def settings(self) -> InstanceOptimizationConfig:
        return self._settings

    def _load_questions(self) -> list[Instance]:
        c = self.solution_config
        if commands := _not_a_solution_task(c.task):
            raise ConfigurationError(commands)
        dataset = load_instance_task(c.task, None, data_dir=self.data_dir, max_samples=c.size)
        alternatives = c.task.startswith("GPQA_")
        return [
            Instance(
                id=f"q{index}",
                value="",
                role=SOLUTION_ROLE,
                context=str(item[0]),
                constraints=(ANSWER_CONSTRAINT,),
                data={"answer": str(item[1]), "index": index, "alternatives": alternatives},
            )
            for index, item in enumerate(dataset)
        ]

    def prepare(self, instance: Instance) -> Instance:
        """The zero-shot answer becomes the starting value."""
        forward, _ = self.engines()
        question = tg.Variable(instance.context, requires_grad=False, role_description="question")
        with tg.no_grad():
            first = tg.BlackboxLLM(forward)(question).text
        return dataclasses.replace(instance, value=first)

    def critique(self) -> CritiqueFn:
        _, backward = self.engines()
        critics = {flag: make_critic(backward, flag) for flag in (False, True)}

        def review(instance: Instance, value: tg.Variable, score: Score) -> tg.Variable:
            critic = critics[bool(instance.data.get("alternatives"))]
            return SolutionObjective(critic, instance.context)(value)

        return review

    def summarize(self, instance: Instance, trajectory: Trajectory) -> dict[str, Any]:
        iterates = [it.value for it in trajectory.iterates]
        votes = [parse_choice_letter(text) for text in iterates]
        voted = majority_vote(votes)
        answer = str(instance.data["answer"])
        return {
            **super().summarize(instance, trajectory),
            "index": int(instance.data["index"]),
            "answer": answer,
            "iterates": iterates,
            "votes": votes,
            "majority": voted,
            "zero_shot_score": trajectory.start.score.value,
            "majority_score": float(voted == answer),
        }

    def finished(self, run: Run, step: int, index: int, summary: Mapping[str, Any]) -> None:
        keys = ("answer", "iterates", "votes", "majority", "zero_shot_score", "majority_score")
        run.emit("question", step, index=index, **{key: summary[key] for key in keys})

    def saved_variables(self, results: Mapping[str, Any]) -> dict[str, dict[str, str]]:
        """Each question's last answer, under its id."""
        return {
            str(q["id"]): {"value": str(q["final_value"]), "role": SOLUTION_ROLE}
            for q in results.get("instances", [])
        }

    def results(self, summaries: list[dict[str, Any]]) -> dict[str, Any]:
        ordered = sorted(summaries, key=lambda s: int(s["index"]))
        zero_shot = [s["zero_shot_score"] for s in ordered]
        majority = [s["majority_score"] for s in ordered]
        return {
            "kind": self.kind,
            "task": self.solution_config.task,
            "questions": len(ordered),
            "instances": ordered,
            "test": paired_summary(
                zero_shot,
                majority,
                name="test",
                before_label="zero-shot",
                after_label="majority vote",
            ),
            "comparisons": ["test"],
        }

    def projection(self) -> Projection | None:
        base = super().projection() or {}
        questions = len(self.instances)
        size = sum(len(i.context) for i in self.instances) / max(1, questions) / 4
        reply = float(self.settings.reply_tokens or 300)
        return {
            "forward": {
                "calls": questions,
                "prompt_tokens": questions * size,
                "completion_tokens": questions * reply,
            },
            **base,
        }


def _not_a_solution_task(task: str) -> str:
    """Why ``task`` cannot be optimized at test time here ("" when it can)."""
    if task.startswith(("MMLU_", "GPQA_")):
        return ""
    return (
        f"task {task!r} is not a multiple-choice question set, so `optimize solution` cannot "
        "take it; it takes MMLU_<subject> and GPQA_diamond (see `wordgrad tasks`)"
    )


def optimize_solutions(
    config: SolutionOptimizationConfig | None = None,
    run_dir: str | os.PathLike[str] = "runs/solution",
    **options: Any,
) -> dict[str, Any]:
    """Run (or continue) a solution optimization; see :class:`SolutionOptimization`."""
    return SolutionOptimization(config or SolutionOptimizationConfig(), run_dir, **options).run()
