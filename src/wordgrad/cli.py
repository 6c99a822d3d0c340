"""The ``wordgrad`` command line.

::

    wordgrad tasks                                   # the tasks and their split sizes
    wordgrad eval --task BBH_object_counting --split val --size 50
    wordgrad optimize prompt --model gpt-4o-mini --steps 12 --run-dir runs/bbh
    wordgrad optimize solution --task MMLU_machine_learning --run-dir runs/mmlu

Runs resume: running the same command again with the same ``--run-dir`` continues from the last
checkpoint (after Ctrl-C, a crash or ``kill -9``). ``--max-tokens`` / ``--max-cost`` stop a run
cleanly before a step would exceed the budget. The default engine is the embedded local model,
so everything works without an API key (slowly, and with a weak model).

Your own engines: a module that calls ``wordgrad.engine.register_engine(name, factory)`` when
imported makes ``name`` usable with ``--model``. Load it with ``--plugin my_module`` (repeatable)
or ``WORDGRAD_PLUGINS=my_module,other_module``; the module must be importable (on
``PYTHONPATH`` or installed).

Exit codes: 0 done; 1 an error (message on stderr); 2 bad usage or a run directory holding
other settings; 3 stopped by the budget; 130 interrupted (Ctrl-C). Stopped runs can be resumed.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from wordgrad.distributed import RayBackend
from wordgrad.errors import WordgradError
from wordgrad.report import write_report
from wordgrad.report.live import LiveView
from wordgrad.tracking import chain_observers, log_to_mlflow
from wordgrad.train.evaluate import accuracy_summary, evaluate, format_accuracy, format_results
from wordgrad.train.progress import ConsoleReporter, reporter
from wordgrad.train.prompt_optimization import PromptOptimization, PromptOptimizationConfig
from wordgrad.train.runs import Budget, RunConfigError, RunDir, RunStopped
from wordgrad.train.solution_optimization import (
    SolutionOptimization,
    SolutionOptimizationConfig,
)

PLUGINS_ENV = "WORDGRAD_PLUGINS"

app = typer.Typer(
    name="wordgrad",
    help="Optimize prompts and answers with textual gradients (TextGrad).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
optimize_app = typer.Typer(help="Optimize a prompt (training) or answers (test time).")
app.add_typer(optimize_app, name="optimize", no_args_is_help=True)

# --------------------------------------------------------------------------- shared options

Model = Annotated[
    str, typer.Option("--model", help="Engine that answers: 'local', 'gpt-4o-mini', 'ollama/x'.")
]
BackwardModel = Annotated[
    str | None,
    typer.Option(
        "--backward-model", help="Engine for feedback, updates and judging (default: --model)."
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder with benchmark data (default: $WORDGRAD_DATA)."),
]
MaxConcurrency = Annotated[
    int | None, typer.Option("--max-concurrency", min=1, help="LLM calls in flight at most.")
]
RunDirOption = Annotated[
    Path | None,
    typer.Option("--run-dir", help="The run's directory; an existing run there is continued."),
]
MaxTokens = Annotated[
    int | None, typer.Option("--max-tokens", min=1, help="Stop before exceeding this many tokens.")
]
MaxCost = Annotated[
    float | None,
    typer.Option("--max-cost", min=0.0, help="Stop before exceeding this estimated cost (USD)."),
]
Force = Annotated[
    bool, typer.Option("--force", help="Discard a run with other settings in --run-dir.")
]
ReplyTokens = Annotated[
    int | None,
    typer.Option(min=1, help="Cap answers and feedback at N tokens (rewrites are not capped)."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or messages.")]
Plugins = Annotated[
    list[str] | None,
    typer.Option(
        "--plugin",
        help=f"Import this module first (it may register engines); also ${PLUGINS_ENV}.",
    ),
]

_LOCAL = "local"
RayOption = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="[ADDRESS]",
        help="Solve the questions as Ray tasks: on a local cluster ('local'), or at ADDRESS.",
    ),
]
MlflowOption = Annotated[
    str | None,
    typer.Option(
        "--mlflow",
        metavar="[TRACKING_URI]",
        help="Log the run to MLflow: its default store ('local'), or TRACKING_URI.",
    ),
]


def _ray_backend(address: str | None, plugins: list[str] | None) -> RayBackend | None:
    """``--ray [ADDRESS]``; workers import the same plugins (``$WORDGRAD_PLUGINS`` is passed on)."""
    if address is None:
        return None
    names = [m for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]
    os.environ[PLUGINS_ENV] = ",".join(dict.fromkeys([*names, *(plugins or [])]))
    return RayBackend(None if address == _LOCAL else address)


def _track(loop: PromptOptimization | SolutionOptimization, uri: str | None) -> None:
    """``--mlflow [URI]``: log the run to MLflow (``local``: MLflow's default store)."""
    if uri is not None:
        try:
            log_to_mlflow(loop, None if uri == _LOCAL else uri)
        except WordgradError as error:
            _fail(str(error), code=2)


def load_plugins(modules: list[str] | None) -> None:
    """Import each plugin module (from ``--plugin`` and ``$WORDGRAD_PLUGINS``)."""
    names = [m for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]
    for name in [*names, *(modules or [])]:
        try:
            importlib.import_module(name.strip())
        except ImportError as error:
            _fail(f"cannot import plugin {name.strip()!r}: {error}", code=2)


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"wordgrad: {message}", err=True)
    raise typer.Exit(code)


