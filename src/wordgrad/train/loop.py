"""What the training and test-time loops share: options, engines, and running inside a run.

A loop subclasses :class:`RunLoop` and implements :meth:`RunLoop.execute`, which gets an open
:class:`~wordgrad.train.runs.Run` (holding the checkpoint to continue from, if any) and returns
the results.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Protocol

from wordgrad import calls
from wordgrad.config import get_max_concurrency, max_concurrency
from wordgrad.engine import get_engine
from wordgrad.engine.base import EngineLM
from wordgrad.errors import ConfigurationError, EngineError, WordgradError
from wordgrad.executor import EXECUTOR
from wordgrad.llm import Request
from wordgrad.train.progress import Reporter, SilentReporter
from wordgrad.train.requests import REQUESTS_FILE, RequestLog
from wordgrad.train.results import RESULT_FILE, save_result
from wordgrad.train.runs import DEFAULT_KEEP_CHECKPOINTS, Budget, EventObserver, Run, RunStopped

PREFLIGHT_PROMPT = "Reply with the single word: ready"
"""What the pre-flight call sends to each engine (a few tokens each way)."""


class PreflightError(WordgradError):
    """An engine failed its pre-flight call; nothing else was sent."""


Confirm = Callable[[str], bool]
"""Asked before a run whose projected cost is above the threshold: ``confirm(message)``."""


class LoopConfig(Protocol):
    """The settings every loop has."""

    @property
    def model(self) -> str: ...

    @property
    def backward_model(self) -> str | None: ...

    @property
    def reply_tokens(self) -> int | None: ...

    def as_dict(self) -> dict[str, Any]: ...


def build_engine(name: str, reply_tokens: int | None) -> EngineLM:
    """``get_engine(name)``, with replies capped at ``reply_tokens`` when that is set."""
    return get_engine(name) if reply_tokens is None else get_engine(name, max_tokens=reply_tokens)


class RunLoop(ABC):
    """A loop that runs in a run directory and can be resumed.

    Args:
        config: what to compute (saved as ``config.json``; a resume must match it).
        run_dir: the run's directory; an existing run of the same config is continued.
        data_dir: where task data is read first (default ``$WORDGRAD_DATA``).
        forward_engine / backward_engine: engine objects to use instead of the names in
            ``config`` (the names stay in the config as labels).
        max_concurrency: at most this many LLM calls at once.
        budget: stop before a step would exceed these token / cost limits.
        force: discard a run of other settings in ``run_dir`` and start over.
        reporter: where progress goes (default: nowhere).
        on_event: told about every event as it is written (e.g. ``LiveView().write``), and
            about two kinds that are not logged: ``"projection"`` (``calls``, ``text``) before
            the start, and ``"progress"`` (``calls``, ``total_tokens``, ``cost_usd`` so far,
            ``purpose``) each time a call returns.
        preflight: on a fresh start, send one tiny request to each engine before anything
            else, so a wrong model name or server fails at once (the command line does; default
            off in Python). Counted in usage as "other".
        confirm: asked (with the projection) before a fresh run projected to cost more than
            ``confirm_above`` USD; a ``False`` answer stops before anything is spent.
        confirm_above: the threshold for ``confirm`` (USD).
        keep_checkpoints: keep this many of the newest checkpoints (``None``: all); see
            :class:`~wordgrad.train.runs.Run`.

    Every request the run sends goes through the budget (checked before it is sent: a cost
    budget refuses models without a price) and into ``requests.jsonl`` (see
    :mod:`wordgrad.train.requests`). A completed run keeps its optimized values in
    ``result.json`` (see :func:`wordgrad.train.results.load_result`).
    """

    kind = "loop"

    def __init__(
        self,
        config: LoopConfig,
        run_dir: str | os.PathLike[str],
        *,
        data_dir: str | os.PathLike[str] | None = None,
        forward_engine: EngineLM | None = None,
        backward_engine: EngineLM | None = None,
        max_concurrency: int | None = None,
        budget: Budget | None = None,
        force: bool = False,
        reporter: Reporter | None = None,
        on_event: EventObserver | None = None,
        keep_checkpoints: int | None = DEFAULT_KEEP_CHECKPOINTS,
        preflight: bool = False,
        confirm: Confirm | None = None,
        confirm_above: float = 1.0,
    ) -> None:
        self.loop_config = config
        self.keep_checkpoints = keep_checkpoints
        self.on_event = on_event
        self.run_dir = run_dir
        self.data_dir = data_dir
        self._forward = forward_engine
        self._backward = backward_engine
        self.max_concurrency = max_concurrency
        self.budget = budget
        self.force = force
        self.reporter = reporter or SilentReporter()
        self.preflight = preflight
        self._engines: tuple[EngineLM, EngineLM] | None = None
        self._optimizer_engine: EngineLM | None = None
        self.confirm = confirm
        self.confirm_above = confirm_above

    def engines(self) -> tuple[EngineLM, EngineLM]:
        """The forward and backward engines (one engine when both names are the same); built
        once per loop."""
        if self._engines is None:
            self._engines = self._build_engines()
        return self._engines

    def _build_engines(self) -> tuple[EngineLM, EngineLM]:
        c = self.loop_config
        forward = self._forward or build_engine(c.model, c.reply_tokens)
        backward_name = c.backward_model or c.model
        backward = self._backward or (
            forward if backward_name == c.model else build_engine(backward_name, c.reply_tokens)
        )
        return forward, backward

    def optimizer_engine(self, backward: EngineLM) -> EngineLM:
        """The engine that rewrites variables: the backward engine, but never with a reply cap,
        since an update must hold the whole new value (a cut-off reply cannot be parsed)."""
        c = self.loop_config
        if self._backward is not None or c.reply_tokens is None:
            return backward
        if self._optimizer_engine is None:
            self._optimizer_engine = build_engine(c.backward_model or c.model, None)
        return self._optimizer_engine

    def run(self) -> dict[str, Any]:
        """Run (or continue) to the end; returns the results (also in ``results.json``).

        Raises :class:`~wordgrad.train.runs.RunStopped` on Ctrl-C or when the budget stops it
        (``status`` "interrupted" / "budget"; the message says how to continue),
        :class:`~wordgrad.train.runs.RunConfigError` when ``run_dir`` holds other settings,
        :class:`~wordgrad.errors.ConfigurationError` for a cost budget with a model of unknown
        price, and :class:`PreflightError` when an engine fails its pre-flight call.
        """
        with _interrupt_once():
            try:
                return self._run()
            except KeyboardInterrupt:  # before the run was open, or while it was closing
                raise RunStopped(
                    f"run interrupted (Ctrl-C) before it started or while it was stopping; "
                    f"run the same command again (same --run-dir {Path(self.run_dir)}) to "
                    "continue from the last checkpoint",
                    status="interrupted",
                    run_dir=Path(self.run_dir),
                ) from None

    def _run(self) -> dict[str, Any]:
        with Run(
            self.run_dir,
            kind=self.kind,
            config=self.loop_config.as_dict(),
            force=self.force,
            budget=self.budget,
            on_event=self.on_event,
            keep_checkpoints=self.keep_checkpoints,
        ) as run:
            if run.results is not None:
                self.reporter.message(f"run already completed; results in {run.path}")
                self._keep_result(run.path, run.results)
                return run.results
            if run.checkpoint is None:
                self.reporter.message(f"run directory: {run.path}")
            else:
                self.reporter.message(f"resuming {run.path} after step {run.last_step}")
            with ExitStack() as stack:
                log = RequestLog(run.path / REQUESTS_FILE)
                stack.callback(log.close)
                budget = self._call_budget(run)
                watchers: list[calls.Watcher] = [log, budget]
                if self.on_event is not None:
                    watchers.append(_Progress(self.on_event, run.usage))
                stack.enter_context(calls.watch(*watchers))
                stack.enter_context(max_concurrency(self.max_concurrency or get_max_concurrency()))
                try:
                    self._before_start(run)
                    results = self.execute(run)
                except RunStopped as stopped:
                    if stopped.status != "budget" or "Raise the budget" in str(stopped):
                        raise
                    raise RunStopped(
                        f"{stopped}. Raise the budget (--max-cost / --max-tokens) to go on",
                        status="budget",
                        run_dir=run.path,
                    ) from None
                except Exception as error:
                    refused = calls.find_budget_error(error)
                    if refused is None:
                        raise
                    raise RunStopped(
                        f"run stopped before a call that would exceed the budget: {refused}",
                        status="budget",
                        run_dir=run.path,
                    ) from None
            self._keep_result(run.path, results)
            return results

    def _call_budget(self, run: Run) -> calls.CallBudget:
        budget = self.budget or Budget()
        usage = run.usage
        hint = (
            "Raise the budget (--max-cost / --max-tokens) and run the same command again "
            f"(same --run-dir {run.path}) to continue from the last checkpoint"
        )
        return calls.CallBudget(
            budget.max_tokens,
            budget.max_cost,
            already=(int(usage["total_tokens"]), float(usage["cost_usd"])),
            hint=hint,
        )

    def _before_start(self, run: Run) -> None:
        """Refuse unknown prices, show the projection, ask, and send the pre-flight calls."""
        engines = self.all_engines()
        budget = self.budget or Budget()
        if budget.max_cost is not None:
            unpriced = calls.models_without_price(engines)
            if unpriced:
                raise ConfigurationError(calls.unknown_price_message(unpriced[0]))
        if run.checkpoint is None or run.last_step == 0:
            projection = self.projection()
            if projection is not None:
                text = format_projection(projection, engines)
                self.reporter.message(text)
                if self.on_event is not None:
                    total = sum(row["calls"] for row in projection.values())
                    self.on_event("projection", None, calls=total, text=text)
                cost = projected_cost(projection, engines)
                if self.confirm is not None and cost is not None and cost > self.confirm_above:
                    question = (
                        f"{text}\nThe projected cost is above ${self.confirm_above:.2f}. Start?"
                    )
                    if not self.confirm(question):
                        raise RunStopped(
                            "run not started: the projected cost was not confirmed. Lower "
                            "--steps or the split sizes, or answer yes to start",
                            status="budget",
                            run_dir=run.path,
                        )
        if self.preflight and run.checkpoint is None:  # a resumed run's engines answered before
            preflight(engines)

    def all_engines(self) -> list[EngineLM]:
        """Every engine the run sends through, each once (forward, backward, optimizer)."""
        forward, backward = self.engines()
        found: dict[int, EngineLM] = {}
        for engine in (forward, backward, self.optimizer_engine(backward)):
            found.setdefault(id(engine), engine)
        return list(found.values())

    def projection(self) -> Projection | None:
        """What the run is expected to send: calls and tokens per purpose (None: unknown)."""
        return None

    def saved_variables(self, results: Mapping[str, Any]) -> dict[str, dict[str, str]]:
        """The optimized values to keep in ``result.json``: ``{name: {"value", "role"}}``."""
        return {}

    def _keep_result(self, path: Path, results: Mapping[str, Any]) -> None:
        variables = self.saved_variables(results)
        if variables and not (path / RESULT_FILE).exists():
            save_result(path, kind=self.kind, variables=variables, config=self.loop_config)

    @abstractmethod
    def execute(self, run: Run) -> dict[str, Any]:
        """Do the work (continuing from ``run.checkpoint`` when set); return the results."""


# --------------------------------------------------------------------------- projections


Projection = dict[str, dict[str, float]]
"""``{purpose: {"calls": n, "prompt_tokens": n, "completion_tokens": n}}`` (estimates)."""


def projected_cost(projection: Projection, engines: list[EngineLM]) -> float | None:
    """The projection's cost at the dearest engine's price (None when a price is unknown)."""
    from wordgrad.engine.usage import price_for

    prices = [price_for(calls.engine_name(e), e.model_string) for e in engines]
    if any(p is None for p in prices):
        return None
    prompt_price = max(p.prompt_per_million for p in prices if p is not None)
    completion_price = max(p.completion_per_million for p in prices if p is not None)
    prompt = sum(row["prompt_tokens"] for row in projection.values())
    completion = sum(row["completion_tokens"] for row in projection.values())
    return (prompt * prompt_price + completion * completion_price) / 1_000_000


def format_projection(projection: Projection, engines: list[EngineLM]) -> str:
    """A few lines: calls and tokens per purpose, the totals and the cost (or why unknown)."""
    lines = ["projected (an estimate):"]
    for purpose, row in projection.items():
        tokens = row["prompt_tokens"] + row["completion_tokens"]
        lines.append(f"  {purpose:<11} {row['calls']:>7,.0f} calls {tokens:>12,.0f} tokens")
    calls_total = sum(row["calls"] for row in projection.values())
    tokens_total = sum(r["prompt_tokens"] + r["completion_tokens"] for r in projection.values())
    cost = projected_cost(projection, engines)
    shown = "unknown (a model has no price)" if cost is None else f"about ${cost:,.4f}"
    lines.append(f"  {'total':<11} {calls_total:>7,.0f} calls {tokens_total:>12,.0f} tokens")
    lines.append(f"  cost: {shown}")
    return "\n".join(lines)


def preflight(engines: list[EngineLM]) -> None:
    """Send :data:`PREFLIGHT_PROMPT` to each engine (a few tokens); raise on the first failure.

    Raises:
        PreflightError: naming the engine, the error, and what to check.
    """
    for engine in engines:
        request = Request.chat(PREFLIGHT_PROMPT, max_tokens=8)
        try:
            EXECUTOR.send(engine, request.about("other", "pre-flight"))
        except (EngineError, OSError) as error:
            raise PreflightError(
                f"engine {calls.engine_name(engine)!r} failed its pre-flight call, so nothing "
                f"else was sent: {type(error).__name__}: {error}. Check the model name, the "
                "server address and the API key"
            ) from error


@contextmanager
def _interrupt_once() -> Iterator[None]:
    """The first Ctrl-C raises KeyboardInterrupt as usual; further ones are ignored until the
    block ends, so the run can write its ``run_end`` and say how to continue."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        yield  # someone else handles Ctrl-C: leave it alone
        return
    interrupted = False

    def handler(signum: int, frame: Any) -> None:
        nonlocal interrupted
        if interrupted:
            print("wordgrad: stopping; the run is saving its state", file=sys.stderr)
            return
        interrupted = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Progress:
    """Tells the loop's observer (a live view) about each call as it returns: calls, tokens
    and cost so far. Not written to the log: it only keeps the view moving between steps."""

    def __init__(self, observer: EventObserver, usage: Mapping[str, Any]) -> None:
        self.observer = observer
        self.calls = int(usage.get("calls", 0))
        self.tokens = int(usage.get("total_tokens", 0))
        self.cost = float(usage.get("cost_usd", 0.0))
        self._lock = threading.Lock()

    def before(self, call: calls.Call) -> None:
        pass

    def after(self, call: calls.Call) -> None:
        tokens, cost = calls.spending(call)
        with self._lock:
            self.calls += 1
            self.tokens += tokens
            self.cost += cost
            fields = {"calls": self.calls, "total_tokens": self.tokens, "cost_usd": self.cost}
        with contextlib.suppress(Exception):  # a view must never break a run
            self.observer("progress", None, purpose=call.purpose, **fields)
