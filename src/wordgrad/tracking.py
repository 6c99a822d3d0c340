"""MLflow tracking of runs (https://mlflow.org, the ``wordgrad[mlflow]`` extra).

One call mirrors a run into an MLflow tracking store or server::

    from wordgrad.tracking import log_to_mlflow
    loop = PromptOptimization(config, "runs/bbh")
    log_to_mlflow(loop)                        # MLflow's default store (or $MLFLOW_TRACKING_URI)
    log_to_mlflow(loop, "http://mlflow:5000")  # a tracking server
    loop.run()

On the command line: ``--mlflow`` (default store) or ``--mlflow URI``.

:class:`MlflowTracker` is an event observer of the run (``on_event``, see
:mod:`wordgrad.train.events`): it sees each event as the run writes it, so MLflow holds what the
event log holds and nothing a crashed step did not commit. What it logs:

- parameters: the run's settings (``config.json``); tags ``wordgrad.kind``, ``wordgrad.run_dir``;
- metrics per step: ``{split}_accuracy`` with ``{split}_accuracy_ci_low`` / ``_ci_high`` (95%
  bootstrap interval) for each evaluation (other labels, such as solution optimization's
  "zero-shot" and "majority vote", get their own ``{split}_accuracy_{label}``), and the run's
  totals ``total_tokens``, ``cost_usd``, ``calls``; solution optimization adds
  ``questions_done`` and the running ``zero_shot_accuracy`` / ``majority_accuracy``;
- text artifacts: each trainable variable's value after each step
  (``variables/step-0003/<role>.txt``), each question's solution after each iteration
  (``solutions/question-0003.txt``);
- at the end: ``results.json`` (the final values and comparisons) and the HTML report
  (``report.html``).

The MLflow run's id is kept in ``<run_dir>/mlflow.json``, so a resumed run logs into the same
MLflow run (a fresh start, e.g. ``--force``, opens a new one).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from wordgrad.errors import ConfigurationError
from wordgrad.report import write_report
from wordgrad.train.runs import EventObserver, read_json, write_json_atomic

MLFLOW_FILE = "mlflow.json"
DEFAULT_EXPERIMENT = "wordgrad"
_MAX_PARAM_CHARS = 6000  # MLflow's limit on a parameter's value
_STATUS = {"completed": "FINISHED", "failed": "FAILED", "interrupted": "KILLED", "budget": "KILLED"}


class ObservedLoop(Protocol):
    """What :func:`log_to_mlflow` needs of a loop (every ``RunLoop`` has it)."""

    run_dir: str | os.PathLike[str]
    on_event: EventObserver | None


def chain_observers(*observers: EventObserver | None) -> EventObserver | None:
    """One observer that tells each given observer (``None`` entries skipped), in order."""
    present = [o for o in observers if o is not None]
    if len(present) <= 1:
        return present[0] if present else None

    def observe(type: str, step: int | None, **fields: Any) -> None:
        for observer in present:
            observer(type, step, **fields)

    return observe


def _slug(text: str, limit: int = 60) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:limit] or "value"


class MlflowTracker:
    """An event observer that logs a run into MLflow; pass it as ``on_event`` (or use
    :func:`log_to_mlflow`).

    Args:
        run_dir: the run's directory (where ``mlflow.json`` keeps the MLflow run id).
        tracking_uri: a store (``sqlite:///mlflow.db``, a folder) or a server
            (``http://host:5000``); ``None``: ``$MLFLOW_TRACKING_URI``, else MLflow's default
            local store.
        experiment: the MLflow experiment's name (created when missing).
        artifact_location: where a *new* experiment keeps artifacts (default: MLflow's).

    Raises:
        ConfigurationError: MLflow is not installed, or the store cannot be reached.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        tracking_uri: str | None = None,
        *,
        experiment: str = DEFAULT_EXPERIMENT,
        artifact_location: str | None = None,
    ) -> None:
        try:
            tracking = importlib.import_module("mlflow.tracking")
            self._entities = importlib.import_module("mlflow.entities")
        except ImportError as error:
            raise ConfigurationError(
                "MLflow is not installed; install the extra with: pip install 'wordgrad[mlflow]'"
            ) from error
        self.run_dir = Path(run_dir)
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.artifact_location = artifact_location
        self.client: Any = tracking.MlflowClient(tracking_uri=tracking_uri)
        try:  # reach the store now, before the run does any work
            self.client.search_experiments(max_results=1)
        except Exception as error:  # MLflow's errors: unreachable server, bad URI, ...
            where = tracking_uri or "MLflow's default store"
            raise ConfigurationError(
                f"cannot log to the MLflow tracking store at {where}: "
                f"{type(error).__name__}: {error}. Check --mlflow URI (a server that is "
                "running, or a store such as sqlite:///mlflow.db)"
            ) from error
        self.run_id: str | None = None
        self._last_step = 0
        self._zero_shot: list[float] = []
        self._majority: list[float] = []

    # ------------------------------------------------------------------ the observer

    def __call__(self, type: str, step: int | None, **fields: Any) -> None:
        handler: Callable[..., None] | None = getattr(self, f"_on_{type}", None)
        if type == "run_start":
            self._start(**fields)
            return
        if self.run_id is None or handler is None:
            return
        if step is not None and type in ("usage", "step", "question"):
            self._last_step = max(self._last_step, step)
        handler(step, **fields)

    def _start(self, *, kind: str, config: dict[str, Any], resumed_from: Any, **_: Any) -> None:
        saved = self.run_dir / MLFLOW_FILE
        if resumed_from is not None and saved.exists():
            self.run_id = str(read_json(saved)["run_id"])
            self.client.update_run(self.run_id, status="RUNNING")
            self._last_step = int(resumed_from)
        else:
            experiment = self.client.get_experiment_by_name(self.experiment)
            experiment_id = (
                experiment.experiment_id
                if experiment is not None
                else self.client.create_experiment(
                    self.experiment, artifact_location=self.artifact_location
                )
            )
            run = self.client.create_run(
                experiment_id,
                run_name=self.run_dir.name,
                tags={"wordgrad.kind": kind, "wordgrad.run_dir": str(self.run_dir.resolve())},
            )
            self.run_id = str(run.info.run_id)
            write_json_atomic(
                saved,
                {"run_id": self.run_id, "experiment_id": experiment_id, "uri": self.tracking_uri},
            )
            params = [
                self._entities.Param(name, str(value)[:_MAX_PARAM_CHARS])
                for name, value in sorted(config.items())
            ]
            self.client.log_batch(self.run_id, params=params)
        if resumed_from is not None:
            self.client.set_tag(self.run_id, "wordgrad.resumed_from", str(resumed_from))

    def _metrics(self, step: int, values: dict[str, float | None]) -> None:
        now = int(time.time() * 1000)
        metrics = [
            self._entities.Metric(key, float(value), now, step)
            for key, value in values.items()
            if value is not None
        ]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def _on_evaluation(self, step: int | None, *, split: str, label: str, **fields: Any) -> None:
        at = int(step or 0)
        if at == 0 and label != "initial":  # end-of-run evaluations belong after the last step
            at = self._last_step
        standard = label in ("initial", "final") or label.startswith("step ")
        name = f"{split}_accuracy" if standard else f"{split}_accuracy_{_slug(label)}"
        self._metrics(
            at,
            {
                name: fields.get("accuracy"),
                f"{name}_ci_low": fields.get("ci_low"),
                f"{name}_ci_high": fields.get("ci_high"),
            },
        )

    def _on_usage(self, step: int | None, **fields: Any) -> None:
        at = self._last_step if step is None else step
        values: dict[str, float | None] = {
            "total_tokens": fields.get("total_tokens"),
            "cost_usd": fields.get("cost_usd"),
            "calls": fields.get("calls"),
        }
        if self._zero_shot:
            values.update(
                questions_done=len(self._zero_shot),
                zero_shot_accuracy=sum(self._zero_shot) / len(self._zero_shot),
                majority_accuracy=sum(self._majority) / len(self._majority),
            )
        self._metrics(at, values)

    def _on_step(self, step: int | None, **fields: Any) -> None:
        kept = fields.get("decision") == "kept"
        value = fields.get("new_value") if kept else fields.get("old_value")
        role = _slug(str(fields.get("parameter", "parameter")))
        self.client.log_text(
            self.run_id, str(value), f"variables/step-{int(step or 0):04d}/{role}.txt"
        )

    def _on_question(self, step: int | None, **fields: Any) -> None:
        self._zero_shot.append(float(fields.get("zero_shot_score", 0.0)))
        self._majority.append(float(fields.get("majority_score", 0.0)))
        iterates = [str(text) for text in fields.get("iterates", [])]
        text = "\n\n".join(
            f"--- iteration {i} ({'zero-shot' if i == 0 else 'rewrite'}) ---\n{value}"
            for i, value in enumerate(iterates)
        )
        self.client.log_text(
            self.run_id, text, f"solutions/question-{int(fields.get('index', 0)):04d}.txt"
        )

    def _on_iterate(self, step: int | None, **fields: Any) -> None:
        """An instance loop's value (solution, code, molecule, plan): its text, and its score
        as the metric ``score_<instance>`` at the instance's iteration."""
        instance = _slug(str(fields.get("instance", "instance")))
        iteration = int(fields.get("iteration", 0))
        self.client.log_text(
            self.run_id,
            str(fields.get("value", "")),
            f"instances/{instance}/iterate-{iteration:02d}.txt",
        )
        self._metrics(iteration, {f"score_{instance}": fields.get("score")})

    def _on_run_end(self, step: int | None, *, status: str, **fields: Any) -> None:
        if status == "completed":
            results = fields.get("results") or {}
            self.client.log_text(
                self.run_id,
                json.dumps(results, indent=1, ensure_ascii=False),
                "results.json",
            )
            report = write_report(self.run_dir)
            self.client.log_artifact(self.run_id, str(report))
        self.client.set_terminated(self.run_id, status=_STATUS.get(status, "FAILED"))


def log_to_mlflow(
    loop: ObservedLoop,
    tracking_uri: str | None = None,
    *,
    experiment: str = DEFAULT_EXPERIMENT,
    artifact_location: str | None = None,
) -> MlflowTracker:
    """Log ``loop``'s run into MLflow (see :class:`MlflowTracker`); keeps the loop's own
    observer, if any. Returns the tracker (its ``run_id`` is set once the run starts)."""
    tracker = MlflowTracker(
        loop.run_dir, tracking_uri, experiment=experiment, artifact_location=artifact_location
    )
    loop.on_event = chain_observers(loop.on_event, tracker)
    return tracker
