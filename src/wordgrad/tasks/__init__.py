"""Benchmark tasks: data sets, splits and metrics, loaded the way upstream textgrad users do.

::

    train, val, test, eval_fn = tg.tasks.load_task("BBH_object_counting", evaluation_api=engine)
    for xs, ys in tg.tasks.DataLoader(train, batch_size=3, seed=42): ...
    questions = tg.tasks.load_instance_task("MMLU_machine_learning", evaluation_api=engine)

Data is read from ``data_dir=`` or ``$WORDGRAD_DATA`` first, then from the download cache, and
downloaded (from pinned public URLs) only when missing; see :mod:`wordgrad.tasks.data`.

Metrics: ``load_task(..., metric=...)`` picks how predictions are scored.

- ``"default"``: as upstream. BBH object counting and GSM8K compare the final numbers exactly;
  the other BBH tasks ask an LLM judge (``evaluation_api``) whether the answer is right.
- ``"exact"``: a deterministic scorer for every task (numbers, option letters, sorted word
  lists, short texts; see :mod:`wordgrad.tasks.metrics`): free, repeatable, no judge errors.
- ``"llm"``: the LLM judge for every task.
"""

from __future__ import annotations

import os
from typing import Literal

from wordgrad.autograd import StringBasedFunction
from wordgrad.engine.base import EngineLM
from wordgrad.loss import MultiFieldTokenParsedEvaluation
from wordgrad.tasks import metrics
from wordgrad.tasks.bbh import BBH_TASKS, BigBenchHard, answer_fn
from wordgrad.tasks.dataset import DataLoader, Dataset
from wordgrad.tasks.evaluation import exact_eval_fn, judge_eval_fn
from wordgrad.tasks.gsm8k import GSM8K_DSPy
from wordgrad.tasks.humaneval import HumanEval
from wordgrad.tasks.instance import GPQAInstanceDataset, MMLUInstanceDataset
from wordgrad.tasks.leetcode import LeetCodeHardEval
from wordgrad.tasks.mmlu import MMLU
from wordgrad.variable import Variable

Metric = Literal["default", "exact", "llm"]
EvalFn = StringBasedFunction | MultiFieldTokenParsedEvaluation
PathLike = str | os.PathLike[str] | None

AVAILABLE_DATASETS = [*(f"BBH_{task}" for task in BBH_TASKS), "GSM8K_DSPy"]
"""Names :func:`load_task` accepts."""

AVAILABLE_INSTANCE_DATASETS = [
    "MMLU_machine_learning",
    "MMLU_college_physics",
    "GPQA_diamond",
    "LeetCodeHardEval",
    "HumanEval",
]
"""Names :func:`load_instance_task` accepts (any MMLU subject works as ``MMLU_<subject>``)."""


def load_task(
    task_name: str,
    evaluation_api: EngineLM | str | None = None,
    *,
    metric: Metric = "default",
    data_dir: PathLike = None,
    shuffle_seed: int | None = None,
) -> tuple[Dataset[tuple[str, str]], Dataset[tuple[str, str]], Dataset[tuple[str, str]], EvalFn]:
    """``(train, val, test, eval_fn)`` for a prompt-optimization task.

    Args:
        task_name: ``"BBH_<task>"`` for any of the 27 BIG-Bench Hard tasks, or ``"GSM8K_DSPy"``.
        evaluation_api: the LLM judge's engine, when the metric uses one (``None``: the default
            engine at call time).
        metric: ``"default"``, ``"exact"`` or ``"llm"`` (see the module docs).
        data_dir: a data folder to read first (else ``$WORDGRAD_DATA``, then the download cache).
        shuffle_seed: BBH only; shuffle before splitting (upstream's code keeps file order).

    Raises:
        ValueError: an unknown task name or metric.
        DataError: the data is missing and cannot be downloaded, or is corrupt.
    """
    _check_name(task_name)
    if metric not in ("default", "exact", "llm"):
        raise ValueError(f"metric must be 'default', 'exact' or 'llm', got {metric!r}")
    if task_name.startswith("BBH_") and task_name[4:] in BBH_TASKS:
        task = task_name[4:]
        train, val, test = (
            BigBenchHard(task, split, data_dir=data_dir, shuffle_seed=shuffle_seed)
            for split in ("train", "val", "test")
        )
        exact_by_default = task == "object_counting"
        return train, val, test, _eval_fn(metric, exact_by_default, answer_fn(task), evaluation_api)
    if task_name == "GSM8K_DSPy":
        if shuffle_seed is not None:
            raise ValueError("GSM8K_DSPy has a fixed split; shuffle_seed applies to BBH tasks only")
        splits = [GSM8K_DSPy(s, data_dir=data_dir) for s in ("train", "val", "test")]
        equality = metrics.string_based_equality_fn
        return splits[0], splits[1], splits[2], _eval_fn(metric, True, equality, evaluation_api)
    raise ValueError(
        f"unknown task {task_name!r}; load_task knows: {', '.join(AVAILABLE_DATASETS)}"
    )


