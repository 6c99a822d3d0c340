"""The prompt-optimization loop through its Python API, with scripted models.

The forward model answers right or wrong depending on the prompt it is given ("BAD" prompts are
always wrong, "GOOD" ones always right), and the optimizer proposes a fixed sequence of prompts,
so each validation decision is known in advance.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pytest

import wordgrad as tg
from wordgrad.llm import Request
from wordgrad.tasks import load_task
from wordgrad.train.events import Evaluation, Step, read_events
from wordgrad.train.prompt_optimization import PromptOptimizationConfig, optimize_prompt
from wordgrad.train.runs import RunDir

from ..conftest import SHARED_DATA

VAL_SIZE = 6


class Models:
    """A forward model that knows the answers and an optimizer that proposes ``proposals``."""

    def __init__(self, proposals: list[str]) -> None:
        train, val, test, _ = load_task("BBH_object_counting", data_dir=SHARED_DATA)
        self.answers = {str(x): str(y) for x, y in [*train, *val, *test]}
        self.proposals = itertools.cycle(proposals)
        self.forward = tg.ScriptedEngine(self.answer, model_string="forward")
        self.backward = tg.ScriptedEngine(self.backward_reply, model_string="backward")

    def answer(self, request: Request) -> str:
        system = request.system_prompt or ""
        right = self.answers[request.prompt]
        if "BAD" in system:
            return "Answer: 1000"
        if "GOOD" in system:
            return f"Answer: {right}"
        # the starting prompt: right on about half the questions, by hash
        lucky = hashlib.sha256(request.prompt.encode()).digest()[0] % 2 == 0
        return f"Answer: {right if lucky else 1000}"

    def backward_reply(self, request: Request) -> str:
        if request.purpose == "optimizer":
            return f"<IMPROVED_VARIABLE>{next(self.proposals)}</IMPROVED_VARIABLE>"
        return "Count the objects one at a time."


def run(models: Models, run_dir: Path, **settings: object) -> dict[str, object]:
    config = PromptOptimizationConfig(
        model="forward",
        backward_model="backward",
        val_size=VAL_SIZE,
        test_size=4,
        **settings,  # type: ignore[arg-type]
    )
    return optimize_prompt(
        config,
        run_dir,
        data_dir=SHARED_DATA,
        forward_engine=models.forward,
        backward_engine=models.backward,
    )


def steps_of(run_dir: Path) -> list[Step]:
    return [e for e in read_events(run_dir) if isinstance(e, Step)]


def test_validation_reverts_an_update_that_lowers_accuracy(tmp_path: Path) -> None:
    models = Models(["BAD: guess.", "GOOD: count carefully.", "GOOD: count twice."])
    results = run(models, tmp_path, steps=3)

    steps = steps_of(tmp_path)
    assert [s.decision for s in steps] == ["reverted", "kept", "kept"]
    first = steps[0]
    assert first.new_value == "BAD: guess."
    assert first.val_after is not None and first.val_before is not None
    assert first.val_after < first.val_before
    # after the revert the prompt is the old one again: the next update starts from it
    assert steps[1].old_value == first.old_value
    assert RunDir(tmp_path).checkpoint_path(1).exists()
    assert json.loads(RunDir(tmp_path).checkpoint_path(1).read_text())["prompt"] == first.old_value
    # a tie (1.0 -> 1.0) keeps the new prompt, as in the paper's script
    assert steps[2].val_before == steps[2].val_after == 1.0
    assert results["final_prompt"] == "GOOD: count twice."
    val = results["val"]
    assert isinstance(val, dict)
    assert val["after"]["accuracy"] == 1.0
    assert val["before"]["accuracy"] < 1.0
    assert val["before"]["ci_low"] <= val["before"]["accuracy"] <= val["before"]["ci_high"]
    assert val["test"] == "exact McNemar" and val["lost"] == 0


def test_without_validation_every_update_is_kept(tmp_path: Path) -> None:
    models = Models(["BAD: guess.", "GOOD: count carefully."])
    results = run(models, tmp_path, steps=1, validation=False)

    assert [s.decision for s in steps_of(tmp_path)] == ["kept"]
    assert results["final_prompt"] == "BAD: guess."
    val = results["val"]
    assert isinstance(val, dict)
    assert val["after"]["accuracy"] == 0.0
    labels = [e.label for e in read_events(tmp_path) if isinstance(e, Evaluation)]
    assert labels == ["initial", "initial", "final", "final"]  # val, test; val, test


def test_epochs_stop_after_steps_per_epoch_and_reshuffle(tmp_path: Path) -> None:
    models = Models(["GOOD: count carefully."])
    run(models, tmp_path, steps_per_epoch=2, max_epochs=2, train_size=9, validation=False)

    forwards = [e for e in read_events(tmp_path) if e.type == "forward"]
    assert [f.epoch for f in forwards] == [0, 0, 1, 1]  # type: ignore[attr-defined]
    batches = [f.indices for f in forwards]  # type: ignore[attr-defined]
    assert all(len(b) == 3 for b in batches)
    assert batches[0] + batches[1] != batches[2] + batches[3]  # a new order each epoch
    again = tmp_path / "again"
    run(
        Models(["GOOD: count carefully."]),
        again,
        steps_per_epoch=2,
        max_epochs=2,
        train_size=9,
        validation=False,
    )
    assert [f.indices for f in read_events(again) if f.type == "forward"] == batches  # type: ignore[attr-defined]


def test_a_finished_run_returns_its_results_without_calls(tmp_path: Path) -> None:
    models = Models(["GOOD: count carefully."])
    first = run(models, tmp_path, steps=1)
    calls = len(models.forward.requests) + len(models.backward.requests)
    assert run(models, tmp_path, steps=1) == first
    assert len(models.forward.requests) + len(models.backward.requests) == calls


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        PromptOptimizationConfig(batch_size=0)
    with pytest.raises(ValueError, match="val_size"):
        PromptOptimizationConfig(val_size=-1)


def test_reply_cap_applies_to_answers_and_feedback_but_not_to_rewrites(tmp_path: Path) -> None:
    models = Models(["GOOD: count carefully."])
    built: list[tg.ScriptedEngine] = []

    def factory(**kwargs: object) -> tg.ScriptedEngine:
        engine = tg.ScriptedEngine(
            lambda r: models.backward_reply(r) if r.system_prompt else "Answer: 1", **kwargs
        )
        built.append(engine)
        return engine

    tg.register_engine("capped", factory)
    try:
        config = PromptOptimizationConfig(
            model="capped", steps=1, val_size=2, test_size=0, reply_tokens=50
        )
        optimize_prompt(config, tmp_path, data_dir=SHARED_DATA)
    finally:
        tg.engine.unregister_engine("capped")
    requests = [r for engine in built for r in engine.requests]
    rewrites = [r for r in requests if r.purpose == "optimizer"]
    others = [r for r in requests if r not in rewrites]
    assert len(rewrites) == 1 and rewrites[0].max_tokens is None
    assert others and all(r.max_tokens == 50 for r in others)


def test_each_step_keeps_its_graph_and_observers_see_every_event(tmp_path: Path) -> None:
    from wordgrad.report.live import LiveView
    from wordgrad.train.prompt_optimization import PromptOptimization

    models = Models(["GOOD: count carefully.", "GOOD: count twice."])
    seen: list[str] = []
    view = LiveView()

    def observe(type: str, step: int | None, **fields: object) -> None:
        seen.append(type)
        view.write(type, step, **fields)

    config = PromptOptimizationConfig(
        model="forward", backward_model="backward", val_size=VAL_SIZE, test_size=4, steps=2
    )
    PromptOptimization(
        config,
        tmp_path,
        data_dir=SHARED_DATA,
        forward_engine=models.forward,
        backward_engine=models.backward,
        on_event=observe,
    ).run()

    # every logged event, in order, plus notifications that are not logged: the projection
    # before the start and one "progress" per call returned
    logged = [t for t in seen if t not in ("progress", "projection")]
    assert logged == [e.type for e in read_events(tmp_path)]
    assert seen[1] == "projection" and seen.count("progress") == len(models.forward.requests) + len(
        models.backward.requests
    )
    assert view.step == 2 and view.status == "completed"
    for step in (1, 2):
        dot = (tmp_path / "graphs" / f"step-{step:04d}.dot").read_text(encoding="utf-8")
        assert dot.startswith("digraph wordgrad {") and "Sum" in dot and "LLMCall" in dot
    usage = [e for e in read_events(tmp_path) if e.type == "usage"][-1]
    assert usage.step is None  # the final totals
    by_purpose = usage.by_purpose  # type: ignore[attr-defined]
    # answering validation and test questions counts as evaluation, training answers as forward
    assert by_purpose["forward"]["calls"] == 2 * 3
    assert by_purpose["evaluation"]["calls"] >= 2 * VAL_SIZE
    assert all("latency_s" in row for row in by_purpose.values())
