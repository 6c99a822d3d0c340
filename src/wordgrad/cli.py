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

Errors are one line on stderr (``wordgrad: ...``): a mistake in the command, a damaged or
unreadable file, a full disk, a read-only directory. ``--debug`` (anywhere on the command line,
or ``WORDGRAD_DEBUG=1``) shows the traceback as well.
"""

from __future__ import annotations

import difflib
import importlib
import json
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from wordgrad.distributed import RayBackend
from wordgrad.engine.retry import DEFAULT_RECONNECT_WINDOW_S, set_default_reconnect_window
from wordgrad.errors import WordgradError
from wordgrad.report import write_report
from wordgrad.report.live import LiveView
from wordgrad.tracking import chain_observers, log_to_mlflow
from wordgrad.train.evaluate import accuracy_summary, evaluate, format_accuracy, format_results
from wordgrad.train.loop import RunLoop
from wordgrad.train.progress import LiveReporter, reporter
from wordgrad.train.prompt_optimization import PromptOptimization, PromptOptimizationConfig
from wordgrad.train.runs import Budget, RunConfigError, RunDir, RunStopped, explain_os_error
from wordgrad.train.solution_optimization import (
    SolutionOptimization,
    SolutionOptimizationConfig,
)

PLUGINS_ENV = "WORDGRAD_PLUGINS"
DEBUG_ENV = "WORDGRAD_DEBUG"
DEBUG_FLAG = "--debug"

app = typer.Typer(
    name="wordgrad",
    help=(
        "Optimize prompts and answers with textual gradients (TextGrad). Errors are one line; "
        "add --debug anywhere to see the traceback."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(
    reconnect_window: Annotated[
        float,
        typer.Option(
            "--reconnect-window",
            min=0.0,
            help="Seconds to keep retrying a server that refuses connections (e.g. restarting).",
        ),
    ] = DEFAULT_RECONNECT_WINDOW_S,
) -> None:
    """Options for every command."""
    set_default_reconnect_window(reconnect_window)


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
        help="Run the instances as Ray tasks: on a local cluster ('local'), or at ADDRESS.",
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


def _track(loop: RunLoop, uri: str | None) -> None:
    """``--mlflow [URI]``: log the run to MLflow (``local``: MLflow's default store)."""
    if uri is not None:
        try:
            log_to_mlflow(loop, None if uri == _LOCAL else uri)
        except WordgradError as error:
            _fail(str(error), code=2)


TrainFile = Annotated[
    Path | None,
    typer.Option(
        "--train", help="Your training data: .jsonl, .json or .csv (then --task is a label)."
    ),
]
ValFile = Annotated[
    Path | None, typer.Option("--val", help="Your validation data (same format as --train).")
]
TestFile = Annotated[
    Path | None, typer.Option("--test", help="Your test data (same format as --train).")
]
InputField = Annotated[
    str, typer.Option("--input-field", help="The field of your records the model gets as input.")
]
TargetField = Annotated[
    str, typer.Option("--target-field", help="The field of your records with the expected output.")
]
MetricOption = Annotated[
    str,
    typer.Option(
        "--metric",
        help="Benchmarks: default, exact, llm. Your data: exact, numeric, choice, regex, judge, "
        "or module:function (returns a score, optionally with feedback).",
    ),
]
Pattern = Annotated[
    str | None, typer.Option("--pattern", help="The regular expression of --metric regex.")
]
Rubric = Annotated[str | None, typer.Option("--rubric", help="What --metric judge grades by.")]
PromptOption = Annotated[
    str | None, typer.Option("--prompt", help="The starting system prompt (your data needs one).")
]
Prices = Annotated[
    list[str] | None,
    typer.Option(
        "--price",
        help="MODEL=INPUT,OUTPUT: USD per million prompt / completion tokens, for a model "
        "the price table lacks (repeatable).",
    ),
]
Yes = Annotated[
    bool, typer.Option("--yes", "-y", help="Start without asking, whatever the projected cost.")
]
Preflight = Annotated[
    bool,
    typer.Option(
        help="Send one tiny request to each engine first, so a wrong model fails at once."
    ),
]
ConfirmAbove = Annotated[
    float,
    typer.Option(
        "--confirm-above", min=0.0, help="On a terminal, ask before a run projected above this USD."
    ),
]


def set_prices(prices: list[str] | None) -> None:
    """Apply ``--price MODEL=INPUT,OUTPUT`` options."""
    from wordgrad.engine.usage import set_price

    for item in prices or []:
        model, _, values = item.partition("=")
        try:
            prompt_price, completion_price = (float(v) for v in values.split(","))
        except ValueError:
            _fail(f"--price {item!r}: write MODEL=INPUT,OUTPUT, e.g. --price gpt-5=1.25,10", 2)
        if not model or prompt_price < 0 or completion_price < 0:
            _fail(f"--price {item!r}: write MODEL=INPUT,OUTPUT with prices >= 0", code=2)
        set_price(model, prompt_price, completion_price)


def _confirm(yes: bool) -> Any:
    """Ask on a terminal (unless --yes); elsewhere never ask."""
    if yes or not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None
    return lambda question: typer.confirm(question, default=False, err=True)


def load_plugins(modules: list[str] | None) -> None:
    """Import each plugin module (from ``--plugin`` and ``$WORDGRAD_PLUGINS``)."""
    names = [m for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]
    for name in [*names, *(modules or [])]:
        try:
            importlib.import_module(name.strip())
        except ImportError as error:
            _fail(f"cannot import plugin {name.strip()!r}: {error}", code=2)


def _debugging() -> bool:
    """Whether errors should show their traceback (``--debug`` or ``$WORDGRAD_DEBUG``)."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"wordgrad: {message}", err=True)
    raise typer.Exit(code)


_TASK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
"""A task name is also part of the default run directory: no path separators."""


def _execute(loop: RunLoop, quiet: bool) -> None:
    """Run a loop, print its results and final values, and turn stops and errors into messages
    and exit codes.

    On a terminal the run is shown live (step, calls, elapsed time, tokens and cost so far).
    """
    try:
        if quiet or not sys.stderr.isatty():
            results = loop.run()
        else:
            budget = loop.budget or Budget()
            view = LiveView(
                Console(stderr=True), max_tokens=budget.max_tokens, max_cost=budget.max_cost
            )
            with view:
                loop.on_event = chain_observers(loop.on_event, view.write)
                loop.reporter = LiveReporter(view)
                results = loop.run()
    except RunStopped as stopped:
        _stopped(stopped)
    except KeyboardInterrupt:
        _stopped(
            RunStopped(
                f"interrupted (Ctrl-C); run the same command again (same --run-dir "
                f"{loop.run_dir}) to continue from the last checkpoint",
                status="interrupted",
                run_dir=Path(loop.run_dir),
            )
        )
    except RunConfigError as error:
        if _debugging():
            raise
        _fail(str(error), code=2)
    except WordgradError as error:
        if _debugging():
            raise
        _fail(str(error))
    typer.echo(format_results(results))
    _print_final_values(Path(results["run_dir"]))
    usage = results["usage"]
    typer.echo(f"tokens used: {usage['total_tokens']:,} (estimated cost ${usage['cost_usd']:.4f})")
    typer.echo(f"run directory: {results['run_dir']}")


def _stopped(stopped: RunStopped) -> NoReturn:
    typer.echo(f"wordgrad: {stopped}", err=True)
    if stopped.status == "interrupted":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)  # do not wait for LLM calls still in flight
    raise typer.Exit(3)


def _print_final_values(run_dir: Path, limit: int = 10) -> None:
    """The optimized values kept in the run's result.json, and how to load them."""
    from wordgrad.train.results import RESULT_FILE, load_result

    try:
        result = load_result(run_dir)
    except WordgradError:
        return
    items = list(result.values.items())
    for name, value in items[:limit]:
        typer.echo(f"--- final {name}:\n{value}")
    if len(items) > limit:
        typer.echo(f"--- and {len(items) - limit} more values")
    typer.echo(
        f"saved in {run_dir / RESULT_FILE}; load with wordgrad.train.load_result({str(run_dir)!r})"
    )


# --------------------------------------------------------------------------- commands


@app.command()
def tasks(
    data_dir: DataDir = None,
    plugin: Plugins = None,
) -> None:
    """List the tasks, the sizes of their splits (data found locally; nothing is downloaded)
    and the commands that take them. Tasks registered by plugins are listed too."""
    from wordgrad.train.catalog import describe_commands, task_rows

    load_plugins(plugin)
    for name, sizes in task_rows(data_dir):
        typer.echo(f"{name:<44} {sizes:<44} {describe_commands(name)}")


@app.command("eval")
def eval_command(
    task: Annotated[
        str, typer.Option(help="A prompt-optimization task, or a label for your data.")
    ] = "BBH_object_counting",
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="Engine that answers (default: the run's with --run-dir, else local)."
        ),
    ] = None,
    split: Annotated[str | None, typer.Option(help="train, val or test (default: val).")] = None,
    size: Annotated[int | None, typer.Option(min=1, help="Only the first N examples.")] = None,
    prompt: PromptOption = None,
    train: TrainFile = None,
    val: ValFile = None,
    test: TestFile = None,
    input_field: InputField = "question",
    target_field: TargetField = "answer",
    metric: MetricOption = "default",
    pattern: Pattern = None,
    rubric: Rubric = None,
    run_dir: Annotated[
        Path | None,
        typer.Option("--run-dir", help="Evaluate this finished run's final prompt, on its data."),
    ] = None,
    data_dir: DataDir = None,
    max_concurrency: MaxConcurrency = None,
    quiet: Quiet = False,
    plugin: Plugins = None,
) -> None:
    """Score a system prompt on a split: accuracy with its 95% bootstrap interval.

    Your own data takes the same options as ``optimize prompt`` (--train/--val/--test,
    --input-field, --target-field, --metric, --prompt); with only one file given, it is the
    split evaluated.
    """
    import wordgrad as tg
    from wordgrad.train.results import load_result

    load_plugins(plugin)
    files = {"train": train, "val": val, "test": test}
    if run_dir is not None:
        saved = RunDir(run_dir)
        if not saved.config_path.exists():
            _fail(f"{run_dir} holds no run", code=2)
        config = json.loads(saved.config_path.read_text(encoding="utf-8"))
        try:
            prompt = load_result(run_dir).values.get("system_prompt")
        except WordgradError:
            results = saved.results() or {}
            prompt = results.get("final_prompt")
        if prompt is None:
            _fail(f"{run_dir} holds no finished prompt-optimization run", code=2)
        task = config.get("task", task)
        model = model or config.get("model")
        for name in files:
            if files[name] is None and config.get(f"{name}_file"):
                files[name] = Path(config[f"{name}_file"])
        input_field = config.get("input_field", input_field)
        target_field = config.get("target_field", target_field)
        if metric == "default":
            metric = config.get("metric", metric)
        pattern, rubric = pattern or config.get("pattern"), rubric or config.get("rubric")
    model = model or "local"
    given = [name for name, path in files.items() if path is not None]
    split = split or (given[0] if len(given) == 1 else "val")
    if split not in ("train", "val", "test"):
        _fail(f"--split must be train, val or test, not {split!r}", code=2)
    report = reporter(quiet)
    engines: list[Any] = []

    def engine() -> Any:  # built once, and only after the data was read
        if not engines:
            engines.append(tg.get_engine(model))
        return engines[0]

    try:
        examples, eval_fn, default_prompt = _evaluation_data(
            task,
            split,
            files,
            input_field,
            target_field,
            metric,
            pattern,
            rubric,
            engine,
            data_dir,
        )
        examples = examples[:size] if size else examples
        text = prompt or default_prompt
        if not text:
            _fail("give the system prompt to evaluate with --prompt", code=2)
        model_llm = tg.BlackboxLLM(engine(), text)
        with tg.track() as meter, tg.max_concurrency(max_concurrency or tg.get_max_concurrency()):
            scores = evaluate(model_llm, examples, eval_fn, reporter=report, description=split)
    except KeyboardInterrupt:
        typer.echo("wordgrad: evaluation interrupted (Ctrl-C); nothing was saved", err=True)
        sys.stderr.flush()
        os._exit(130)
    except WordgradError as error:
        _fail(str(error))
    typer.echo(f"{task} {split} accuracy: {format_accuracy(accuracy_summary(scores))}")
    typer.echo(f"tokens used: {meter.total_tokens:,} (estimated cost ${meter.cost_usd:.4f})")


