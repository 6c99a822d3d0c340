"""The plan loop on the objective API: a malformed weights update becomes feedback for the next
critique (never an exception), each readable update re-optimizes the fluence, and the plan
instance carries the case and goals to the critic."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from wordgrad.engine.scripted import ScriptedEngine
from wordgrad.errors import InvalidInputError
from wordgrad.llm import Request
from wordgrad.science.radiotherapy.weights import WeightsError, parse_weights
from wordgrad.train.events import Iterate, read_events
from wordgrad.train.plan_optimization import (
    PlanOptimization,
    PlanOptimizationConfig,
    plan_instance,
    plan_measure,
)

STRUCTURES = ["PTV", "bladder", "rectum"]
MALFORMED = "PTV: plenty\nbladder: 300\nrectum: 300"
REPAIRED = "PTV: 1000\nbladder: 300\nrectum: 300"


def script(request: Request) -> str:
    """Critic and feedback echo whether a plan exists; the optimizer first writes a weight
    that is not a number, then (shown that it could not be read) a readable set."""
    prompt = request.prompt
    if request.purpose == "evaluation":
        if "No plan was computed" in prompt:
            return "The weights were not readable: PTV has no number."
        return "The target coverage is too low."
    if request.purpose == "backward":
        return "Give every structure a positive number; raise the PTV weight."
    if request.purpose == "optimizer":
        current = prompt.split("<VARIABLE>", 1)[1].split("</VARIABLE>", 1)[0]
        try:
            parse_weights(current, STRUCTURES)
        except WeightsError:
            return f"<IMPROVED_VARIABLE>{REPAIRED}</IMPROVED_VARIABLE>"
        return f"<IMPROVED_VARIABLE>{MALFORMED}</IMPROVED_VARIABLE>"
    return "?"


@pytest.fixture
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("pyRadPlan", reason="needs pip install 'wordgrad[radiotherapy]'")
    path = tmp_path_factory.getbasetemp() / "radiotherapy-cache"  # shared with tests/science
    path.mkdir(exist_ok=True)
    return path


def config(cache: Path, **changes: object) -> PlanOptimizationConfig:
    settings: dict[str, object] = {
        "model": "scripted",
        "iterations": 2,
        "voxel_mm": 10.0,
        "beams": 3,
        "max_iter": 200,
        "cache_dir": str(cache),
    }
    return PlanOptimizationConfig(**{**settings, **changes})  # type: ignore[arg-type]


def test_malformed_weights_update_is_feedback_not_an_exception(cache: Path, tmp_path: Path) -> None:
    engine = ScriptedEngine(script, model_string="scripted")
    results = PlanOptimization(
        config(cache), tmp_path / "run", forward_engine=engine, backward_engine=engine
    ).run()

    iterates = [e for e in read_events(tmp_path / "run") if isinstance(e, Iterate)]
    assert [it.iteration for it in iterates] == [0, 1, 2]
    start, malformed, repaired = iterates
    assert malformed.value == MALFORMED
    assert malformed.score == -10.0  # below any plan: 9 goals + 1
    assert malformed.details["plan"] is None
    assert "No plan was computed" in malformed.feedback
    assert "the weight of PTV must be a positive number, not plenty" in malformed.feedback
    # the next critique read that feedback, and the repaired weights were planned again
    critiques = [r.prompt for r in engine.requests if r.purpose == "evaluation"]
    assert any("the weight of PTV must be a positive number" in prompt for prompt in critiques)
    assert repaired.critique == "The weights were not readable: PTV has no number."
    assert repaired.details["plan"]["weights"] == {"PTV": 1000.0, "bladder": 300.0, "rectum": 300.0}
    assert start.details["plan"]["weights"] == {"PTV": 30.0, "bladder": 300.0, "rectum": 300.0}
    assert (
        repaired.details["plan"]["metrics"]["PTV"]["D95"]
        > start.details["plan"]["metrics"]["PTV"]["D95"]
    )

    summary = results["instances"][0]
    assert summary["best_value"] in (REPAIRED, start.value)
    assert summary["start_plan"]["weights"]["PTV"] == 30.0
    assert results["kind"] == "plan"


def test_plan_instance_carries_case_goals_and_format(cache: Path) -> None:
    instance = plan_instance(config(cache, goals="PTV D95 >= 60 Gy\nrectum V60Gy <= 30 %"))
    assert instance.value == "PTV: 30\nbladder: 300\nrectum: 300"
    assert "PTV D95 >= 60 Gy" in instance.context and "rectum V60Gy <= 30 %" in instance.context
    assert "squared dose above 40 Gy" in instance.context
    assert "'rectum: <weight>'" in instance.constraints[0]
    assert instance.data["goals"] == "PTV D95 >= 60 Gy\nrectum V60Gy <= 30 %"
    pickle.dumps(plan_measure)  # a plain function: it can go to a worker process


def test_bad_goals_or_starting_weights_are_refused_up_front(cache: Path) -> None:
    with pytest.raises(InvalidInputError, match="femur"):
        plan_instance(config(cache, goals="femur D5 <= 40 Gy"))
    with pytest.raises(InvalidInputError, match=r"the starting weights: .*missing: rectum"):
        plan_instance(config(cache, weights="PTV: 1\nbladder: 2"))
