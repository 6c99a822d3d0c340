"""``wordgrad optimize plan``: radiotherapy plan weights tuned by textual gradients.

::

    wordgrad optimize plan --case prostate-phantom --iterations 5 --model gpt-4o
    wordgrad optimize plan --case tg119 --goals-file my_goals.txt --run-dir runs/tg119

Needs ``pip install 'wordgrad[radiotherapy]'`` (pyRadPlan). Registered by :mod:`wordgrad.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wordgrad.cli import (
    BackwardModel,
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
from wordgrad.errors import WordgradError
from wordgrad.train.progress import reporter
from wordgrad.train.runs import Budget


def _weights_lines(text: str) -> str:
    """``"PTV: 100, bladder: 300"`` as one line per structure (a JSON object stays as it is)."""
    return text if "{" in text else text.replace(",", "\n")


@optimize_app.command("plan")
def optimize_plan_command(
    case: Annotated[str, typer.Option(help="prostate-phantom or tg119.")] = "prostate-phantom",
    model: Model = "local",
    backward_model: BackwardModel = None,
    iterations: Annotated[int, typer.Option(min=0, help="Weight updates after the start.")] = 5,
    voxel_mm: Annotated[float, typer.Option(help="Dose-grid voxel size in mm.")] = 5.0,
    beams: Annotated[int, typer.Option(min=1, max=36, help="Photon beams, evenly spaced.")] = 5,
    goals_file: Annotated[
        Path | None,
        typer.Option(help="Clinical goals, one per line ('PTV D95 >= 66.5 Gy').", exists=True),
    ] = None,
    weights: Annotated[
        str | None, typer.Option(help="Starting weights, e.g. 'PTV: 100, bladder: 300, ...'.")
    ] = None,
    momentum_window: Annotated[
        int, typer.Option(min=0, help="Show the optimizer the last N weights and feedback.")
    ] = 0,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Where dose-influence matrices are kept.")
    ] = None,
    reply_tokens: ReplyTokens = None,
    run_dir: RunDirOption = None,
    max_concurrency: MaxConcurrency = None,
    max_tokens: MaxTokens = None,
    max_cost: MaxCost = None,
    force: Force = False,
    quiet: Quiet = False,
    plugin: Plugins = None,
    ray: RayOption = None,
    mlflow: MlflowOption = None,
) -> None:
    """Tune a treatment plan's objective weights: pyRadPlan optimizes the fluence, an LLM
    critiques the plan against clinical goals, TGD rewrites the weights."""
    from wordgrad.train.plan_optimization import PlanOptimization, PlanOptimizationConfig

    load_plugins(plugin)
    try:
        config = PlanOptimizationConfig(
            model=model,
            backward_model=backward_model,
            iterations=iterations,
            momentum_window=momentum_window,
            reply_tokens=reply_tokens,
            case=case,
            voxel_mm=voxel_mm,
            beams=beams,
            goals=goals_file.read_text(encoding="utf-8") if goals_file else None,
            weights=_weights_lines(weights) if weights else None,
            cache_dir=str(cache_dir) if cache_dir else None,
        )
        loop = PlanOptimization(
            config,
            run_dir or Path("runs") / f"plan-{case}",
            max_concurrency=max_concurrency,
            budget=Budget(max_tokens, max_cost),
            force=force,
            reporter=reporter(quiet),
            ray=_ray_backend(ray, plugin),
        )
    except WordgradError as error:
        _fail(str(error), code=2)
    _track(loop, mlflow)
    _execute(loop, quiet)