def _evaluation_data(
    task: str,
    split: str,
    files: dict[str, Path | None],
    input_field: str,
    target_field: str,
    metric: str,
    pattern: str | None,
    rubric: str | None,
    engine: Callable[[], Any],
    data_dir: Path | None,
) -> tuple[list[Any], Any, str]:
    """``(examples, eval_fn, default prompt)`` of a split of a benchmark or of one's own data."""
    from wordgrad.tasks import load_task
    from wordgrad.tasks.objectives import LLMJudge, make_metric
    from wordgrad.tasks.user import examples_from, get_registered_task

    if any(path is not None for path in files.values()):
        path = files[split]
        if path is None:
            _fail(f"no --{split} file given to evaluate", code=2)
        own = examples_from(path, input_field, target_field)
        scorer = make_metric(
            "exact" if metric == "default" else metric, pattern=pattern, rubric=rubric
        )
        if isinstance(scorer, LLMJudge):
            scorer = scorer.with_engine(engine())
        return [(e.input, e.target, e) for e in own], scorer, ""
    registered = get_registered_task(task)
    if registered is not None:
        scorer = registered.metric
        if isinstance(scorer, LLMJudge) and scorer.engine is None:
            scorer = scorer.with_engine(engine())
        chosen = registered.split(split)
        return [(e.input, e.target, e) for e in chosen], scorer, registered.prompt
    _check_task(task, "eval")
    if metric not in ("default", "exact", "llm"):
        _fail(f"--metric {metric} is for your own data (--train/--val/--test FILE)", code=2)
    train, val, test, eval_fn = load_task(
        task,
        evaluation_api=engine(),
        metric=metric,  # type: ignore[arg-type]
        data_dir=data_dir,
    )
    examples = [(str(x), str(y)) for x, y in {"train": train, "val": val, "test": test}[split]]
    return examples, eval_fn, train.get_task_description()  # type: ignore[attr-defined]


