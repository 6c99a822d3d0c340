"""Test-time optimization of many instances side by side, in a run directory.

Each instance's value goes through :class:`~wordgrad.train.objective.ValueOptimizer`
(measure -> critique -> backward -> TGD step -> measure ...). A *step* advances every active
instance by one iterate, all at once on their own threads; after each step the run writes one
``iterate`` event per instance and a checkpoint, so a run killed at any moment (``kill -9``
included) continues with the next unfinished step and the same results. At most
``batch_size`` instances are active; when one finishes (its iterations are done, or its score
met ``stop_at``) the next waiting instance starts in the following step.

::

    from wordgrad.train.instance_optimization import InstanceOptimizationConfig, optimize_instances
    from my_project.measures import docking_score          # a module-level function

    results = optimize_instances(
        InstanceOptimizationConfig(model="gpt-4o", iterations=5, stop_at=-0.0),
        "runs/molecules", instances, docking_score,
    )
    results["instances"][0]["best_value"]

Results (``results.json``): per finished instance its start, final and best score and value;
start against final and start against best over all instances, each with a 95% bootstrap
interval and a paired test.

Subclasses (solution optimization, code, molecules, plans) override :meth:`prepare` (compute a
starting value, e.g. a zero-shot answer, on the instance's first step), :meth:`critique`,
:meth:`summarize` (what is kept per finished instance) and :meth:`results`.
"""

from __future__ import annotations

import contextvars
import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from wordgrad.engine.base import EngineLM
from wordgrad.errors import InvalidInputError
from wordgrad.train.evaluate import accuracy_summary, paired_summary
from wordgrad.train.loop import LoopConfig, Projection, RunLoop
from wordgrad.train.objective import (
    CritiqueFn,
    Instance,
    Iterate,
    Measure,
    StopWhen,
    Trajectory,
    ValueOptimizer,
    instances_fingerprint,
    measure_name,
)
from wordgrad.train.runs import Run

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class InstanceOptimizationConfig:
    """What a test-time optimization run computes; saved (with the measure's name and a hash
    of the instances) as the run's ``config.json``.

    Args:
        model: the forward engine (used by subclasses that produce starting values).
        backward_model: the critic, feedback writer and rewriter (default: ``model``).
        iterations: updates per instance after its starting value.
        batch_size: instances optimized side by side (``None``: all at once).
        momentum_window: show the optimizer the last k values with their feedback (0: none).
        stop_at: an instance stops early once an iterate scores at least this.
        critic_instruction: replaces the critic's default instruction.
        steps: stop the run after this many steps (``None``: until every instance is done).
        reply_tokens: cap critiques and feedback at this many tokens (``None``: the engines'
            defaults); rewrites are never capped.
    """

    model: str = "local"
    backward_model: str | None = None
    iterations: int = 3
    batch_size: int | None = None
    momentum_window: int = 0
    stop_at: float | None = None
    critic_instruction: str | None = None
    steps: int | None = None
    reply_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.iterations < 0:
            raise InvalidInputError(f"iterations must be >= 0, got {self.iterations}")
        if self.batch_size is not None and self.batch_size < 1:
            raise InvalidInputError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.momentum_window < 0:
            raise InvalidInputError(f"momentum_window must be >= 0, got {self.momentum_window}")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class _RunSettings:
    """The config plus what identifies the code and data of the run (for ``config.json``);
    ``extra`` is computed when the run opens (it may read the data)."""

    config: LoopConfig
    extra: Callable[[], Mapping[str, Any]]

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def backward_model(self) -> str | None:
        return self.config.backward_model

    @property
    def reply_tokens(self) -> int | None:
        return self.config.reply_tokens

    def as_dict(self) -> dict[str, Any]:
        return {**self.config.as_dict(), **self.extra()}


