"""Scores, instances and the test-time optimization of one value (measure, critique, update)."""

from __future__ import annotations

import math

import pytest

from wordgrad.errors import InvalidInputError
from wordgrad.train.objective import (
    Critic,
    Instance,
    Iterate,
    Score,
    Trajectory,
    ValueOptimizer,
    as_score,
    format_measurement,
    measure_name,
    optimize_value,
)

from .objective_fixtures import distance_measure, engine, kind


def test_as_score_accepts_scores_numbers_bools_and_tuples() -> None:
    score = Score(0.5, "fine", {"n": 1})
    assert as_score(score) is score
    assert as_score(True) == Score(1.0)
    assert as_score(False).value == 0.0
    assert as_score(3) == Score(3.0)
    assert as_score((0.25, "two tests fail")) == Score(0.25, "two tests fail")
    assert as_score((1, "ok", {"tests": 4})).details == {"tests": 4}


@pytest.mark.parametrize(
    "bad", ["0.5", None, ("fine", 0.5), (0.5, 3), [0.5, "x"], (0.5, "x", "not a dict"), {}]
)
def test_as_score_refuses_anything_else_and_says_what_to_return(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="return a Score, a number or bool"):
        as_score(bad)


def test_score_checks_its_fields() -> None:
    with pytest.raises(InvalidInputError, match="finite"):
        Score(math.nan)
    with pytest.raises(InvalidInputError, match="must be a number"):
        Score("1")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="JSON-able"):
        Score(1.0, details={"f": object()})
    assert Score.from_dict(Score(2, "a", {"k": [1]}).as_dict()) == Score(2.0, "a", {"k": [1]})


def test_instance_round_trips_and_checks_its_fields() -> None:
    instance = Instance("q1", "x = 1", "a setting", "ctx", ["keep it short"], {"t": 1})
    assert instance.constraints == ("keep it short",)
    assert Instance.from_dict(instance.as_dict()) == instance
    with pytest.raises(InvalidInputError, match="not one str"):
        Instance("q", "v", "r", constraints="one rule")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="must not be empty"):
        Instance("", "v", "r")


def test_measure_name_needs_a_module_level_function() -> None:
    assert measure_name(distance_measure) == "tests.train.objective_fixtures:distance_measure"

    def nested(instance: Instance, value: str) -> float:
        return 0.0

    for bad in (nested, lambda instance, value: 0.0):
        with pytest.raises(InvalidInputError, match="top level of a module"):
            measure_name(bad)


def test_the_critic_sees_score_and_feedback_but_not_details() -> None:
    text = format_measurement(Score(-2.5, "3 of 4 tests pass", {"secret_detail": 7}))
    assert "-2.5" in text and "3 of 4 tests pass" in text and "secret_detail" not in text
    assert "messages" not in format_measurement(Score(1.0))


def test_each_iteration_critiques_passes_feedback_back_updates_and_measures() -> None:
    scripted = engine()
    seen: list[Iterate] = []
    trajectory = optimize_value(
        Instance("a", "x = 3", "a setting of x", context="Bring x to 10."),
        distance_measure,
        iterations=3,
        engine=scripted,
        on_iterate=seen.append,
    )
    assert [it.value for it in trajectory.iterates] == ["x = 3", "x = 6", "x = 9", "x = 12"]
    assert trajectory.scores == [-7.0, -4.0, -1.0, -2.0]
    assert trajectory.best.iteration == 2 and trajectory.best.value == "x = 9"
    assert trajectory.final.value == "x = 12" and trajectory.stopped == "iterations"
    assert list(trajectory.iterates) == seen
    # the measurement's feedback reaches the critic, the critique reaches the feedback writer
    kinds = [kind(r) for r in scripted.requests]
    assert kinds == ["critic", "gradient", "update"] * 3
    critic = scripted.requests[0]
    assert "x is 3, which is too small" in critic.prompt and "Bring x to 10." in critic.prompt
    assert "The value is too small." in scripted.requests[1].prompt
    assert trajectory.iterates[1].critique == "The value is too small."
    assert trajectory.iterates[1].gradient.strip() == "Make x larger."
    assert trajectory.iterates[0].critique == ""
    assert trajectory.iterates[0].score.details == {"x": 3}


