"""Metrics for one's own data: how a prediction is scored against an example.

A metric is called as ``metric(prediction, example)`` and returns a
:class:`~wordgrad.tasks.score.Score` (0..1 for the built-in ones; higher is better). Its
``feedback`` text reaches the backward pass with the score, so a metric can say *why* an answer
is wrong (GEPA's "side information").

=============  ===========================================================================
``exact``      the final answer (after the last ``Answer:``, else the last line) equals the
               target, ignoring case, quotes and punctuation (:class:`ExactMatch`)
``numeric``    the answer's number equals the target's, within a relative tolerance
               (:class:`NumericMatch`)
``choice``     the option letter picked equals the target letter (:class:`MultipleChoice`)
``regex``      a regular expression must match the prediction; with a group, the group must
               equal the target (:class:`RegexMatch`)
``judge``      an LLM grades the prediction against the target with a rubric, 0..10 scaled to
               0..1 (:class:`LLMJudge`; costs a call per example)
``module:fn``  a Python function ``fn(prediction, example)`` returning a Score, a number or
               ``(number, feedback)`` (:class:`FunctionMetric`)
=============  ===========================================================================

An ``example`` is a :class:`Example`: ``input`` and ``target`` texts plus the whole ``record``
(every field of the JSONL line or CSV row), so a function metric can read any field.

In a training graph, :meth:`Metric.loss` puts the metric in as a
:class:`~wordgrad.autograd.StringBasedFunction` (its output, "score: 0.5" and the feedback, is
what the feedback writer reads); the judge is an LLM call, so the gradient flows through it.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wordgrad import prompts
from wordgrad.autograd import StringBasedFunction
from wordgrad.engine.base import EngineLM
from wordgrad.errors import ConfigurationError
from wordgrad.loss import MultiFieldTokenParsedEvaluation
from wordgrad.tasks import metrics
from wordgrad.tasks.score import Score, as_score
from wordgrad.variable import Variable

BUILT_IN = ("exact", "numeric", "choice", "regex", "judge")
"""Names :func:`make_metric` knows, besides ``module:function``."""


@dataclass(frozen=True)
class Example:
    """One example of one's own data: the model's input, the expected output, the record."""

    input: str
    target: str
    record: Mapping[str, Any] = field(default_factory=dict)


class Metric:
    """Scores a prediction against an example; subclasses implement :meth:`score`."""

    name = "metric"
    purpose = "scores the prediction against the expected answer"
    uses_llm = False

    def score(self, prediction: str, example: Example) -> Score:
        raise NotImplementedError

    def __call__(self, prediction: str, example: Example) -> Score:
        return self.score(prediction, example)

    # ------------------------------------------------------------------ in the graph

    def loss(
        self, question: Variable, answer: Variable, prediction: Variable, example: Example
    ) -> Variable:
        """The metric's verdict on ``prediction`` as a Variable (a loss to call backward on).

        Its text is ``score: X`` and, when there is one, the feedback; the feedback writer
        reads it with the prediction and the expected answer.
        """

        def verdict(prediction: Variable, expected_answer: Variable) -> str:
            return format_verdict(self.score(prediction.text, example))

        function = StringBasedFunction(verdict, function_purpose=self.purpose)
        return function(inputs={"prediction": prediction, "expected_answer": answer})

    def score_of(self, loss: Variable) -> float:
        """The number in a :meth:`loss` value."""
        return parse_verdict(loss.text)


def format_verdict(score: Score) -> str:
    """``"score: 0.5"`` plus a line of feedback when there is some."""
    text = f"score: {score.value:g}"
    if score.feedback.strip():
        text += f"\nfeedback: {score.feedback.strip()}"
    return text


def parse_verdict(text: str) -> float:
    """The number after ``score:`` on the first line (0.0 when unreadable)."""
    found = re.match(r"\s*score:\s*(-?[\d.]+(?:e-?\d+)?)", text)
    try:
        return float(found.group(1)) if found else 0.0
    except ValueError:
        return 0.0


class ExactMatch(Metric):
    """The final answer equals the target, ignoring case, quotes and sentence punctuation."""

    name = "exact"
    purpose = "checks whether the prediction's final answer is exactly the expected answer"

    def score(self, prediction: str, example: Example) -> Score:
        matched = metrics.exact_text_equality_fn(prediction, example.target)
        if matched:
            return Score(1.0)
        answer = metrics.final_answer_text(prediction)
        return Score(0.0, f"the final answer {_short(answer)} is not {_short(example.target)}")


class NumericMatch(Metric):
    """The answer's number equals the target's within ``rel_tol`` (relative) or ``abs_tol``."""

    name = "numeric"
    purpose = "checks whether the number the prediction gives as its answer is the expected one"

    def __init__(self, rel_tol: float = 1e-6, abs_tol: float = 1e-9) -> None:
        self.rel_tol, self.abs_tol = rel_tol, abs_tol

    def score(self, prediction: str, example: Example) -> Score:
        expected = metrics.parse_number(example.target)
        if expected is None:
            raise ConfigurationError(
                f"the numeric metric found no number in the target {_short(example.target)}; "
                "use --metric exact for targets that are not numbers"
            )
        got = metrics.parse_number(prediction)
        if got is None:
            return Score(0.0, "the prediction gives no number as its answer")
        if math.isclose(float(got), float(expected), rel_tol=self.rel_tol, abs_tol=self.abs_tol):
            return Score(1.0)
        return Score(0.0, f"the answer {got} is not {expected}")


class MultipleChoice(Metric):
    """The option letter the prediction picks equals the target letter."""

    name = "choice"
    purpose = "checks whether the option the prediction picks is the correct option"

    def __init__(self, letters: str = "ABCDEFGHIJ") -> None:
        self.letters = letters

    def score(self, prediction: str, example: Example) -> Score:
        expected = metrics.parse_choice_letter(example.target, self.letters)
        if expected is None:
            raise ConfigurationError(
                f"the choice metric found no option letter in the target "
                f"{_short(example.target)}; targets must be letters such as 'B' or '(B)'"
            )
        got = metrics.parse_choice_letter(prediction, self.letters)
        if got == expected:
            return Score(1.0)
        if got is None:
            return Score(0.0, "the prediction picks no option letter")
        return Score(0.0, f"the prediction picks {got}, not {expected}")


class RegexMatch(Metric):
    """``pattern`` must be found in the prediction; with a group, the group must equal the
    target (compared as :class:`ExactMatch` does). Without a group the target is not used."""

    name = "regex"
    purpose = "checks the prediction against a regular expression"

    def __init__(self, pattern: str) -> None:
        try:
            self.pattern = re.compile(pattern, re.MULTILINE)
        except re.error as error:
            raise ConfigurationError(f"bad --pattern {pattern!r}: {error}") from None

    def score(self, prediction: str, example: Example) -> Score:
        found = None
        for found in self.pattern.finditer(prediction):  # noqa: B007 - the last match
            pass
        if found is None:
            return Score(0.0, f"the prediction does not match the pattern {self.pattern.pattern}")
        if self.pattern.groups == 0:
            return Score(1.0)
        captured = found.group(1) or ""
        if metrics.exact_text_equality_fn(f"Answer: {captured}", example.target):
            return Score(1.0)
        return Score(0.0, f"the pattern captured {_short(captured)}, not {_short(example.target)}")


class LLMJudge(Metric):
    """An LLM grades each prediction from 0 to 10 against the target and a rubric.

    Args:
        rubric: what a good answer is ("Correct, complete, and under 50 words.").
        engine: the judge (``None``: the backward engine when called).
    """

    name = "judge"
    uses_llm = True
    TAGS = ("<SCORE>", "</SCORE>")

    def __init__(self, rubric: str = "", engine: EngineLM | str | None = None) -> None:
        self.rubric = rubric.strip() or prompts.render("task.rubric_default")
        self.engine = engine
        self.instruction = prompts.render("task.rubric_judge", rubric=self.rubric)
        self._evaluation: MultiFieldTokenParsedEvaluation | None = None

    def with_engine(self, engine: EngineLM | str | None) -> LLMJudge:
        return LLMJudge(self.rubric, engine)

    @property
    def evaluation(self) -> MultiFieldTokenParsedEvaluation:
        if self._evaluation is None:
            self._evaluation = MultiFieldTokenParsedEvaluation(
                self.instruction,
                ["input given to the language model", "expected answer", "prediction to grade"],
                engine=self.engine,
                parse_tags=list(self.TAGS),
            )
        return self._evaluation

    def loss(
        self, question: Variable, answer: Variable, prediction: Variable, example: Example
    ) -> Variable:
        return self.evaluation.forward([question, answer, prediction])

    def score_of(self, loss: Variable) -> float:
        text = self.evaluation.parse_output(loss.text)
        try:
            return min(1.0, max(0.0, float(text) / 10))
        except ValueError:
            return 0.0

    def score(self, prediction: str, example: Example) -> Score:
        question = Variable(example.input, requires_grad=False, role_description="input")
        answer = Variable(example.target, requires_grad=False, role_description="expected answer")
        verdict = self.loss(
            question,
            answer,
            Variable(prediction, requires_grad=False, role_description="prediction"),
            example,
        )
        return Score(self.score_of(verdict), verdict.text)


class FunctionMetric(Metric):
    """The user's function ``fn(prediction, example)``: a Score, a number or ``(n, feedback)``.

    ``example`` is an :class:`Example` (``.input``, ``.target``, ``.record``).
    """

    def __init__(self, fn: Callable[[str, Example], object], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or str(getattr(fn, "__qualname__", "function"))
        doc = (getattr(fn, "__doc__", None) or "").strip().splitlines()
        self.purpose = doc[0].rstrip(".") if doc else f"scores the prediction ({self.name})"

    def score(self, prediction: str, example: Example) -> Score:
        return as_score(self.fn(prediction, example))


def load_function(spec: str) -> Callable[..., Any]:
    """The function named ``"package.module:function"``.

    Raises:
        ConfigurationError: the module cannot be imported or has no such function.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"{spec!r} is not 'module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError(
            f"cannot import {module_name!r} for {spec!r}: {error}; is it on PYTHONPATH?"
        ) from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise ConfigurationError(f"{module_name!r} has no function {attribute!r}")
    return function  # type: ignore[no-any-return]


def make_metric(
    metric: str | Metric | Callable[[str, Example], object],
    *,
    pattern: str | None = None,
    rubric: str | None = None,
    engine: EngineLM | str | None = None,
) -> Metric:
    """A :class:`Metric` from a name (see the module docs), a function or a metric.

    Raises:
        ConfigurationError: an unknown name, ``regex`` without ``pattern``, or a
            ``module:function`` that cannot be found.
    """
    if isinstance(metric, Metric):
        return metric
    if callable(metric):
        return FunctionMetric(metric)
    if ":" in metric:
        return FunctionMetric(load_function(metric), name=metric)
    if metric == "exact":
        return ExactMatch()
    if metric == "numeric":
        return NumericMatch()
    if metric == "choice":
        return MultipleChoice()
    if metric == "regex":
        if not pattern:
            raise ConfigurationError("--metric regex needs --pattern REGEX")
        return RegexMatch(pattern)
    if metric == "judge":
        return LLMJudge(rubric or "", engine)
    raise ConfigurationError(
        f"unknown metric {metric!r}; use one of {', '.join(BUILT_IN)}, or 'module:function' "
        "for a Python function fn(prediction, example) returning a score (and feedback)"
    )


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
