"""Weights text: what a model plausibly writes is read; anything ambiguous is refused with a
message naming the problem and the expected form."""

from __future__ import annotations

import pytest

from wordgrad.errors import InvalidInputError
from wordgrad.science.radiotherapy.goals import Goal, parse_goals, prostate_goals
from wordgrad.science.radiotherapy.weights import WeightsError, format_weights, parse_weights

STRUCTURES = ["PTV", "bladder", "rectum"]


@pytest.mark.parametrize(
    "text",
    [
        "PTV: 1000\nbladder: 300\nrectum: 250",
        "Here are the new weights:\n- ptv = 1e3\n- Bladder: 300.0\n- RECTUM: 250\nThey favour the target.",
        '{"PTV": 1000, "bladder": 300, "rectum": 250}',
        "* PTV weight: 1000,\n* bladder weight: 300,\n* rectum weight: 250 (lowered)",
    ],
)
def test_plausible_forms_are_read(text: str) -> None:
    assert parse_weights(text, STRUCTURES) == {"PTV": 1000.0, "bladder": 300.0, "rectum": 250.0}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("PTV: 1000\nbladder: 300", "missing: rectum"),
        ("PTV: 1000\nbladder: 300\nrectum: -5", "must be a positive number"),
        ("PTV: 1000\nbladder: 0\nrectum: 5", "must be a positive number"),
        ("PTV: 1000\nbladder: 300\nrectum: 5\nbowel: 40", "'bowel' is not a structure"),
        ("PTV: 1000\nPTV: 10\nbladder: 300\nrectum: 5", "PTV is given more than once"),
        ("Increase the target weight a lot.", "no weights found"),
        ('{"PTV": "high", "bladder": 3, "rectum": 4}', "must be a positive number"),
        ("PTV: 1e30\nbladder: 300\nrectum: 5", "above"),
    ],
)
def test_bad_weights_are_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(WeightsError) as raised:
        parse_weights(text, STRUCTURES)
    message = str(raised.value)
    assert problem in message
    assert "'PTV: <weight>'" in message  # and the expected form


def test_format_round_trips() -> None:
    weights = {"PTV": 1234.5, "bladder": 0.25, "rectum": 300.0}
    assert parse_weights(format_weights(weights), STRUCTURES) == weights


def test_goals_text_round_trips_and_checks_structures() -> None:
    goals = parse_goals("PTV D95 >= 66.5 Gy\n# comment\nrectum V60Gy < 35 %\nbladder mean <= 30")
    assert goals == [
        Goal("PTV", "D95", ">=", 66.5),
        Goal("rectum", "V60Gy", "<=", 35.0),
        Goal("bladder", "mean", "<=", 30.0),
    ]
    with pytest.raises(InvalidInputError, match="does not have"):
        parse_goals("femur D5 <= 40 Gy", STRUCTURES)
    with pytest.raises(InvalidInputError, match="is not a goal"):
        parse_goals("keep the rectum low", STRUCTURES)


def test_goal_violation_is_relative_and_capped() -> None:
    d95, v60 = prostate_goals()[0], prostate_goals()[4]
    assert d95.text() == "PTV D95 >= 66.5 Gy" and v60.text() == "rectum V60Gy <= 35 %"
    assert d95.violation(70.0) == 0.0
    assert d95.violation(66.5 - 6.65) == pytest.approx(0.1)
    assert v60.violation(45.0) == pytest.approx(0.10)
    assert d95.violation(-1000.0) == 1.0
    assert d95.violation(float("nan")) == 1.0  # a structure with no voxels: missed
