"""Small runs on one's own data for the report tests: a prompt run and a test-time run."""

from __future__ import annotations

from pathlib import Path

from tests.tasks.sums import RECORDS, script
from tests.train.objective_fixtures import distance_measure, instances
from tests.train.objective_fixtures import engine as distance_engine
from wordgrad.engine.scripted import ScriptedEngine
from wordgrad.tasks.user import make_task
from wordgrad.train import PromptOptimizationConfig, optimize_prompt
from wordgrad.train.instance_optimization import InstanceOptimizationConfig, optimize_instances


def prompt_run(run_dir: Path, steps: int = 1, prompt: str = "Add them.") -> Path:
    engine = ScriptedEngine(script, model_string="gpt-4o-mini")
    task = make_task(RECORDS[:2], RECORDS[2:], RECORDS, metric="exact", prompt=prompt)
    config = PromptOptimizationConfig(model="gpt-4o-mini", batch_size=2, steps=steps)
    optimize_prompt(config, run_dir, task=task, forward_engine=engine, backward_engine=engine)
    return run_dir


def instance_run(run_dir: Path) -> Path:
    engine = distance_engine()
    config = InstanceOptimizationConfig(model="scripted", iterations=3, batch_size=2)
    optimize_instances(
        config,
        run_dir,
        instances(),
        distance_measure,
        forward_engine=engine,
        backward_engine=engine,
    )
    return run_dir
