"""``wordgrad optimize code``: test-time code optimization with its baselines.

::

    wordgrad optimize code --task humaneval --model gpt-4o --iterations 4 --run-dir runs/he
    wordgrad optimize code --task leetcode-hard --model gpt-4o --size 10 --max-cost 5

Registered on ``wordgrad optimize`` when :mod:`wordgrad.cli` is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wordgrad.cli import (
    BackwardModel,
    DataDir,
    Force,
    MaxConcurrency,
    MaxCost,
    MaxTokens,
    MlflowOption,
    Model,
    Plugins,
    Quiet,
    RayOption,
    ReplyTokens,
    RunDirOption,
    _execute,
    _fail,
    _ray_backend,
    _track,
    load_plugins,
    optimize_app,
)
from wordgrad.errors import ConfigurationError
from wordgrad.train.code_optimization import TASKS, CodeOptimization, CodeOptimizationConfig
from wordgrad.train.progress import reporter
from wordgrad.train.runs import Budget


@optimize_app.command("code")
def optimize_code_command(
    task: Annotated[str, typer.Option(help="humaneval or leetcode-hard.")] = "humaneval",
    model: Model = "local",
    backward_model: BackwardModel = None,
    iterations: Annotated[int, typer.Option(min=0, help="Critique-and-rewrite rounds.")] = 4,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Problems optimized side by side per step.")
    ] = 4,
    stop_early: Annotated[
        bool, typer.Option(help="Stop a problem once all its visible tests pass.")
    ] = True,
    reflexion: Annotated[bool, typer.Option(help="Also run the Reflexion-style baseline.")] = True,
    size: Annotated[int | None, typer.Option(min=1, help="Only the first N problems.")] = None,
    steps: Annotated[int | None, typer.Option(min=0, help="Stop after N steps in all.")] = None,
    momentum_window: Annotated[
        int, typer.Option(min=0, help="Show the optimizer the last N versions of the code.")
    ] = 0,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds one sandboxed test run may take.")
    ] = 10.0,
    reply_tokens: ReplyTokens = None,
    run_dir: RunDirOption = None,
    data_dir: DataDir = None,
    max_concurrency: MaxConcurrency = None,
    max_tokens: MaxTokens = None,
    max_cost: MaxCost = None,
    force: Force = False,
    quiet: Quiet = False,
    plugin: Plugins = None,
    ray: RayOption = None,
    mlflow: MlflowOption = None,
) -> None:
    """Optimize each problem's code at test time (visible tests in a sandbox, critique, TGD),
    against zero-shot and Reflexion-style baselines on the same problems."""
    load_plugins(plugin)
    if task not in TASKS:
        _fail(f"--task must be one of {', '.join(TASKS)}, not {task!r}", code=2)
    try:
        config = CodeOptimizationConfig(
            task=task,
            model=model,
            backward_model=backward_model,
            iterations=iterations,
            batch_size=batch_size,
            stop_early=stop_early,
            reflexion=reflexion,
            size=size,
            steps=steps,
            momentum_window=momentum_window,
            timeout_s=timeout,
            reply_tokens=reply_tokens,
        )
        loop = CodeOptimization(
            config,
            run_dir or Path("runs") / f"code-{task}",
            data_dir=data_dir,
            max_concurrency=max_concurrency,
            budget=Budget(max_tokens, max_cost),
            force=force,
            reporter=reporter(quiet),
            ray=_ray_backend(ray, plugin),
        )
    except ConfigurationError as error:
        _fail(str(error), code=2)
    _track(loop, mlflow)
    _execute(loop, quiet)
