"""MLflow tracking against a real SQLite tracking store, read back with MLflow's own client."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

import wordgrad as tg
from wordgrad.errors import ConfigurationError
from wordgrad.llm import Request
from wordgrad.tracking import MLFLOW_FILE, log_to_mlflow
from wordgrad.train.events import Evaluation, Step, Usage, read_events
from wordgrad.train.prompt_optimization import PromptOptimization, PromptOptimizationConfig
from wordgrad.train.runs import RunStopped

from ..conftest import SHARED_DATA
from ..train.test_prompt_optimization import VAL_SIZE, Models

# MLflow's SQL store uses a SQLAlchemy loader option that SQLAlchemy 2.1 deprecates (theirs).
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")


def loop(models: Models, run_dir: Path) -> PromptOptimization:
    config = PromptOptimizationConfig(
        model="forward", backward_model="backward", val_size=VAL_SIZE, test_size=4, steps=2
    )
    return PromptOptimization(
        config,
        run_dir,
        data_dir=SHARED_DATA,
        forward_engine=models.forward,
        backward_engine=models.backward,
    )


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, str]:
    return f"sqlite:///{tmp_path / 'mlflow.db'}", str(tmp_path / "artifacts")


def history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_a_run_logs_params_metrics_variables_and_artifacts(
    tmp_path: Path, store: tuple[str, str]
) -> None:
    uri, artifacts = store
    models = Models(["GOOD: count carefully.", "GOOD: count twice, then answer."])
    run_dir = tmp_path / "run"
    optimization = loop(models, run_dir)
    tracker = log_to_mlflow(optimization, uri, experiment="tests", artifact_location=artifacts)
    results = optimization.run()

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["task"] == "BBH_object_counting"
    assert run.data.params["steps"] == "2"
    assert run.data.params["val_size"] == str(VAL_SIZE)

    events = read_events(run_dir)
    val = [e for e in events if isinstance(e, Evaluation) and e.split == "val"]
    logged = history(client, tracker.run_id, "val_accuracy")
    # initial at step 0, each kept update at its step, the final one after the last step
    assert logged == sorted(
        [
            (0 if e.label == "initial" else 2 if e.label == "final" else e.step, e.accuracy)
            for e in val
        ]
    )
    lows = dict(history(client, tracker.run_id, "val_accuracy_ci_low"))
    highs = dict(history(client, tracker.run_id, "val_accuracy_ci_high"))
    for step, accuracy in logged:
        assert lows[step] <= accuracy <= highs[step]
    usage = [e for e in events if isinstance(e, Usage) and e.step is not None]
    tokens = history(client, tracker.run_id, "total_tokens")
    assert [step for step, _ in tokens] == [0, 1, 2, 2]  # each step's checkpoint, then the end
    assert tokens[-1][1] == results["usage"]["total_tokens"] > 0
    assert [u.step for u in usage] == [0, 1, 2]

    steps = [e for e in events if isinstance(e, Step)]
    assert [s.decision for s in steps] == ["kept", "kept"]
    for step in steps:
        [artifact] = client.list_artifacts(tracker.run_id, f"variables/step-{step.step:04d}")
        text = Path(
            client.download_artifacts(tracker.run_id, artifact.path, str(tmp_path))
        ).read_text()
        assert text == step.new_value
    names = {a.path for a in client.list_artifacts(tracker.run_id)}
    assert {"results.json", "report.html", "variables"} <= names
    saved = json.loads(
        Path(client.download_artifacts(tracker.run_id, "results.json", str(tmp_path))).read_text()
    )
    assert saved["final_prompt"] == results["final_prompt"] == "GOOD: count twice, then answer."
    report = Path(client.download_artifacts(tracker.run_id, "report.html", str(tmp_path)))
    assert report.read_text().lstrip().lower().startswith("<!doctype html")


def test_a_resumed_run_logs_into_the_same_mlflow_run(
    tmp_path: Path, store: tuple[str, str]
) -> None:
    uri, artifacts = store
    run_dir = tmp_path / "run"
    models = Models(["GOOD: count carefully.", "GOOD: count twice, then answer."])
    updates = itertools.count(1)
    reply = models.backward_reply

    def stop_in_step_two(request: Request) -> str:
        if request.purpose == "optimizer" and next(updates) == 2:
            raise KeyboardInterrupt  # Ctrl-C during step 2's update
        return reply(request)

    models.backward = tg.ScriptedEngine(stop_in_step_two, model_string="backward")
    first = loop(models, run_dir)
    tracker = log_to_mlflow(first, uri, experiment="tests", artifact_location=artifacts)
    with pytest.raises(RunStopped):
        first.run()
    client = MlflowClient(tracking_uri=uri)
    assert client.get_run(tracker.run_id).info.status == "KILLED"
    assert json.loads((run_dir / MLFLOW_FILE).read_text())["run_id"] == tracker.run_id

    models.backward = tg.ScriptedEngine(reply, model_string="backward")
    second = loop(models, run_dir)
    resumed = log_to_mlflow(second, uri, experiment="tests", artifact_location=artifacts)
    second.run()

    assert resumed.run_id == tracker.run_id
    experiment = client.get_experiment_by_name("tests")
    assert experiment is not None
    assert len(client.search_runs([experiment.experiment_id])) == 1
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["wordgrad.resumed_from"] == "1"
    # step 1 came from the first process, step 2 from the second; none twice
    assert [s for s, _ in history(client, tracker.run_id, "total_tokens")] == [0, 1, 2, 2]
    assert {a.path for a in client.list_artifacts(tracker.run_id, "variables")} == {
        "variables/step-0001",
        "variables/step-0002",
    }


def test_an_unreachable_tracking_server_is_a_clear_error_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    optimization = loop(Models(["GOOD: count carefully."]), tmp_path / "run")
    with pytest.raises(ConfigurationError, match=r"127\.0\.0\.1:9.*--mlflow"):
        log_to_mlflow(optimization, "http://127.0.0.1:9")  # nothing listens on the discard port
    assert optimization.on_event is None
    assert not (tmp_path / "run").exists()  # the run never started


def test_an_instance_loop_logs_each_value_and_its_score(
    tmp_path: Path, store: tuple[str, str]
) -> None:
    """Solution, code, molecule and plan runs are instance loops: each iterate's value is an
    artifact and its score a metric per instance."""
    from wordgrad.train.instance_optimization import (
        InstanceOptimization,
        InstanceOptimizationConfig,
    )

    from ..train.objective_fixtures import distance_measure, engine, instances

    uri, artifacts = store
    scripted = engine()
    optimization = InstanceOptimization(
        InstanceOptimizationConfig(model="scripted", iterations=2, batch_size=3),
        tmp_path / "run",
        instances(),
        distance_measure,
        forward_engine=scripted,
        backward_engine=scripted,
    )
    tracker = log_to_mlflow(optimization, uri, experiment="tests", artifact_location=artifacts)
    optimization.run()

    client = MlflowClient(tracking_uri=uri)
    iterates = [e for e in read_events(tmp_path / "run") if e.type == "iterate"]
    assert iterates
    for event in iterates:
        path = f"instances/{event.instance}/iterate-{event.iteration:02d}.txt"
        local = client.download_artifacts(tracker.run_id, path, str(tmp_path / "downloaded"))
        assert Path(local).read_text() == event.value
    for name in {e.instance for e in iterates}:
        expected = sorted((e.iteration, e.score) for e in iterates if e.instance == name)
        assert history(client, tracker.run_id, f"score_{name}") == expected
