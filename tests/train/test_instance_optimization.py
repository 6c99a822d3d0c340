"""Many instances side by side in a run: steps, iterate events, checkpoints, resume, budget."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wordgrad.errors import InvalidInputError
from wordgrad.llm import Request
from wordgrad.train.events import Iterate, RunEnd, read_events
from wordgrad.train.instance_optimization import (
    InstanceOptimizationConfig,
    optimize_instances,
)
from wordgrad.train.objective import Instance
from wordgrad.train.runs import Budget, RunDir, RunStopped

from .objective_fixtures import distance_measure, engine, instances, kind, script

REPO = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, **options: object) -> dict[str, object]:
    scripted = options.pop("engine", None) or engine()
    config = options.pop("config", None) or InstanceOptimizationConfig(
        model="scripted", iterations=3, batch_size=2
    )
    return optimize_instances(
        config,  # type: ignore[arg-type]
        tmp_path,
        instances(),
        distance_measure,
        forward_engine=scripted,
        backward_engine=scripted,
        **options,  # type: ignore[arg-type]
    )


def test_instances_advance_one_iterate_per_step_with_a_checkpoint_each(tmp_path: Path) -> None:
    results = run(tmp_path, keep_checkpoints=None)  # every step's checkpoint stays
    by_id = {s["id"]: s for s in results["instances"]}  # type: ignore[attr-defined]
    assert by_id["a"]["best_value"] == "x = 9" and by_id["a"]["best_score"] == -1.0
    assert by_id["b"]["start_score"] == -1.0 and by_id["b"]["final_score"] == -8.0
    assert by_id["c"]["best_value"] == "x = 3" and by_id["c"]["final_value"] == "x = 9"
    iterates = [e for e in read_events(tmp_path) if isinstance(e, Iterate)]
    # a and b share steps 1-4; c starts when a slot frees, at step 5, and ends at step 8
    assert [(e.step, e.instance, e.iteration) for e in iterates[:2]] == [(1, "a", 0), (1, "b", 0)]
    assert [(e.step, e.iteration) for e in iterates if e.instance == "c"] == [
        (5, 0),
        (6, 1),
        (7, 2),
        (8, 3),
    ]
    assert [e.done for e in iterates if e.instance == "a"] == [False, False, False, True]
    assert iterates[0].feedback == "x is 3, which is too small" and iterates[0].details == {"x": 3}
    assert RunDir(tmp_path).checkpoint_steps() == list(range(9))
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["measure"] == "tests.train.objective_fixtures:distance_measure"
    assert results["final"]["before"]["n"] == 3  # type: ignore[index]
    assert results["usage"]["calls"] == 3 * 3 * 3  # type: ignore[index]


def test_stop_at_ends_an_instance_early_and_frees_its_slot(tmp_path: Path) -> None:
    config = InstanceOptimizationConfig(model="scripted", iterations=5, batch_size=1, stop_at=-1)
    results = run(tmp_path, config=config)
    by_id = {s["id"]: s for s in results["instances"]}  # type: ignore[attr-defined]
    assert by_id["a"]["stopped"] == "stop_when" and by_id["a"]["iterations"] == 2
    assert by_id["b"]["iterations"] == 0  # -1 at the start already
    assert by_id["c"]["iterations"] == 1  # 0 -> 3, one from 4


def test_a_run_interrupted_mid_step_resumes_with_the_same_results(tmp_path: Path) -> None:
    reference = run(tmp_path / "reference")
    updates = iter(range(1, 100))

    def interrupted(request: Request) -> str:
        if kind(request) == "update" and next(updates) == 5:
            raise KeyboardInterrupt
        return script(request)

    from wordgrad.engine.scripted import ScriptedEngine

    with pytest.raises(RunStopped, match="Run the same command again"):
        run(tmp_path / "run", engine=ScriptedEngine(interrupted), max_concurrency=1)
    resumed = run(tmp_path / "run")
    assert resumed["instances"] == reference["instances"]
    iterates = [e for e in read_events(tmp_path / "run") if isinstance(e, Iterate)]
    keys = [(e.instance, e.iteration) for e in iterates]
    assert len(keys) == len(set(keys)) == 12  # every iterate logged exactly once


def test_a_budget_stops_before_a_step_and_says_how_to_continue(tmp_path: Path) -> None:
    with pytest.raises(RunStopped, match="budget") as stopped:
        run(tmp_path, budget=Budget(max_tokens=1))
    assert stopped.value.status == "budget"
    assert "Raise the budget (--max-cost / --max-tokens)" in str(stopped.value)
    ends = [e for e in read_events(tmp_path) if isinstance(e, RunEnd)]
    assert ends[-1].status == "budget"


def test_duplicate_ids_and_unpicklable_measures_are_refused(tmp_path: Path) -> None:
    twice = [Instance("a", "x = 1", "r"), Instance("a", "x = 2", "r")]
    with pytest.raises(InvalidInputError, match="repeated"):
        optimize_instances(None, tmp_path, twice, distance_measure)
    with pytest.raises(InvalidInputError, match="top level of a module"):
        optimize_instances(None, tmp_path, instances(), lambda instance, value: 0.0)


def test_a_run_killed_with_sigkill_resumes_to_the_same_results(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORDGRAD_TEST_")}
    env["PYTHONPATH"] = str(REPO)
    program = [sys.executable, "-m", "tests.train.objective_fixtures"]
    subprocess.run([*program, str(tmp_path / "reference")], cwd=REPO, env=env, check=True)
    marker = tmp_path / "marker"
    hanging = {**env, "WORDGRAD_TEST_HANG_AT": "4", "WORDGRAD_TEST_MARKER": str(marker)}
    process = subprocess.Popen([*program, str(tmp_path / "run")], cwd=REPO, env=hanging)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None, "the run ended before reaching the hang"
            assert time.monotonic() < deadline, "the run never reached the hang"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert RunDir(tmp_path / "run").results() is None
    subprocess.run([*program, str(tmp_path / "run")], cwd=REPO, env=env, check=True)
    done = RunDir(tmp_path / "run").results()
    expected = RunDir(tmp_path / "reference").results()
    assert done is not None and expected is not None
    assert done["instances"] == expected["instances"]
    iterates = [e for e in read_events(tmp_path / "run") if isinstance(e, Iterate)]
    keys = [(e.instance, e.iteration) for e in iterates]
    assert len(keys) == len(set(keys)) == 12


def test_a_step_that_would_not_fit_the_budget_is_not_started(tmp_path: Path) -> None:
    reference = run(tmp_path / "reference")
    per_step = reference["usage"]["total_tokens"] / 8  # 8 steps, all alike in size
    with pytest.raises(RunStopped, match="Raise the budget") as stopped:
        run(tmp_path / "run", budget=Budget(max_tokens=int(per_step * 2.5)), max_concurrency=1)
    assert stopped.value.status == "budget"
    assert 1 <= max(RunDir(tmp_path / "run").checkpoint_steps()) <= 3
