"""The Ray backend against a real local Ray cluster (see conftest.py): order, retries, failures
reported with their item, secrets through the environment, shared budget, resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import wordgrad as tg
from tests.train import scripted_plugin
from wordgrad.batch import MapError
from wordgrad.distributed import RayBackend, TaskFailed
from wordgrad.engine import register_engine
from wordgrad.train.events import Question, RunStart, read_events
from wordgrad.train.runs import Budget, RunStopped
from wordgrad.train.solution_optimization import SolutionOptimizationConfig, optimize_solutions

from ..conftest import SHARED_DATA
from .conftest import ROOT

SECRET = "sk-test-only-for-the-worker-0123456789"


def square_slowly(x: int) -> tuple[int, int, str | None]:
    time.sleep(0.05 * (6 - x))  # later items finish first
    return x * x, os.getpid(), os.environ.get("WORDGRAD_TEST_SECRET")


def test_map_keeps_input_order_and_gives_workers_secrets_by_environment(
    ray_cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORDGRAD_TEST_SECRET", SECRET)  # the head never had it
    results = tg.map(square_slowly, range(6), backend="ray")
    assert [r[0] for r in results] == [x * x for x in range(6)]
    assert all(pid != os.getpid() for _, pid, _ in results)  # ran in worker processes
    assert {secret for _, _, secret in results} == {SECRET}


class Flaky:
    """Fails the first time it sees an item, then succeeds; notes every attempt in a file."""

    def __init__(self, folder: Path, always: set[str]) -> None:
        self.folder = folder
        self.always = always

    def __call__(self, item: str) -> str:
        with open(self.folder / f"{item}.attempts", "a") as attempts:
            attempts.write("x")
        if item in self.always:
            raise ValueError(f"{item} cannot be done")
        marker = self.folder / f"{item}.seen"
        if not marker.exists():
            marker.touch()
            raise RuntimeError(f"first attempt at {item} fails")
        return item.upper()


def test_a_failed_task_is_retried_by_ray_and_a_hopeless_one_reported_with_its_item(
    ray_cluster: str, tmp_path: Path
) -> None:
    backend = RayBackend(max_retries=2)
    items = ["a", "hopeless", "b"]
    with pytest.raises(MapError) as raised:
        tg.map(Flaky(tmp_path, {"hopeless"}), items, backend=backend)
    assert raised.value.index == 1
    [(index, failure)] = raised.value.failures
    assert index == 1 and isinstance(failure, TaskFailed)
    assert failure.item == "'hopeless'" and failure.attempts == 3
    assert "hopeless cannot be done" in str(failure)
    attempts = {p.stem: len(p.read_text()) for p in tmp_path.glob("*.attempts")}
    assert attempts == {"a": 2, "b": 2, "hopeless": 3}  # once failing, then fine; 1 + 2 retries

    outcomes = tg.map(Flaky(tmp_path, set()), ["c", "d"], backend=backend, return_exceptions=True)
    assert outcomes == ["C", "D"]


def config(**changes: object) -> SolutionOptimizationConfig:
    settings: dict[str, object] = {
        "model": "scripted-train",
        "iterations": 2,
        "batch_size": 3,
        "size": 5,
    }
    settings.update(changes)
    return SolutionOptimizationConfig(**settings)  # type: ignore[arg-type]


@pytest.fixture
def plugin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers build the engine by name: they import the plugin named here. (Registered here
    again too: another test module may have unregistered it from this process.)"""
    monkeypatch.setenv("WORDGRAD_PLUGINS", "tests.train.scripted_plugin")
    register_engine(scripted_plugin.ENGINE_NAME, scripted_plugin.build)


def questions(run_dir: Path) -> list[Question]:
    return [e for e in read_events(run_dir) if isinstance(e, Question)]


def test_solution_optimization_on_ray_equals_a_local_run(
    ray_cluster: str, plugin_env: None, tmp_path: Path
) -> None:
    local = optimize_solutions(config(), tmp_path / "local", data_dir=SHARED_DATA)
    on_ray = optimize_solutions(
        config(), tmp_path / "ray", data_dir=SHARED_DATA, ray=RayBackend(ray_cluster)
    )
    assert on_ray["test"] == local["test"]
    assert [(q.index, q.iterates, q.votes) for q in questions(tmp_path / "ray")] == [
        (q.index, q.iterates, q.votes) for q in questions(tmp_path / "local")
    ]
    # every worker's calls reach the run's usage
    assert on_ray["usage"]["calls"] == local["usage"]["calls"] > 0
    assert on_ray["usage"]["total_tokens"] == local["usage"]["total_tokens"] > 0


