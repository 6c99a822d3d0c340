"""``wordgrad optimize molecule``: optimize SMILES for docking affinity and drug-likeness.

::

    wordgrad optimize molecule --target DRD2 --start "c1ccc(cc1)N1CCNCC1" --iterations 10 \\
        --model gpt-4o --run-dir runs/drd2
    wordgrad optimize molecule --target DRD2 --target ABL1 --start c1ccccc1 --start CCO  # 4 runs
    wordgrad report runs/drd2          # affinity and QED over iterations, every molecule drawn

Each (target, start) pair is optimized independently, side by side. Runs resume like the other
loops (same ``--run-dir``). Needs ``pip install 'wordgrad[docking]'`` (``--no-docking``: QED
alone, with ``wordgrad[chem]``).
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
from wordgrad.science.docking import DOCKSTRING_SEED
from wordgrad.train.molecule_optimization import (
    DEFAULT_FRAGMENT,
    MoleculeOptimization,
    MoleculeOptimizationConfig,
)
from wordgrad.train.progress import reporter
from wordgrad.train.runs import Budget, RunDir

Targets = Annotated[
    list[str] | None,
    typer.Option("--target", help="A DOCKSTRING target, e.g. DRD2 (repeatable; default DRD2)."),
]
Starts = Annotated[
    list[str] | None,
    typer.Option(
        "--start", help=f"A starting SMILES (repeatable; default {DEFAULT_FRAGMENT}, benzene)."
    ),
]


@optimize_app.command("molecule")
def optimize_molecule_command(
    target: Targets = None,
    start: Starts = None,
    iterations: Annotated[int, typer.Option(min=0, help="New molecules per start.")] = 5,
    model: Model = "local",
    backward_model: BackwardModel = None,
    momentum_window: Annotated[
        int, typer.Option(min=0, help="Show the optimizer the last N molecules and feedback.")
    ] = 3,
    exhaustiveness: Annotated[
        int, typer.Option(min=1, help="Vina's exhaustiveness (lower: faster, rougher).")
    ] = 8,
    seed: Annotated[
        int, typer.Option(help="Seed of conformer embedding and docking (DOCKSTRING's).")
    ] = DOCKSTRING_SEED,
    cpu: Annotated[int, typer.Option(min=0, help="CPU cores for Vina (0: all).")] = 0,
    docking_timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds one molecule may take to dock.")
    ] = 300.0,
    docking: Annotated[
        bool, typer.Option(help="Dock with Vina; --no-docking scores QED alone.")
    ] = True,
    objective: Annotated[
        list[str] | None,
        typer.Option("--objective", help="A goal to add for the critic (repeatable)."),
    ] = None,
    reference: Annotated[
        list[str] | None,
        typer.Option("--reference", help="A known binder's SMILES to compare with (repeatable)."),
    ] = None,
    stop_at_vina: Annotated[
        float | None,
        typer.Option(help="End a trajectory once a molecule docks at or below this (kcal/mol)."),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Trajectories optimized at once (default: all).")
    ] = None,
    steps: Annotated[int | None, typer.Option(min=0, help="Stop after N steps in all.")] = None,
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
    """Optimize molecules (SMILES) for Vina docking score and QED against DOCKSTRING targets."""
    load_plugins(plugin)
    targets = tuple(target or ["DRD2"])
    try:
        config = MoleculeOptimizationConfig(
            model=model,
            backward_model=backward_model,
            iterations=iterations,
            batch_size=batch_size,
            momentum_window=momentum_window,
            stop_at=None if stop_at_vina is None else -stop_at_vina,
            steps=steps,
            reply_tokens=reply_tokens,
            targets=targets,
            starts=tuple(start or [DEFAULT_FRAGMENT]),
            exhaustiveness=exhaustiveness,
            cpu=cpu,
            docking_timeout_s=docking_timeout,
            dock=docking,
            objectives=tuple(objective or ()),
            references=tuple(reference or ()),
            seed=seed,
        )
        directory = run_dir or Path("runs") / f"molecule-{'-'.join(targets)}"
        loop = MoleculeOptimization(
            config,
            directory,
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
    results = RunDir(directory).results() or {}
    for item in results.get("instances", []):
        vina, qed = item.get("best_vina_score"), item.get("best_qed")
        shown = [f"Vina {vina:.2f} kcal/mol" if vina is not None else "not docked"]
        shown += [f"QED {qed:.3f}"] if qed is not None else []
        typer.echo(
            f"{item['id']}: best {item['best_value']} ({', '.join(shown)}; "
            f"iteration {item['best_iteration']})"
        )