def _check_task(task: str, command: str) -> None:
    """Fail with the commands that do accept ``task`` when ``command`` does not."""
    from wordgrad.train.catalog import commands_for, task_names

    accepted = commands_for(task) if _TASK_NAME.fullmatch(task) else None
    if accepted is None:
        close = difflib.get_close_matches(task, task_names(), n=3)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        _fail(
            f"unknown task {task!r}; {hint}`wordgrad tasks` lists them, "
            "or give your own data with --train FILE",
            code=2,
        )
    if command not in accepted:
        _fail(
            f"task {task!r} does not work with `wordgrad {command}`; it works with: "
            + ", ".join(f"`wordgrad {c}`" for c in accepted),
            code=2,
        )


@optimize_app.command("prompt")
def optimize_prompt_command(
    task: Annotated[
        str, typer.Option(help="A prompt-optimization task, or a label for your data.")
    ] = "BBH_object_counting",
    train: TrainFile = None,
    val: ValFile = None,
    test: TestFile = None,
    input_field: InputField = "question",
    target_field: TargetField = "answer",
    metric: MetricOption = "default",
    pattern: Pattern = None,
    rubric: Rubric = None,
    prompt: PromptOption = None,
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
    price: Prices = None,
    yes: Yes = False,
    confirm_above: ConfirmAbove = 1.0,
    preflight: Preflight = True,
    force: Force = False,
    quiet: Quiet = False,
    plugin: Plugins = None,
    mlflow: MlflowOption = None,
) -> None:
    """Optimize a system prompt on minibatches, with validation after each step.

    Your own data: --train (and --val, --test) files, the fields to read, a metric and a
    starting --prompt. The final prompt is printed and saved in RUN_DIR/result.json.
    """
    from wordgrad.tasks.user import get_registered_task

    load_plugins(plugin)
    set_prices(price)
    if not _TASK_NAME.fullmatch(task):
        _fail(
            f"unknown task {task!r}: a task name (or label) holds only letters, digits, '_', '.' "
            "and '-'",
            code=2,
        )
    own_files = train is not None
    if not own_files and (val is not None or test is not None):
        _fail("--val and --test need --train (your training data)", code=2)
    if not own_files and get_registered_task(task) is None:
        _check_task(task, "optimize prompt")
        if metric not in ("default", "exact", "llm"):
            _fail(f"--metric {metric} is for your own data (--train FILE)", code=2)
    label = task if (task != "BBH_object_counting" or not own_files) else Path(str(train)).stem
    config = PromptOptimizationConfig(
        task=label,
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
        metric=metric,
        starting_prompt=prompt,
        train_file=_absolute(train),
        val_file=_absolute(val),
        test_file=_absolute(test),
        input_field=input_field,
        target_field=target_field,
        pattern=pattern,
        rubric=rubric,
        gradient_memory=gradient_memory,
        momentum_window=momentum_window,
        reply_tokens=reply_tokens,
    )
    loop = PromptOptimization(
        config,
        run_dir or Path("runs") / f"prompt-{label}",
        data_dir=data_dir,
        max_concurrency=max_concurrency,
        budget=Budget(max_tokens, max_cost),
        force=force,
        reporter=reporter(quiet),
        preflight=preflight,
        confirm=_confirm(yes),
        confirm_above=confirm_above,
    )
    _track(loop, mlflow)
    _execute(loop, quiet)