def test_the_budget_counts_workers_usage_before_sending_more(
    ray_cluster: str, plugin_env: None, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    with pytest.raises(RunStopped) as stopped:
        optimize_solutions(
            config(batch_size=5),
            run_dir,
            data_dir=SHARED_DATA,
            budget=Budget(max_tokens=1),
            ray=RayBackend(ray_cluster, max_in_flight=1),
        )
    assert stopped.value.status == "budget"
    journal = (run_dir / "distributed" / "instances.jsonl").read_text().splitlines()
    assert [json.loads(line)["key"] for line in journal] == ["1:q0"]
    # the first question's tokens (its zero-shot answer) stopped the second from being sent


DRIVER = """
import sys
import tests.train.scripted_plugin
from wordgrad.distributed import RayBackend
from wordgrad.train.solution_optimization import SolutionOptimizationConfig, optimize_solutions
config = SolutionOptimizationConfig(model="scripted-train", iterations=2, batch_size=6, size=6)
optimize_solutions(config, sys.argv[1], data_dir=sys.argv[2], ray=RayBackend(max_in_flight=1))
"""


def _python_path() -> list[str]:
    """The test process's own ``$PYTHONPATH`` entries (absolute), so the driver imports the same
    wordgrad."""
    return [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


def test_a_killed_driver_resumes_without_redoing_finished_items(
    ray_cluster: str, plugin_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "run"
    journal = run_dir / "distributed" / "instances.jsonl"
    monkeypatch.setenv("WORDGRAD_TEST_LATENCY", "0.05")  # a few seconds for the whole run
    requests = tmp_path / "requests.txt"  # every request a worker's engine answered
    monkeypatch.setenv("WORDGRAD_TEST_COUNT_FILE", str(requests))
    log = tmp_path / "driver.log"
    with open(log, "w") as output:
        driver = subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(run_dir), str(SHARED_DATA)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *_python_path()])},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while not (journal.exists() and len(journal.read_text().splitlines()) >= 2):
            assert driver.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the driver finished no question in time"
            time.sleep(0.05)
        driver.send_signal(signal.SIGKILL)  # mid-step: the first step starts all six questions
        driver.wait()
    done_before = [json.loads(line)["key"] for line in journal.read_text().splitlines()]
    assert 2 <= len(done_before) < 6
    assert done_before == [f"1:q{i}" for i in range(len(done_before))]  # in step 1, in order

    monkeypatch.setenv("WORDGRAD_TEST_LATENCY", "0")
    whole = config(batch_size=6, size=6)
    resumed = optimize_solutions(
        whole, run_dir, data_dir=SHARED_DATA, ray=RayBackend(ray_cluster, max_in_flight=1)
    )
    keys = [json.loads(line)["key"] for line in journal.read_text().splitlines()]
    assert keys[: len(done_before)] == done_before
    # each question's share of each of the 3 steps (zero-shot, 2 rewrites) ran exactly once:
    # nothing finished before the kill was sent again
    assert len(keys) == len(set(keys)) == 6 * 3
    assert sorted(keys) == sorted(f"{s}:q{i}" for s in (1, 2, 3) for i in range(6))
    assert [q.index for q in questions(run_dir)] == list(range(6))
    assert [e.resumed_from for e in read_events(run_dir) if isinstance(e, RunStart)] == [None, 0]
    monkeypatch.delenv("WORDGRAD_TEST_COUNT_FILE")
    reference = optimize_solutions(whole, tmp_path / "reference", data_dir=SHARED_DATA)
    assert resumed["test"] == reference["test"]
    # the workers of both drivers together answered the run's requests once, plus at most the
    # one zero-shot answer that was in flight when the first driver died
    answered = len(requests.read_text().splitlines())
    assert reference["usage"]["calls"] <= answered <= reference["usage"]["calls"] + 1