def _execute(loop: PromptOptimization | SolutionOptimization, quiet: bool) -> None:
    """Run a loop, print its results, and turn stops and errors into messages and exit codes.

    On a terminal the run is shown live (step, accuracy so far, tokens and cost so far).
    """
    try:
        if quiet or not sys.stderr.isatty():
            results = loop.run()
        else:
            with LiveView(Console(stderr=True)) as view:
                loop.on_event = chain_observers(loop.on_event, view.write)
                loop.reporter = ConsoleReporter(view.console)
                results = loop.run()
    except RunStopped as stopped:
        typer.echo(f"wordgrad: {stopped}", err=True)
        if stopped.status == "interrupted":
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)  # do not wait for LLM calls still in flight
        raise typer.Exit(3) from None
    except RunConfigError as error:
        _fail(str(error), code=2)
    except WordgradError as error:
        _fail(str(error))
    typer.echo(format_results(results))
    usage = results["usage"]
    typer.echo(f"tokens used: {usage['total_tokens']:,} (estimated cost ${usage['cost_usd']:.4f})")
    typer.echo(f"run directory: {results['run_dir']}")


# --------------------------------------------------------------------------- commands


@app.command()
def tasks(
    data_dir: DataDir = None,
) -> None:
    """List the tasks with the sizes of their splits (data found locally; nothing is downloaded)."""
    from wordgrad.train.catalog import task_rows

    for name, sizes in task_rows(data_dir):
        typer.echo(f"{name:<48} {sizes}")


@app.command("eval")
def eval_command(
    task: Annotated[str, typer.Option(help="A prompt-optimization task.")] = "BBH_object_counting",
    model: Model = "local",
    split: Annotated[str, typer.Option(help="train, val or test.")] = "val",
    size: Annotated[int | None, typer.Option(min=1, help="Only the first N examples.")] = None,
    prompt: Annotated[str | None, typer.Option(help="The system prompt to evaluate.")] = None,
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Evaluate this finished run's final prompt.")
    ] = None,
    data_dir: DataDir = None,
    max_concurrency: MaxConcurrency = None,
    quiet: Quiet = False,
    plugin: Plugins = None,
) -> None:
    """Score a system prompt on a task split: accuracy with its 95% bootstrap interval."""
    import wordgrad as tg
    from wordgrad.tasks import load_task

    load_plugins(plugin)
    if split not in ("train", "val", "test"):
        _fail(f"--split must be train, val or test, not {split!r}", code=2)
    if run_dir is not None:
        results = RunDir(run_dir).results()
        if results is None or "final_prompt" not in results:
            _fail(f"{run_dir} holds no finished prompt-optimization run", code=2)
        prompt, task = results["final_prompt"], results["task"]
    report = reporter(quiet)
    try:
        engine = tg.get_engine(model)
        train, val, test, eval_fn = load_task(task, evaluation_api=engine, data_dir=data_dir)
        examples = [(str(x), str(y)) for x, y in {"train": train, "val": val, "test": test}[split]]
        examples = examples[:size] if size else examples
        text = prompt or train.get_task_description()  # type: ignore[attr-defined]
        model_llm = tg.BlackboxLLM(engine, text)
        with tg.track() as meter, tg.max_concurrency(max_concurrency or tg.get_max_concurrency()):
            scores = evaluate(model_llm, examples, eval_fn, reporter=report, description=split)
    except WordgradError as error:
        _fail(str(error))
    typer.echo(f"{task} {split} accuracy: {format_accuracy(accuracy_summary(scores))}")
    typer.echo(f"tokens used: {meter.total_tokens:,} (estimated cost ${meter.cost_usd:.4f})")


