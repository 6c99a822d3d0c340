"""Optimize one text value against a measured objective, at test time.

The loop of TextGrad's test-time optimization (code, molecules, treatment plans, answers),
with the measurement in the user's hands::

    measure -> critique (an LLM reads the value and its measurement) -> backward -> TGD step
            -> measure -> ...

A **measure** is a plain module-level function ``measure(instance, value) -> Score`` (or
anything :func:`as_score` accepts). Being module-level, it pickles, so it can later run in a
worker process. Its :class:`Score` carries the number to maximize, the ``feedback`` text that the
critic reads (GEPA's "side information": compiler errors, failing tests, docking messages) and
JSON-able ``details`` kept in the run log.

One instance, in memory::

    from wordgrad.train.objective import Instance, Score, optimize_value

    def measure(instance: Instance, value: str) -> Score:
        return Score(float(len(value) < 80), feedback=f"{len(value)} characters")

    trajectory = optimize_value(Instance("t1", "a long first draft ...", role="tagline"),
                                measure, iterations=3, engine=engine)
    trajectory.best.value, [it.score.value for it in trajectory.iterates]

Many instances side by side in a run directory (checkpoint per step, one ``iterate`` event per
iterate, resume after ``kill -9``, budgets, live view, report): :class:`TestTimeOptimization`
or :func:`optimize_instances`.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from wordgrad import prompts
from wordgrad.autograd import FormattedLLMCall
from wordgrad.config import resolve_engine
from wordgrad.engine.base import EngineLM
from wordgrad.errors import InvalidInputError, UpdateParseError
from wordgrad.optimizer import TextualGradientDescent
from wordgrad.tasks.score import Score, as_score
from wordgrad.variable import Variable

__all__ = [
    "Critic",
    "CritiqueFn",
    "Instance",
    "Iterate",
    "Measure",
    "Score",
    "StopWhen",
    "Trajectory",
    "ValueOptimizer",
    "as_score",
    "instances_fingerprint",
    "measure_name",
    "optimize_value",
]


# --------------------------------------------------------------------------- instances


@dataclass(frozen=True)
class Instance:
    """One thing to optimize at test time.

    Attributes:
        id: a name unique within a run (it labels events, checkpoints and the report).
        value: the starting value (code, SMILES, plan parameters as text, an answer).
        role: the value's role description, as the feedback writer and optimizer see it
            ("Python function solving the problem below").
        context: what the critic sees besides the value: the problem statement, the target.
        constraints: rules every new value must obey (given to TGD).
        data: JSON-able data the measure needs (test cases, a receptor file's path).
    """

    id: str
    value: str
    role: str
    context: str = ""
    constraints: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("id", "value", "role", "context"):
            if not isinstance(getattr(self, name), str):
                raise InvalidInputError(
                    f"Instance.{name} must be a str, got {type(getattr(self, name)).__name__}"
                )
        if not self.id:
            raise InvalidInputError("Instance.id must not be empty")
        if isinstance(self.constraints, str):
            raise InvalidInputError("Instance.constraints must be a list of rules, not one str")
        object.__setattr__(self, "constraints", tuple(str(c) for c in self.constraints))
        try:
            data = json.loads(json.dumps(dict(self.data)))
        except (TypeError, ValueError) as error:
            raise InvalidInputError(f"Instance.data must be JSON-able: {error}") from None
        object.__setattr__(self, "data", data)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "value": self.value,
            "role": self.role,
            "context": self.context,
            "constraints": list(self.constraints),
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Instance:
        return cls(
            id=str(data["id"]),
            value=str(data["value"]),
            role=str(data["role"]),
            context=str(data.get("context", "")),
            constraints=tuple(data.get("constraints", ())),
            data=dict(data.get("data", {})),
        )


class Measure(Protocol):
    """``measure(instance, value)``: a :class:`Score`, a number, or ``(number, feedback)``."""

    def __call__(self, instance: Instance, value: str, /) -> object: ...


StopWhen = Callable[[Score], bool]
"""Early stop: ``stop_when(score)`` is true once an iterate is good enough."""


def measure_name(measure: Measure) -> str:
    """``"module:qualname"`` of a measure, checking that it can be pickled.

    Raises:
        InvalidInputError: for a lambda, a nested function or another object that does not
            pickle (it could not be sent to a worker process).
    """
    module = getattr(measure, "__module__", None)
    qualname = getattr(measure, "__qualname__", None) or type(measure).__qualname__
    try:
        pickle.dumps(measure)
    except Exception as error:  # pickling raises many kinds (PicklingError, AttributeError ...)
        raise InvalidInputError(
            f"the measure {qualname!r} cannot be pickled ({error}); define it as a plain "
            "function at the top level of a module (not a lambda or a nested function)"
        ) from None
    if "<" in str(qualname):
        raise InvalidInputError(
            f"the measure {qualname!r} is not a module-level function; define it at the top "
            "level of a module so it can be found by name and sent to workers"
        )
    return f"{module}:{qualname}"


# --------------------------------------------------------------------------- trajectories


@dataclass(frozen=True)
class Iterate:
    """One value in a trajectory and its measurement.

    Attributes:
        iteration: 0 for the starting value, then 1, 2, ...
        value: the text measured.
        score: its measurement.
        critique: the critic's review of the previous value that led to this one ("" at 0).
        gradient: the feedback the value's update was based on ("" at 0).
        parse_error: set when the optimizer's reply held no new value, so the value was kept.
    """

    iteration: int
    value: str
    score: Score
    critique: str = ""
    gradient: str = ""
    parse_error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "value": self.value,
            "score": self.score.as_dict(),
            "critique": self.critique,
            "gradient": self.gradient,
            "parse_error": self.parse_error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Iterate:
        return cls(
            iteration=int(data["iteration"]),
            value=str(data["value"]),
            score=Score.from_dict(data["score"]),
            critique=str(data.get("critique", "")),
            gradient=str(data.get("gradient", "")),
            parse_error=str(data.get("parse_error", "")),
        )


@dataclass(frozen=True)
class Trajectory:
    """Every iterate of one instance, the starting value first.

    ``stopped`` says why it ended: ``"iterations"`` (all done) or ``"stop_when"`` (early stop).
    """

    instance_id: str
    iterates: tuple[Iterate, ...]
    stopped: str = "iterations"

    @property
    def start(self) -> Iterate:
        return self.iterates[0]

    @property
    def final(self) -> Iterate:
        return self.iterates[-1]

    @property
    def best(self) -> Iterate:
        """The iterate with the highest score (the earliest among equals)."""
        return max(self.iterates, key=lambda it: (it.score.value, -it.iteration))

    @property
    def scores(self) -> list[float]:
        return [it.score.value for it in self.iterates]

    def as_dict(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "stopped": self.stopped,
            "iterates": [it.as_dict() for it in self.iterates],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trajectory:
        return cls(
            str(data["instance_id"]),
            tuple(Iterate.from_dict(it) for it in data["iterates"]),
            str(data.get("stopped", "iterations")),
        )


# --------------------------------------------------------------------------- the critic


def format_measurement(score: Score) -> str:
    """How a score is shown to the critic: the number and the feedback text.

    ``details`` are not shown (they go to the run log); put what the critic should read in
    ``feedback``.
    """
    feedback = score.feedback.strip()
    return prompts.render(
        "objective.measurement",
        value=f"{score.value:g}",
        feedback=prompts.render("objective.measurement_feedback", feedback=feedback)
        if feedback
        else "",
    ).rstrip()


CritiqueFn = Callable[[Instance, Variable, Score], Variable]
"""``critique(instance, value, score)``: a review of ``value`` (a Variable in the graph, so
``backward()`` from it reaches ``value``). :class:`Critic` is the default."""


class Critic:
    """An LLM reviews a value in the light of its measurement; the review is the loss.

    Args:
        engine: the reviewer (``None``: the backward engine when called).
        instruction: replaces the default instruction (template ``objective.critic_instruction``).
    """

    def __init__(self, engine: EngineLM | str | None = None, instruction: str | None = None):
        self.instruction = Variable(
            instruction
            if instruction is not None
            else prompts.render("objective.critic_instruction"),
            requires_grad=False,
            role_description=prompts.render("objective.role_instruction"),
        )
        system = Variable(
            prompts.render("objective.critic_system"),
            requires_grad=False,
            role_description=prompts.render("role.evaluation_prompt"),
        )
        self.call = FormattedLLMCall(
            engine,
            prompts.TEMPLATES["objective.critic_user"],
            ["instruction", "context", "measurement", "value"],
            system,
        )
        self.call.purpose = "evaluation"

    def __call__(self, instance: Instance, value: Variable, score: Score) -> Variable:
        """The critique of ``value`` (a Variable to call ``backward()`` on)."""
        context = Variable(
            instance.context or "(none given)",
            requires_grad=False,
            role_description=prompts.render("objective.role_context"),
        )
        measurement = Variable(
            format_measurement(score),
            requires_grad=False,
            role_description=prompts.render("objective.role_measurement"),
        )
        return self.call(
            {
                "instruction": self.instruction,
                "context": context,
                "measurement": measurement,
                "value": value,
            },
            response_role_description=prompts.render(
                "role.evaluation", role=value.role_description
            ),
        )


# --------------------------------------------------------------------------- one instance


class ValueOptimizer:
    """The optimization of one instance, one iterate at a time (what the run loop drives).

    Args:
        instance: what to optimize.
        measure: ``measure(instance, value)``; its result goes through :func:`as_score`.
        critic_engine: reviews each value (``None``: the backward engine).
        backward_engine: writes the feedback (gradient) from the review (``None``: the
            backward engine).
        optimizer_engine: rewrites the value (``None``: the backward engine).
        momentum_window: show TGD the last k values with their feedback (0: plain TGD).
        critic_instruction: replaces the critic's default instruction.
        critique: replaces the critic altogether (see :data:`CritiqueFn`).
        stop_when: end early once this holds for an iterate's score.
        iterations: updates after the starting value (so ``iterations + 1`` measurements).

    Call :meth:`advance` until :attr:`done`; :attr:`trajectory` holds what happened so far.
    :meth:`state_dict` / :meth:`load_state_dict` save and restore it (JSON-able), so a run can
    resume between iterates.
    """

    def __init__(
        self,
        instance: Instance,
        measure: Measure,
        *,
        iterations: int,
        critic_engine: EngineLM | str | None = None,
        backward_engine: EngineLM | None = None,
        optimizer_engine: EngineLM | str | None = None,
        momentum_window: int = 0,
        critic_instruction: str | None = None,
        critique: CritiqueFn | None = None,
        stop_when: StopWhen | None = None,
    ) -> None:
        if not isinstance(iterations, int) or iterations < 0:
            raise InvalidInputError(f"iterations must be a whole number >= 0, got {iterations!r}")
        self.instance = instance
        self.measure = measure
        self.iterations = iterations
        self.stop_when = stop_when
        self.backward_engine = backward_engine
        self.critic: CritiqueFn = critique or Critic(critic_engine, critic_instruction)
        self.variable = Variable(instance.value, requires_grad=True, role_description=instance.role)
        self.optimizer = TextualGradientDescent(
            [self.variable],
            engine=optimizer_engine,
            constraints=list(instance.constraints),
            momentum_window=momentum_window,
            on_parse_error="record",
        )
        self.iterates: list[Iterate] = []
        self.stopped: str | None = None

    @property
    def done(self) -> bool:
        return self.stopped is not None

    @property
    def trajectory(self) -> Trajectory:
        return Trajectory(self.instance.id, tuple(self.iterates), self.stopped or "iterations")

    def _measure(self, value: str) -> Score:
        return as_score(self.measure(self.instance, value))

    def advance(self) -> Iterate:
        """Measure the starting value (first call), or critique, update and measure again.

        Raises:
            RuntimeError: when called after :attr:`done`.
        """
        if self.done:
            raise RuntimeError(f"instance {self.instance.id!r} is already done ({self.stopped})")
        if not self.iterates:
            iterate = Iterate(0, self.variable.text, self._measure(self.variable.text))
        else:
            iterate = self._update(self.iterates[-1])
        self.iterates.append(iterate)
        if self.stop_when is not None and self.stop_when(iterate.score):
            self.stopped = "stop_when"
        elif iterate.iteration >= self.iterations:
            self.stopped = "iterations"
        return iterate

    def _update(self, last: Iterate) -> Iterate:
        self.optimizer.zero_grad()
        critique = self.critic(self.instance, self.variable, last.score)
        critique.backward(self.backward_engine)
        gradient = self.variable.get_gradient_text()
        errors_before = len(self.optimizer.parse_errors)
        self.optimizer.step()
        errors: list[UpdateParseError] = self.optimizer.parse_errors[errors_before:]
        value = self.variable.text
        return Iterate(
            last.iteration + 1,
            value,
            self._measure(value),
            critique=critique.text,
            gradient=gradient,
            parse_error=str(errors[0]) if errors else "",
        )

    def state_dict(self) -> dict[str, Any]:
        """JSON-able: the iterates so far, the stop reason and the optimizer's state."""
        return {
            "instance_id": self.instance.id,
            "iterates": [it.as_dict() for it in self.iterates],
            "stopped": self.stopped,
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict` of the same instance."""
        if state.get("instance_id") != self.instance.id:
            raise InvalidInputError(
                f"state of instance {state.get('instance_id')!r} given to {self.instance.id!r}"
            )
        self.iterates = [Iterate.from_dict(it) for it in state["iterates"]]
        self.stopped = state.get("stopped")
        if self.iterates:
            self.variable.set_value(self.iterates[-1].value)
        self.optimizer.load_state_dict(state["optimizer"])


def optimize_value(
    instance: Instance,
    measure: Measure,
    *,
    iterations: int = 3,
    engine: EngineLM | str | None = None,
    optimizer_engine: EngineLM | str | None = None,
    momentum_window: int = 0,
    critic_instruction: str | None = None,
    critique: CritiqueFn | None = None,
    stop_when: StopWhen | None = None,
    on_iterate: Callable[[Iterate], None] | None = None,
) -> Trajectory:
    """Optimize ``instance.value`` for ``iterations`` rounds; the whole trajectory.

    Each round: the critic (``engine``) reviews the value with its measurement, the review is
    passed back to the value as feedback (``engine``), TGD rewrites the value
    (``optimizer_engine``, default ``engine``), and ``measure`` scores the new value. Without
    engines, the backward engine set with ``tg.set_backward_engine`` is used.

    Args:
        instance: what to optimize.
        measure: ``measure(instance, value)`` returning a :class:`Score`, a number, or
            ``(number, feedback)``.
        iterations: rounds after the starting value (0: only measure it).
        momentum_window: show the optimizer the last k values and their feedback.
        critic_instruction: replaces the critic's default instruction.
        critique: replaces the critic altogether (see :data:`CritiqueFn`).
        stop_when: stop as soon as ``stop_when(score)`` holds (the start value included).
        on_iterate: called with each iterate as it is measured.

    Returns:
        The :class:`Trajectory`; ``trajectory.best`` is the highest-scoring iterate.

    Raises:
        InvalidInputError: when ``measure`` returns something :func:`as_score` refuses.
    """
    backward = resolve_engine(engine)
    runner = ValueOptimizer(
        instance,
        measure,
        iterations=iterations,
        critic_engine=backward,
        backward_engine=backward,
        optimizer_engine=optimizer_engine if optimizer_engine is not None else backward,
        momentum_window=momentum_window,
        critic_instruction=critic_instruction,
        critique=critique,
        stop_when=stop_when,
    )
    while not runner.done:
        iterate = runner.advance()
        if on_iterate is not None:
            on_iterate(iterate)
    return runner.trajectory


def instances_fingerprint(instances: Sequence[Instance]) -> str:
    """A short hash of the instances (so a resumed run can check they did not change)."""
    text = json.dumps([i.as_dict() for i in instances], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