@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")
def test_the_command_line_runs_on_ray_and_logs_to_mlflow(
    ray_cluster: str, plugin_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    from wordgrad.cli import main

    monkeypatch.chdir(tmp_path)  # a SQLite store keeps artifacts in ./mlruns

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_dir = tmp_path / "run"
    arguments = [
        "optimize", "solution", "--model", "scripted-train", "--plugin",
        "tests.train.scripted_plugin", "--iterations", "1", "--size", "3", "--quiet",
        "--data-dir", str(SHARED_DATA), "--run-dir", str(run_dir),
    ]  # fmt: skip
    with pytest.raises(SystemExit) as ended:
        main([*arguments, "--ray", ray_cluster, "--mlflow", uri])
    assert ended.value.code == 0
    reference = optimize_solutions(
        config(iterations=1, size=3), tmp_path / "local", data_dir=SHARED_DATA
    )
    results = json.loads((run_dir / "results.json").read_text())
    assert results["test"] == reference["test"]
    run_id = json.loads((run_dir / "mlflow.json").read_text())["run_id"]
    run = MlflowClient(tracking_uri=uri).get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["model"] == "scripted-train"
    assert run.data.metrics["questions_done"] == 3


@pytest.fixture
def distance_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers (and this process) know the scripted engine of the objective tests by name."""
    from tests.scale import distance_plugin

    monkeypatch.setenv("WORDGRAD_PLUGINS", "tests.scale.distance_plugin")
    register_engine(distance_plugin.ENGINE_NAME, distance_plugin.build)


def test_any_instance_loop_on_ray_equals_a_local_run_with_queued_and_early_stopped_instances(
    ray_cluster: str, distance_env: None, tmp_path: Path
) -> None:
    from tests.train.objective_fixtures import distance_measure, instances
    from wordgrad.train.events import Iterate as IterateEvent
    from wordgrad.train.instance_optimization import InstanceOptimizationConfig, optimize_instances

    # two of three instances side by side (the third waits for a free slot); "b" stops early
    settings = InstanceOptimizationConfig(
        model="scripted-distance", iterations=3, batch_size=2, stop_at=-1
    )

    def run(folder: str, **options: object) -> dict[str, object]:
        return optimize_instances(
            settings, tmp_path / folder, instances(), distance_measure, **options
        )

    local = run("local")
    on_ray = run("ray", ray=RayBackend(ray_cluster))
    assert on_ray["instances"] == local["instances"]
    # b stops at once, freeing its slot for c in step 2; a and c stop at -1 in step 3
    assert [(s["id"], s["stopped"]) for s in local["instances"]] == [
        ("b", "stop_when"), ("a", "stop_when"), ("c", "stop_when"),
    ]  # fmt: skip

    def iterates(folder: str) -> list[tuple[int, str, int, str, float]]:
        return [
            (e.step, e.instance, e.iteration, e.value, e.score)
            for e in read_events(tmp_path / folder)
            if isinstance(e, IterateEvent)
        ]

    assert iterates("ray") == iterates("local")
    assert on_ray["usage"]["calls"] == local["usage"]["calls"] > 0
    journal = (tmp_path / "ray" / "distributed" / "instances.jsonl").read_text().splitlines()
    assert len(journal) == len(iterates("local"))  # one task per instance and step


def test_an_instance_failing_on_every_attempt_stops_the_loop_naming_it(
    ray_cluster: str, distance_env: None, tmp_path: Path
) -> None:
    from tests.scale.distance_plugin import measure_unless_hopeless
    from tests.train.objective_fixtures import instances
    from wordgrad.train.instance_optimization import InstanceOptimizationConfig, optimize_instances
    from wordgrad.train.objective import Instance

    hopeless = Instance("h", "x = 1", role="a setting of x", data={"hopeless": True})
    with pytest.raises(TaskFailed) as failed:
        optimize_instances(
            InstanceOptimizationConfig(model="scripted-distance", iterations=1),
            tmp_path / "run",
            [*instances(), hopeless],
            measure_unless_hopeless,
            ray=RayBackend(ray_cluster, max_retries=1),
        )
    assert failed.value.index == 3 and failed.value.attempts == 2
    assert "'h'" in failed.value.item and "step 1" in failed.value.item
    assert "h cannot be measured" in str(failed.value)
    # the others finished and were journaled: a second attempt would not send them again
    journal = (tmp_path / "run" / "distributed" / "instances.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["key"] for line in journal) == ["1:a", "1:b", "1:c"]