def side_by_side(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[work(item) for item in items]``, each on its own thread, results in order.

    Each thread runs in a copy of the caller's context, so the run's usage meter (and any
    engine set with a ``with`` block) sees its calls. On Ctrl-C the threads are abandoned
    rather than waited for.
    """
    if not items:
        return []
    pool = ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="wordgrad-instance")
    try:
        futures = [pool.submit(contextvars.copy_context().run, work, item) for item in items]
        results = [future.result() for future in futures]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results


class _Active:
    """An instance being optimized: prepared on its first step, then advanced."""

    def __init__(self, index: int, instance: Instance, runner: ValueOptimizer | None) -> None:
        self.index = index
        self.instance = instance
        self.runner = runner


class InstanceOptimization(RunLoop):
    """Optimize each instance's value against ``measure``, side by side, in a run directory.

    Args:
        config: the settings.
        run_dir: the run's directory (an existing run of the same settings is continued).
        instances: what to optimize (ids must be unique), or a function returning them (called
            once, when the run starts: e.g. to read a data set).
        measure: a module-level function ``measure(instance, value)`` returning a
            :class:`~wordgrad.train.objective.Score`, a number or ``(number, feedback)``.
        stop_when: an early-stop condition beyond ``config.stop_at`` (not saved in the config;
            give the same one when resuming).
        **options: those of :class:`~wordgrad.train.loop.RunLoop` (engines, budget, reporter,
            ``on_event`` for a live view ...).

    Raises:
        InvalidInputError: for duplicate instance ids or a measure that does not pickle.
    """

    kind = "instances"

    def __init__(
        self,
        config: InstanceOptimizationConfig | LoopConfig,
        run_dir: str | os.PathLike[str],
        instances: Sequence[Instance] | Callable[[], Sequence[Instance]],
        measure: Measure,
        *,
        stop_when: StopWhen | None = None,
        **options: Any,
    ) -> None:
        self.config = config
        self._source = instances
        self._instances: list[Instance] | None = None
        self.measure = measure
        self._measure_name = measure_name(measure)
        if not callable(instances):
            self._check(list(instances))
        super().__init__(_RunSettings(config, self._identity), run_dir, **options)
        self.stop_when = stop_when

    @property
    def instances(self) -> list[Instance]:
        """The instances (read once, on first use, when given as a function)."""
        if self._instances is None:
            source = self._source
            self._instances = self._check(list(source() if callable(source) else source))
        return self._instances

    @staticmethod
    def _check(instances: list[Instance]) -> list[Instance]:
        ids = [instance.id for instance in instances]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise InvalidInputError(f"instance ids must be unique; repeated: {duplicates}")
        return instances

    def _identity(self) -> dict[str, Any]:
        return {
            "measure": self._measure_name,
            "instances": instances_fingerprint(self.instances),
            "instance_count": len(self.instances),
        }

    @property
    def settings(self) -> InstanceOptimizationConfig:
        """The instance-optimization settings (subclasses map their own config to these)."""
        assert isinstance(self.config, InstanceOptimizationConfig)
        return self.config

    # ------------------------------------------------------------------ hooks

    def prepare(self, instance: Instance) -> Instance:
        """The instance to optimize, computed on its first step (default: as given).

        Runs on the instance's thread; a subclass may call a model here (a zero-shot answer
        as the starting value). The result is saved in the checkpoint.
        """
        return instance

    def critique(self) -> CritiqueFn | None:
        """A replacement for the default critic (``None``: the default)."""
        return None

    def finished(self, run: Run, step: int, index: int, summary: Mapping[str, Any]) -> None:
        """Called when an instance is done (after its last ``iterate`` event); emit more
        events here (default: nothing)."""

    def summarize(self, instance: Instance, trajectory: Trajectory) -> dict[str, Any]:
        """What results keep of a finished instance (JSON-able)."""
        start, final, best = trajectory.start, trajectory.final, trajectory.best
        return {
            "id": instance.id,
            "stopped": trajectory.stopped,
            "iterations": final.iteration,
            "start_score": start.score.value,
            "final_score": final.score.value,
            "best_score": best.score.value,
            "best_iteration": best.iteration,
            "start_value": start.value,
            "best_value": best.value,
            "final_value": final.value,
        }

    def saved_variables(self, results: Mapping[str, Any]) -> dict[str, dict[str, str]]:
        """Each finished instance's best value, under its id."""
        roles = {instance.id: instance.role for instance in self.instances}
        return {
            str(s["id"]): {"value": str(s["best_value"]), "role": roles.get(str(s["id"]), "")}
            for s in results.get("instances", [])
        }

    def projection(self) -> Projection | None:
        """At most: every instance runs every iteration (critique, feedback, update each)."""
        c = self.settings
        updates = len(self.instances) * c.iterations
        values = [len(i.value) + len(i.context) for i in self.instances] or [0]
        size = sum(values) / len(values) / 4 + 300
        reply = float(c.reply_tokens or 300)
        return {
            "evaluation": {
                "calls": updates,
                "prompt_tokens": updates * (size + 200),
                "completion_tokens": updates * reply,
            },
            "backward": {
                "calls": updates,
                "prompt_tokens": updates * (size + 600 + reply),
                "completion_tokens": updates * reply,
            },
            "optimizer": {
                "calls": updates,
                "prompt_tokens": updates * (size + 500 + reply),
                "completion_tokens": updates * size,
            },
        }

    def results(self, summaries: list[dict[str, Any]]) -> dict[str, Any]:
        """The run's results from the finished instances' summaries."""
        start = [s["start_score"] for s in summaries]
        final = [s["final_score"] for s in summaries]
        best = [s["best_score"] for s in summaries]
        return {
            "kind": self.kind,
            "instances": summaries,
            "unfinished": len(self.instances) - len(summaries),
            "final": paired_summary(
                start, final, name="score", before_label="start", after_label="final"
            ),
            "best": paired_summary(
                start, best, name="best score", before_label="start", after_label="best"
            ),
            "comparisons": ["final", "best"],
        }

    # ------------------------------------------------------------------ the loop

    def _runner(self, instance: Instance, engines: tuple[EngineLM, EngineLM]) -> ValueOptimizer:
        c = self.settings
        _, backward = engines
        stop_at, extra_stop = c.stop_at, self.stop_when

        def stop(score: Any) -> bool:
            return (stop_at is not None and score.value >= stop_at) or bool(
                extra_stop is not None and extra_stop(score)
            )

        return ValueOptimizer(
            instance,
            self.measure,
            iterations=c.iterations,
            critic_engine=backward,
            backward_engine=backward,
            optimizer_engine=self.optimizer_engine(backward),
            momentum_window=c.momentum_window,
            critic_instruction=c.critic_instruction,
            critique=self.critique(),
            stop_when=stop if (stop_at is not None or extra_stop is not None) else None,
        )

    def _advance(self, active: _Active, engines: tuple[EngineLM, EngineLM]) -> Iterate:
        if active.runner is None:
            active.instance = self.prepare(active.instance)
            active.runner = self._runner(active.instance, engines)
        return active.runner.advance()

    def execute(self, run: Run) -> dict[str, Any]:
        c = self.settings
        engines = self.engines()
        checkpoint = run.checkpoint
        if checkpoint is None:
            run.commit(0, {"next": 0, "active": [], "finished": []})
            checkpoint = run.checkpoint
        assert checkpoint is not None
        step = int(checkpoint["step"])
        upcoming = int(checkpoint["next"])
        finished: list[dict[str, Any]] = list(checkpoint["finished"])
        active: list[_Active] = []
        for saved in checkpoint["active"]:
            instance = Instance.from_dict(saved["instance"])
            runner = self._runner(instance, engines)
            runner.load_state_dict(saved["state"])
            active.append(_Active(int(saved["index"]), instance, runner))
        width = c.batch_size or max(1, len(self.instances))

        with self.reporter.task("instances", len(self.instances)) as advance:
            for _ in finished:
                advance()
            while (active or upcoming < len(self.instances)) and (
                c.steps is None or step < c.steps
            ):
                run.check_budget(step)
                step += 1
                while len(active) < width and upcoming < len(self.instances):
                    active.append(_Active(upcoming, self.instances[upcoming], None))
                    upcoming += 1
                iterates = side_by_side(lambda a: self._advance(a, engines), active)
                still: list[_Active] = []
                for item, iterate in zip(active, iterates):
                    assert item.runner is not None
                    runner = item.runner
                    run.emit(
                        "iterate",
                        step,
                        instance=item.instance.id,
                        index=item.index,
                        iteration=iterate.iteration,
                        value=iterate.value,
                        score=iterate.score.value,
                        feedback=iterate.score.feedback,
                        details=dict(iterate.score.details),
                        critique=iterate.critique,
                        gradient=iterate.gradient,
                        parse_error=iterate.parse_error,
                        done=runner.done,
                        stopped=runner.stopped,
                    )
                    if runner.done:
                        finished.append(self.summarize(item.instance, runner.trajectory))
                        self.finished(run, step, item.index, finished[-1])
                        advance()
                    else:
                        still.append(item)
                active = still
                run.commit(
                    step,
                    {
                        "next": upcoming,
                        "finished": finished,
                        "active": [
                            {
                                "index": a.index,
                                "instance": a.instance.as_dict(),
                                "state": _runner_of(a).state_dict(),
                            }
                            for a in active
                        ],
                    },
                )
        scores = {"start": [s["start_score"] for s in finished]}
        scores["final"] = [s["final_score"] for s in finished]
        scores["best"] = [s["best_score"] for s in finished]
        for label, values in scores.items():
            if values:
                run.emit(
                    "evaluation",
                    0,
                    split="test",
                    label=label,
                    scores=values,
                    **accuracy_summary(values),
                )
        return run.finish(self.results(finished))


def optimize_instances(
    config: InstanceOptimizationConfig | None,
    run_dir: str | os.PathLike[str],
    instances: Sequence[Instance],
    measure: Measure,
    **options: Any,
) -> dict[str, Any]:
    """Run (or continue) a test-time optimization; see :class:`InstanceOptimization`."""
    return InstanceOptimization(
        config or InstanceOptimizationConfig(), run_dir, instances, measure, **options
    ).run()


def _runner_of(active: _Active) -> ValueOptimizer:
    if active.runner is None:
        raise RuntimeError(f"instance {active.instance.id!r} has not started")
    return active.runner
