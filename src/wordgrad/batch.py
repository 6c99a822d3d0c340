"""``tg.map``: apply a function to many items side by side, e.g. a model or a loss over a dataset.

Plain loops already overlap their LLM calls as long as they do not read values. ``tg.map`` is
for the function that does read them (parses a score, checks an answer): it runs ``fn`` on
the executor's workers, so one item waiting for its reply does not hold up the others. Each item
runs ``fn(item)`` (which dispatches the item's calls) and then reads every pending variable in the
result, so results come back computed, in input order, with a progress bar on long runs.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from wordgrad.config import get_max_concurrency
from wordgrad.errors import NodeError, WordgradError
from wordgrad.executor import EXECUTOR, counted_as
from wordgrad.graph import is_grad_enabled
from wordgrad.llm import Purpose
from wordgrad.variable import Variable

T = TypeVar("T")
R = TypeVar("R")

PROGRESS_AFTER_S = 2.0
"""With ``progress=None``, the bar appears once a run has lasted this long (and only on a TTY)."""


class MapError(WordgradError):
    """``fn`` failed on one or more items of :func:`map`.

    The message names the first failing item by its index; ``failures`` holds every
    ``(index, exception)``, and the first exception is chained as ``__cause__``.
    """

    def __init__(self, message: str, *, failures: list[tuple[int, BaseException]]) -> None:
        super().__init__(message)
        self.failures = failures

    @property
    def index(self) -> int:
        """The index of the first item that failed."""
        return self.failures[0][0]


def map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    max_concurrency: int | None = None,
    progress: bool | None = None,
    description: str = "tg.map",
    return_exceptions: bool = False,
    purpose: Purpose | None = None,
) -> list[R]:
    """``[fn(item) for item in items]``, with the items processed side by side.

    ``fn`` may build graph operations and read their values; variables in its result (alone or
    in a list, tuple or dict) are computed before the result is returned.

    Args:
        fn: called once per item, on a worker thread, in the caller's context (so ``no_grad``,
            ``engine_context`` and ``track`` apply).
        items: the inputs; results keep their order.
        max_concurrency: items in progress at once, and LLM calls of the items in flight at once
            (whatever the process-wide bound); default the current LLM concurrency limit
            (``tg.get_max_concurrency()``), so with a limit of 1 items run one by one.
        progress: ``True`` always shows a progress bar on stderr, ``False`` never; ``None`` shows
            it when stderr is a terminal and the run lasts more than a couple of seconds.
        description: the label of the progress bar.
        return_exceptions: put an item's exception in its place in the result instead of
            raising.
        purpose: what the items' calls count as in usage tables (``"evaluation"``, ...). Default:
            ``"evaluation"`` when ``tg.map`` is called inside ``tg.no_grad()`` (gradients are off
            when scoring a model), else each request's own purpose.

    Raises:
        MapError: after every item has finished, if any failed (and ``return_exceptions`` is
            false); it names the first failing item's index.
    """
    inputs = list(items)
    limit = max_concurrency if max_concurrency is not None else get_max_concurrency()
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"max_concurrency must be a whole number >= 1, got {limit!r}")
    if not inputs:
        return []
    if purpose is None and not is_grad_enabled():
        purpose = "evaluation"
    with contextlib.ExitStack() as stack:  # the items' context: their own bound and label
        stack.enter_context(EXECUTOR.limited(limit))
        if purpose is not None:
            stack.enter_context(counted_as(purpose))
        futures = _run_bounded(fn, inputs, limit)
    _wait_with_progress(futures, progress, description)
    failures = [(i, f.exception()) for i, f in enumerate(futures) if f.exception() is not None]
    if failures and not return_exceptions:
        index, error = failures[0]
        more = f" ({len(failures) - 1} more items failed too)" if len(failures) > 1 else ""
        raise MapError(
            f"{description}: item {index} of {len(inputs)} failed: "
            f"{type(error).__name__}: {error}{more}",
            failures=[(i, e) for i, e in failures if e is not None],
        ) from error
    return [_outcome(future) for future in futures]


def _run_bounded(
    fn: Callable[[T], R], inputs: list[T], limit: int
) -> list[concurrent.futures.Future[Any]]:
    """One future per item; at most ``limit`` items in progress, each run on the executor in
    the caller's context; the next item starts when one finishes."""
    outer: list[concurrent.futures.Future[Any]] = [concurrent.futures.Future() for _ in inputs]
    contexts = [contextvars.copy_context() for _ in inputs]  # the caller's, one per item
    lock = threading.Lock()
    next_index = [0]

    def start_next() -> None:
        with lock:
            index = next_index[0]
            if index >= len(inputs):
                return
            next_index[0] += 1
        inner = contexts[index].run(
            EXECUTOR.run, lambda: _settled(fn, inputs[index]), label=f"item {index}"
        )
        inner.add_done_callback(lambda done: finish(index, done))

    def finish(index: int, done: concurrent.futures.Future[Any]) -> None:
        error = done.exception()
        if isinstance(error, NodeError) and error.role == f"item {index}" and error.cause:
            error = error.cause  # the executor's wrapper adds nothing here
        if error is not None:
            outer[index].set_exception(error)
        else:
            outer[index].set_result(done.result())
        start_next()

    for _ in range(min(limit, len(inputs))):
        start_next()
    return outer


def _outcome(future: concurrent.futures.Future[Any]) -> Any:
    """The future's result, or its exception (for ``return_exceptions=True``)."""
    error = future.exception()
    return error if error is not None else future.result()


def _settled(fn: Callable[[T], R], item: T) -> R:
    """``fn(item)`` with every pending variable in it computed (raising the first failure)."""
    result = fn(item)
    values: Iterable[Any]
    if isinstance(result, Mapping):
        values = result.values()
    elif isinstance(result, (list, tuple)):
        values = result
    else:
        values = (result,)
    for value in values:
        if isinstance(value, Variable):
            value.get_value()
    return result


def _wait_with_progress(
    futures: list[concurrent.futures.Future[Any]], progress: bool | None, description: str
) -> None:
    """Wait for every future, showing a ``rich`` progress bar when asked or when it is worth it."""
    show = progress if progress is not None else sys.stderr.isatty()
    if not show:
        concurrent.futures.wait(futures)
        return
    pending = set(futures)
    if progress is None:  # a short run needs no bar
        _, pending = concurrent.futures.wait(pending, timeout=PROGRESS_AFTER_S)
        if not pending:
            return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True)) as bar:
        task = bar.add_task(description, total=len(futures), completed=len(futures) - len(pending))
        while pending:
            done, pending = concurrent.futures.wait(
                pending, timeout=0.5, return_when=concurrent.futures.FIRST_COMPLETED
            )
            bar.update(task, advance=len(done))