def test_stop_when_ends_early_including_on_the_starting_value() -> None:
    scripted = engine()
    trajectory = optimize_value(
        Instance("a", "x = 3", "a setting of x"),
        distance_measure,
        iterations=10,
        engine=scripted,
        stop_when=lambda score: score.value >= -1,
    )
    assert trajectory.scores == [-7.0, -4.0, -1.0] and trajectory.stopped == "stop_when"
    scripted.reset()
    at_start = optimize_value(
        Instance("b", "x = 10", "a setting of x"),
        distance_measure,
        iterations=10,
        engine=scripted,
        stop_when=lambda score: score.value == 0,
    )
    assert len(at_start.iterates) == 1 and scripted.requests == []


def test_constraints_and_momentum_reach_the_optimizer() -> None:
    scripted = engine()
    optimize_value(
        Instance("a", "x = 3", "a setting of x", constraints=["Write x as a whole number."]),
        distance_measure,
        iterations=3,
        engine=scripted,
        momentum_window=2,
    )
    updates = [r.prompt for r in scripted.requests if kind(r) == "update"]
    assert all("Write x as a whole number." in u for u in updates)
    # the second update (of x = 6) shows the earlier version x = 3 with its feedback
    assert "<EARLIER_VERSIONS>" not in updates[0]
    earlier = updates[1].split("<EARLIER_VERSIONS>")[1]
    assert "x = 3" in earlier and "Make x larger." in earlier


def test_a_measure_returning_the_wrong_thing_is_named_in_the_error() -> None:
    with pytest.raises(InvalidInputError, match="returned str"):
        optimize_value(
            Instance("a", "x", "r"),
            lambda instance, value: "good",
            iterations=1,
            engine=engine(),
        )


def test_state_dict_continues_an_optimization_exactly() -> None:
    def runner() -> ValueOptimizer:
        scripted = engine()
        return ValueOptimizer(
            Instance("a", "x = 3", "a setting of x"),
            distance_measure,
            iterations=3,
            critic_engine=scripted,
            backward_engine=scripted,
            optimizer_engine=scripted,
            momentum_window=2,
        )

    whole = runner()
    while not whole.done:
        whole.advance()
    first = runner()
    first.advance()
    first.advance()
    second = runner()
    second.load_state_dict(first.state_dict())
    while not second.done:
        second.advance()
    assert second.trajectory == whole.trajectory
    assert Trajectory.from_dict(whole.trajectory.as_dict()) == whole.trajectory
    with pytest.raises(RuntimeError, match="already done"):
        second.advance()


def test_without_an_engine_every_call_goes_to_the_backward_engine() -> None:
    from wordgrad.config import engine_context

    backward, forward = engine(), engine()
    with engine_context(forward=forward, backward=backward):
        trajectory = optimize_value(
            Instance("a", "x = 3", "a setting of x"), distance_measure, iterations=1
        )
    assert trajectory.scores == [-7.0, -4.0]
    assert [kind(r) for r in backward.requests] == ["critic", "gradient", "update"]
    assert forward.requests == []


def test_a_custom_critique_replaces_the_default_critic() -> None:
    from wordgrad.variable import Variable

    scripted = engine()
    seen: list[tuple[str, float]] = []

    def critique(instance: Instance, value: Variable, score: Score) -> Variable:
        seen.append((value.text, score.value))
        return Critic(scripted, instruction="Only say whether x is too small.")(
            instance, value, score
        )

    optimize_value(
        Instance("a", "x = 3", "a setting of x"),
        distance_measure,
        iterations=2,
        engine=scripted,
        critique=critique,
    )
    assert seen == [("x = 3", -7.0), ("x = 6", -4.0)]
    critic_prompts = [r.prompt for r in scripted.requests if kind(r) == "critic"]
    assert all(p.startswith("Only say whether x is too small.") for p in critic_prompts)
