"""Instance tasks: single questions whose *answer* is optimized at test time (MMLU, GPQA).

Each item is ``(question_prompt, answer_letter, test_time_objective, instance_eval_fn)``:
``test_time_objective(solution)`` is a critic's review to call ``backward()`` on, and
``instance_eval_fn(solution)`` scores the solution's final ``Answer: X`` line (1.0 or 0.0).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from wordgrad.engine.base import EngineLM
from wordgrad.tasks import gpqa, mmlu
from wordgrad.tasks.dataset import Dataset
from wordgrad.tasks.evaluation import SolutionObjective, make_critic
from wordgrad.tasks.multichoice import ChoiceScorer, MultipleChoiceQuestion

InstanceItem = tuple[str, str, SolutionObjective, ChoiceScorer]


class MultipleChoiceInstanceDataset(Dataset[InstanceItem]):
    """Multiple-choice questions as instance items, all sharing one critic."""

    def __init__(
        self,
        questions: Sequence[MultipleChoiceQuestion],
        evaluation_api: EngineLM | str | None,
        *,
        alternatives: bool = False,
        max_samples: int | None = None,
    ) -> None:
        critic = make_critic(evaluation_api, alternatives)
        chosen = questions if max_samples is None else questions[:max_samples]
        items = []
        for question in chosen:
            prompt = question.prompt()
            objective = SolutionObjective(critic, prompt)
            items.append((prompt, question.answer, objective, ChoiceScorer(question.answer)))
        super().__init__(items)
        self.questions = list(chosen)


class MMLUInstanceDataset(MultipleChoiceInstanceDataset):
    """An MMLU subject's questions as instance items (upstream's name and argument order).

    Args:
        evaluation_api: the critic's engine (``None``: the default engine when called).
        subset: the subject, e.g. ``"machine_learning"``.
        split: ``"test"`` (default), or ``"train"``/``"dev"``.
        data_dir: a data folder to read first (else ``$WORDGRAD_DATA``, then the download cache).
        max_samples: keep only the first this many questions.
    """

    def __init__(
        self,
        evaluation_api: EngineLM | str | None,
        subset: str,
        split: mmlu.Split = "test",
        *,
        data_dir: str | os.PathLike[str] | None = None,
        max_samples: int | None = None,
    ) -> None:
        questions = mmlu.load_questions(subset, split, data_dir)
        super().__init__(questions, evaluation_api, max_samples=max_samples)
        self.subset = subset


class GPQAInstanceDataset(MultipleChoiceInstanceDataset):
    """GPQA Diamond as instance items; the critic also weighs the other options.

    Args:
        evaluation_api: the critic's engine (``None``: the default engine when called).
        subset: ``"gpqa_diamond"``, the only subset with a public copy.
        data_dir: a data folder to read first (else ``$WORDGRAD_DATA``, then the download cache).
        upstream_order: upstream's option order, with the right answer always C (see
            :mod:`wordgrad.tasks.gpqa`); only for comparing with published numbers.
        max_samples: keep only the first this many questions.
    """

    def __init__(
        self,
        evaluation_api: EngineLM | str | None,
        subset: str = "gpqa_diamond",
        *,
        data_dir: str | os.PathLike[str] | None = None,
        upstream_order: bool = False,
        max_samples: int | None = None,
    ) -> None:
        questions = gpqa.load_questions(subset, data_dir, upstream_order=upstream_order)
        super().__init__(questions, evaluation_api, alternatives=True, max_samples=max_samples)
        self.subset = subset