def _absolute(path: Path | None) -> str | None:
    return None if path is None else str(path.resolve())


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
    price: Prices = None,
    yes: Yes = False,
    confirm_above: ConfirmAbove = 1.0,
    preflight: Preflight = True,
    force: Force = False,
    quiet: Quiet = False,
    plugin: Plugins = None,
    ray: RayOption = None,
    mlflow: MlflowOption = None,
) -> None:
    """Improve each answer at test time by critique and rewrite, then take a majority vote."""
    load_plugins(plugin)
    set_prices(price)
    _check_task(task, "optimize solution")
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
        preflight=preflight,
        confirm=_confirm(yes),
        confirm_above=confirm_above,
        ray=_ray_backend(ray, plugin),
    )
    _track(loop, mlflow)
    _execute(loop, quiet)


@app.command()
def show(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="The results as JSON.")] = False,
    requests: Annotated[
        int, typer.Option("--requests", min=0, help="Also print the last N requests sent.")
    ] = 0,
) -> None:
    """Summarize a run: its values, accuracy before and after with intervals, and its cost."""
    from wordgrad.train.summary import summarize

    directory = RunDir(run_dir)
    if not directory.config_path.exists() and not directory.checkpoint_steps():
        _fail(f"{run_dir} holds no run", code=2)
    results = directory.results()
    if as_json:
        status = {"status": "completed"} if results is not None else {"status": "unfinished"}
        typer.echo(json.dumps(results or status, indent=2, ensure_ascii=False))
    else:
        typer.echo(summarize(run_dir))
    if requests:
        from wordgrad.train.requests import read_requests

        for record in read_requests(run_dir)[-requests:]:
            typer.echo(
                f"\n[{record.get('time')}] {record.get('purpose')} · {record.get('model')} · "
                f"{record.get('prompt_tokens')}+{record.get('completion_tokens')} tokens"
            )
            for message in record.get("messages", []):
                typer.echo(f"--- {message['role']}\n{message['content']}")
            typer.echo(f"--- reply\n{record.get('reply') or record.get('error')}")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (a training run's --run-dir).")],
    other: Annotated[
        Path | None, typer.Argument(help="A second run: write a comparison of the two.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write it (default: RUN_DIR/report.html or RUN_DIR/compare-OTHER.html).",
        ),
    ] = None,
) -> None:
    """Write a run's report (or the comparison of two runs), one self-contained HTML file, and
    print its path."""
    from wordgrad.report.compare import write_comparison

    try:
        path = (
            write_report(run_dir, output)
            if other is None
            else write_comparison(run_dir, other, output)
        )
    except FileNotFoundError as error:
        if _debugging():
            raise
        _fail(str(error), code=2)
    typer.echo(str(path))


