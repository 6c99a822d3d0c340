"""Scoring a model on a split, and the summaries every loop reports (intervals, paired tests).

Evaluation dispatches every example's call before reading any result, so the calls run side by
side (bounded by the concurrency limit); reading results in order keeps scores in split order,
which is what lets two evaluations of the same split be compared pair by pair.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wordgrad.autograd import StringBasedFunction
from wordgrad.executor import counted_as
from wordgrad.graph import no_grad
from wordgrad.loss import MultiFieldTokenParsedEvaluation
from wordgrad.model import BlackboxLLM
from wordgrad.tasks.objectives import Example as OwnExample
from wordgrad.tasks.objectives import Metric
from wordgrad.train.progress import Reporter, SilentReporter
from wordgrad.train.stats import bootstrap_ci, compare_paired
from wordgrad.variable import Variable

EvalFn = StringBasedFunction | MultiFieldTokenParsedEvaluation | Metric
"""A benchmark's eval function (exact scorer or LLM judge) or a metric of one's own data."""
Example = tuple[str, str] | tuple[str, str, OwnExample]
"""``(input, target)``, or with the whole record for metrics of one's own data."""

QUESTION_ROLE = "question for the language model"
ANSWER_ROLE = "correct answer to the question"


def question_variable(text: str) -> Variable:
    return Variable(text, requires_grad=False, role_description=QUESTION_ROLE)


def answer_variable(text: str) -> Variable:
    return Variable(text, requires_grad=False, role_description=ANSWER_ROLE)


def judge(
    eval_fn: EvalFn,
    question: Variable,
    answer: Variable,
    prediction: Variable,
    example: OwnExample | None = None,
) -> Variable:
    """The evaluation of one prediction, as a variable (a loss in training).

    Exact metrics are called as ``eval_fn(inputs=dict(prediction=..., ground_truth_answer=...))``
    and LLM judges as ``eval_fn([question, answer, prediction])``, as upstream's scripts do;
    a :class:`~wordgrad.tasks.objectives.Metric` through its ``loss``.
    """
    if isinstance(eval_fn, Metric):
        own = example or OwnExample(question.text, answer.text)
        return eval_fn.loss(question, answer, prediction, own)
    if isinstance(eval_fn, MultiFieldTokenParsedEvaluation):
        return eval_fn.forward([question, answer, prediction])
    return eval_fn.forward(inputs={"prediction": prediction, "ground_truth_answer": answer})


def score_of(eval_fn: EvalFn, evaluation: Variable) -> float:
    """The 0..1 score in an evaluation's value ("1", "0", or a judge's tagged verdict)."""
    if isinstance(eval_fn, Metric):
        return eval_fn.score_of(evaluation)
    text = evaluation.text
    if isinstance(eval_fn, MultiFieldTokenParsedEvaluation):
        text = eval_fn.parse_output(text)
    try:
        return min(1.0, max(0.0, float(text.strip())))
    except ValueError:
        return 0.0  # an unreadable verdict counts as wrong


def evaluate(
    model: BlackboxLLM | Callable[[Variable], Variable],
    examples: Sequence[Example],
    eval_fn: EvalFn,
    *,
    reporter: Reporter | None = None,
    description: str = "evaluating",
    predictions: list[str] | None = None,
) -> list[float]:
    """Per-example scores of ``model`` on ``examples``, in order.

    No graph is recorded, and every call counts as "evaluation" in usage tables. When
    ``predictions`` is a list, the model's outputs are appended to it, in the same order.
    """
    reporter = reporter or SilentReporter()
    with no_grad(), counted_as("evaluation"):
        outputs, evaluations = [], []
        for example in examples:
            question, answer = example[0], example[1]
            own = example[2] if len(example) > 2 else None
            x = question_variable(question)
            output = model(x)
            outputs.append(output)
            evaluations.append(judge(eval_fn, x, answer_variable(answer), output, own))
        scores = []
        with reporter.task(description, len(evaluations)) as advance:
            for evaluation in evaluations:
                scores.append(score_of(eval_fn, evaluation))
                advance()
    if predictions is not None:
        predictions.extend(output.text for output in outputs)
    return scores


def accuracy_summary(scores: Sequence[float]) -> dict[str, Any]:
    """``{"accuracy", "ci_low", "ci_high", "n"}``: the mean with its 95% bootstrap interval."""
    if not scores:
        return {"accuracy": None, "ci_low": None, "ci_high": None, "n": 0}
    mean, low, high = bootstrap_ci(scores)
    return {"accuracy": mean, "ci_low": low, "ci_high": high, "n": len(scores)}


def paired_summary(
    before: Sequence[float],
    after: Sequence[float],
    *,
    name: str,
    before_label: str = "before",
    after_label: str = "after",
) -> dict[str, Any]:
    """Before/after on the same examples: both summaries, the difference and the paired test.

    ``name`` ("validation") and the labels ("zero-shot", "majority vote") are for printing.
    """
    labels = {"name": name, "before_label": before_label, "after_label": after_label}
    if not before:
        return {**labels, "before": accuracy_summary([]), "after": accuracy_summary([])}
    comparison = compare_paired(before, after)
    return {
        **labels,
        "before": accuracy_summary(before),
        "after": accuracy_summary(after),
        "difference": comparison.difference.mean,
        "difference_ci": [comparison.difference.low, comparison.difference.high],
        "p_value": comparison.p_value,
        "test": comparison.test,
        "gained": comparison.gained,
        "lost": comparison.lost,
    }


def format_accuracy(summary: Mapping[str, Any]) -> str:
    """``"0.450 [0.250, 0.650] (n=20)"``."""
    if not summary.get("n"):
        return "n/a (no examples)"
    return (
        f"{summary['accuracy']:.3f} [{summary['ci_low']:.3f}, {summary['ci_high']:.3f}] "
        f"(n={summary['n']})"
    )


def format_comparison(comparison: Mapping[str, Any]) -> str:
    """Before and after with their intervals, then the difference and its paired test."""
    name, before, after = (
        comparison["name"],
        comparison["before_label"],
        comparison["after_label"],
    )
    width = max(len(before), len(after))
    lines = [
        f"{name} accuracy {before + ':':<{width + 1}} {format_accuracy(comparison['before'])}",
        f"{name} accuracy {after + ':':<{width + 1}} {format_accuracy(comparison['after'])}",
    ]
    if "difference" in comparison:
        low, high = comparison["difference_ci"]
        lines.append(
            f"{name} difference: {comparison['difference']:+.3f} [{low:+.3f}, {high:+.3f}], "
            f"{comparison['gained']} up / {comparison['lost']} down, "
            f"{comparison['test']} p={comparison['p_value']:.3g}"
        )
    return "\n".join(lines)


def format_results(results: Mapping[str, Any]) -> str:
    """The comparisons a loop's results list under ``"comparisons"``, one block each."""
    return "\n".join(format_comparison(results[key]) for key in results.get("comparisons", []))