def _check_name(task_name: object) -> None:
    if not isinstance(task_name, str):
        raise TypeError(
            f"task_name must be a string such as 'BBH_object_counting', got "
            f"{type(task_name).__name__}"
        )


def _eval_fn(
    metric: Metric,
    exact_by_default: bool,
    scorer: metrics.AnswerFn,
    evaluation_api: EngineLM | str | None,
) -> EvalFn:
    if metric == "exact" or (metric == "default" and exact_by_default):
        return exact_eval_fn(scorer)
    return judge_eval_fn(evaluation_api)


def load_instance_task(
    task_name: str,
    evaluation_api: EngineLM | str | None = None,
    *,
    data_dir: PathLike = None,
    max_samples: int | None = None,
) -> Dataset[tuple[object, ...]]:
    """The data set of a solution- or code-optimization task (test questions only).

    - ``"MMLU_<subject>"`` (e.g. ``MMLU_machine_learning``) and ``"GPQA_diamond"``: items are
      ``(question_prompt, answer_letter, test_time_objective, instance_eval_fn)``; the objective
      uses ``evaluation_api`` as its critic.
    - ``"LeetCodeHardEval"`` and ``"HumanEval"``: items are ``(task_id, prompt, tests)``; score a
      solution with :func:`wordgrad.tasks.code.run_tests` (in :mod:`wordgrad.sandbox`).

    Raises:
        ValueError: an unknown task name.
        DataError: the data is missing and cannot be downloaded, or is corrupt.
    """
    _check_name(task_name)
    dataset: Dataset[tuple[object, ...]]
    if task_name.startswith("MMLU_"):
        dataset = MMLUInstanceDataset(
            evaluation_api, task_name[5:], "test", data_dir=data_dir, max_samples=max_samples
        )
    elif task_name.startswith("GPQA_"):
        dataset = GPQAInstanceDataset(
            evaluation_api, task_name.lower(), data_dir=data_dir, max_samples=max_samples
        )
    elif task_name == "LeetCodeHardEval":
        dataset = LeetCodeHardEval(data_dir=data_dir)
    elif task_name == "HumanEval":
        dataset = HumanEval(data_dir=data_dir)
    else:
        raise ValueError(
            f"unknown instance task {task_name!r}; load_instance_task knows: "
            f"{', '.join(AVAILABLE_INSTANCE_DATASETS)}"
        )
    return dataset


__all__ = [
    "AVAILABLE_DATASETS",
    "AVAILABLE_INSTANCE_DATASETS",
    "MMLU",
    "BigBenchHard",
    "DataLoader",
    "Dataset",
    "EngineLM",
    "GPQAInstanceDataset",
    "GSM8K_DSPy",
    "HumanEval",
    "LeetCodeHardEval",
    "MMLUInstanceDataset",
    "Variable",
    "load_instance_task",
    "load_task",
]