def _optional_values(argv: list[str]) -> list[str]:
    """``--ray`` / ``--mlflow`` without a value mean ``--ray local`` / ``--mlflow local``."""
    out: list[str] = []
    for index, arg in enumerate(argv):
        out.append(arg)
        following = argv[index + 1] if index + 1 < len(argv) else "-"
        if arg in ("--ray", "--mlflow") and following.startswith("-"):
            out.append(_LOCAL)
    return out


def describe_error(error: BaseException) -> tuple[str, int]:
    """One line for an error that reached the command line, and the exit code.

    The library's own errors already say what to do; the machine's (``OSError``: a full disk, a
    read-only directory, a missing file) and a file that is not valid JSON are named with the
    path; anything else is reported as unexpected, with a pointer to ``--debug``.
    """
    if isinstance(error, RunConfigError):
        return str(error), 2
    if isinstance(error, WordgradError):
        return str(error), 1
    if isinstance(error, OSError):
        why, fix = explain_os_error(error)
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{why}; {fix}", 1
    if isinstance(error, json.JSONDecodeError):
        return (
            f"a file is not valid JSON ({error.msg} at line {error.lineno}, column "
            f"{error.colno}); fix or remove it",
            1,
        )
    if isinstance(error, (ValueError, UnicodeError)):  # bad values: a setting, a file's content
        return str(error), 1
    return (
        f"unexpected {type(error).__name__}: {error} (run again with {DEBUG_FLAG} to see the "
        "traceback, and please report it)",
        1,
    )