@optimize_app.command("prompt")
def optimize_prompt_command(
    task: Annotated[str, typer.Option(help="A prompt-optimization task.")] = "BBH_object_counting",
    model: Model = "local",
    backward_model: BackwardModel = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Questions per step.")] = 3,
    steps: Annotated[int | None, typer.Option(min=0, help="Stop after N steps in all.")] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training split.")] = 3,
    steps_per_epoch: Annotated[
        int | None, typer.Option(min=1, help="Steps per epoch (paper: 4).")
    ] = 4,
    seed: Annotated[int, typer.Option(help="Seeds the order of training batches.")] = 42,
    validation: Annotated[
        bool, typer.Option(help="Revert updates that lower validation accuracy.")
    ] = True,
    train_size: Annotated[int | None, typer.Option(min=1, help="First N training items.")] = None,
    val_size: Annotated[int | None, typer.Option(min=0, help="First N validation items.")] = None,
    test_size: Annotated[
        int | None, typer.Option(min=0, help="First N test items (0: no test evaluation).")
    ] = None,
    metric: Annotated[str, typer.Option(help="default, exact or llm.")] = "default",
    gradient_memory: Annotated[
        int, typer.Option(min=0, help="Show the optimizer the feedback of the last N updates.")
    ] = 0,
    momentum_window: Annotated[
        int, typer.Option(min=0, help="Show the optimizer the last N versions of the prompt.")
    ] = 0,
    reply_tokens: ReplyTokens = None,
    run_dir: RunDirOption = None,
    data_dir: DataDir = None,
    max_concurrency: MaxConcurrency = None,
    max_tokens: MaxTokens = None,
    max_cost: MaxCost = None,
    force: Force = False,
    quiet: Quiet = False,
    plugin: Plugins = None,
    mlflow: MlflowOption = None,
) -> None:
    """Optimize a task's system prompt on minibatches, with validation after each step."""
    load_plugins(plugin)
    if metric not in ("default", "exact", "llm"):
        _fail(f"--metric must be default, exact or llm, not {metric!r}", code=2)
    config = PromptOptimizationConfig(
        task=task,
        model=model,
        backward_model=backward_model,
        batch_size=batch_size,
        max_epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        steps=steps,
        seed=seed,
        validation=validation,
        train_size=train_size,
        val_size=val_size,
        test_size=test_size,
        metric=metric,  # type: ignore[arg-type]
        gradient_memory=gradient_memory,
        momentum_window=momentum_window,
        reply_tokens=reply_tokens,
    )
    loop = PromptOptimization(
        config,
        run_dir or Path("runs") / f"prompt-{task}",
        data_dir=data_dir,
        max_concurrency=max_concurrency,
        budget=Budget(max_tokens, max_cost),
        force=force,
        reporter=reporter(quiet),
    )
    _track(loop, mlflow)
    _execute(loop, quiet)


@optimize_app.command("solution")
def optimize_solution_command(
    task: Annotated[str, typer.Option(help="MMLU_<subject> or GPQA_diamond.")] = (
        "MMLU_machine_learning"
    ),
    model: Model = "local",
    backward_model: BackwardModel = None,
    iterations: Annotated[int, typer.Option(min=1, help="Critique-and-rewrite rounds.")] = 3,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Questions per step (run side by side).")
    ] = 4,
    steps: Annotated[int | None, typer.Option(min=0, help="Stop after N steps in all.")] = None,
    size: Annotated[int | None, typer.Option(min=1, help="Only the first N questions.")] = None,
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
    """Improve each answer at test time by critique and rewrite, then take a majority vote."""
    load_plugins(plugin)
    config = SolutionOptimizationConfig(
        task=task,
        model=model,
        backward_model=backward_model,
        iterations=iterations,
        batch_size=batch_size,
        steps=steps,
        size=size,
        reply_tokens=reply_tokens,
    )
    loop = SolutionOptimization(
        config,
        run_dir or Path("runs") / f"solution-{task}",
        data_dir=data_dir,
        max_concurrency=max_concurrency,
        budget=Budget(max_tokens, max_cost),
        force=force,
        reporter=reporter(quiet),
        ray=_ray_backend(ray, plugin),
    )
    _track(loop, mlflow)
    _execute(loop, quiet)


@app.command()
def show(run_dir: Annotated[Path, typer.Argument(help="A run directory.")]) -> None:
    """Print a run's results (or where it stands, if it has not finished)."""
    directory = RunDir(run_dir)
    results = directory.results()
    if results is not None:
        typer.echo(json.dumps(results, indent=2, ensure_ascii=False))
        return
    steps = directory.checkpoint_steps()
    if not steps:
        _fail(f"{run_dir} holds no run", code=2)
    typer.echo(f"{run_dir}: not finished; last checkpoint after step {steps[-1]}")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (a training run's --run-dir).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write it (default: RUN_DIR/report.html)."),
    ] = None,
) -> None:
    """Write a run's report, one self-contained HTML file, and print its path."""
    try:
        path = write_report(run_dir, output)
    except FileNotFoundError as error:
        _fail(str(error), code=2)
    typer.echo(str(path))


def main(argv: list[str] | None = None) -> Any:
    """The console entry point (``wordgrad``)."""
    return app(args=_optional_values(sys.argv[1:] if argv is None else argv), prog_name="wordgrad")


def _optional_values(argv: list[str]) -> list[str]:
    """``--ray`` / ``--mlflow`` without a value mean ``--ray local`` / ``--mlflow local``."""
    out: list[str] = []
    for index, arg in enumerate(argv):
        out.append(arg)
        following = argv[index + 1] if index + 1 < len(argv) else "-"
        if arg in ("--ray", "--mlflow") and following.startswith("-"):
            out.append(_LOCAL)
    return out


if __name__ == "__main__":
    main()