class _OneLine(logging.Handler):
    """Warnings of the library (e.g. a repaired run directory) as ``wordgrad: ...`` lines."""

    def emit(self, record: logging.LogRecord) -> None:
        typer.echo(f"wordgrad: {record.getMessage()}", err=True)


def _show_warnings() -> None:
    for name in ("wordgrad.runs", "wordgrad.report"):
        library_logger = logging.getLogger(name)
        if not any(isinstance(h, _OneLine) for h in library_logger.handlers):
            library_logger.addHandler(_OneLine(logging.WARNING))


def main(argv: list[str] | None = None) -> Any:
    """The console entry point (``wordgrad``): errors become one line and an exit code;
    ``--debug`` (or ``WORDGRAD_DEBUG=1``) also shows the traceback."""
    args = _optional_values(list(sys.argv[1:] if argv is None else argv))
    if DEBUG_FLAG in args:
        os.environ[DEBUG_ENV] = "1"
    debug = _debugging()
    args = [arg for arg in args if arg != DEBUG_FLAG]
    _show_warnings()
    # The working directory is importable, as with ``python -m``, so ``--metric my_metric:fn``
    # and ``--plugin my_module`` find modules next to the data.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return app(args=args, prog_name="wordgrad")
    except KeyboardInterrupt:
        if debug:
            raise
        typer.echo("wordgrad: interrupted", err=True)
        sys.exit(130)
    except Exception as error:
        if debug:
            raise
        message, code = describe_error(error)
        typer.echo(f"wordgrad: {message}", err=True)
        sys.exit(code)


# registers `wordgrad optimize code`, `optimize molecule` and `optimize plan`
from wordgrad import cli_code, cli_molecule, cli_plan  # noqa: E402, F401

if __name__ == "__main__":
    importlib.import_module("wordgrad.cli").main()  # the module other modules register on
