"""The one place requests are sent.

Operations hand the executor a way to *build* a request once their inputs are ready; the executor
returns at once with a :class:`concurrent.futures.Future`. When the last input is ready the
request is built and queued; a worker thread sends it through the engine's pipeline (cache,
limits, retries, usage). So independent calls run side by side, even from a user's plain ``for``
loop, and only reading a value waits.

It is driven by completion callbacks, with no event loop of its own: a finished call starts the
calls that were waiting for it from the thread it finished on. That keeps the cost per call to
two thread hand-offs, and makes the sync API safe anywhere, including inside a running event
loop (Jupyter), since the work never needs the caller's thread or loop.

It also:
- bounds the calls in flight (``set_max_concurrency``; 1 gives a sequential run), queueing the
  rest in the order they became ready;
- sends an identical request that is already in flight only once;
- runs each call in the caller's ``contextvars`` context (so ``tg.track()`` meters see it);
- reports a failure as a :class:`~wordgrad.errors.NodeError` naming the node that failed.

Results never depend on the order calls finish in: each output has its own future.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from wordgrad import calls
from wordgrad.errors import NodeError
from wordgrad.llm import Engine, Purpose, Request, Response

T = TypeVar("T")
U = TypeVar("U")

Future = concurrent.futures.Future

DEFAULT_MAX_CONCURRENCY = 16

MIN_WORKERS = 64
"""Worker threads available at the least; more when the concurrency limit is set higher."""


class Executor:
    """Runs LLM requests and deferred computations concurrently, on a pool of worker threads."""

    def __init__(self, max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> None:
        self._check_limit(max_concurrency)
        self._max_concurrency = max_concurrency
        self._lock = threading.Lock()
        self._reset_state()

    def _reset_state(self) -> None:
        """Fresh scheduling state (at start-up, and in a forked child, where threads are gone)."""
        self._pid = os.getpid()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pool_size = 0
        self._running = 0
        self._queue: deque[Callable[[], None]] = deque()
        self._in_flight: dict[tuple[int, str], Future[Response]] = {}

    # ------------------------------------------------------------------ configuration

    @property
    def max_concurrency(self) -> int:
        return self._max_concurrency

    def set_max_concurrency(self, limit: int) -> None:
        """At most ``limit`` requests in flight at once; 1 runs everything one after another."""
        self._check_limit(limit)
        with self._lock:
            self._max_concurrency = limit
            started = self._take_startable()
        self._start_all(started)

    @staticmethod
    def _check_limit(limit: int) -> None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError(f"max_concurrency must be a whole number >= 1, got {limit!r}")

    # ------------------------------------------------------------------ submitting work

    def submit_request(
        self,
        engine: Engine,
        build: Request | Callable[[], Request],
        *,
        purpose: Purpose,
        label: str,
        after: Sequence[Future[Any]] = (),
    ) -> Future[Response]:
        """Send a request through ``engine`` once every future in ``after`` has finished.

        ``build`` is the request, or a function that builds it from the inputs' values once they
        are ready. ``label`` names the node (its role) in error messages.
        """
        purpose = _counted_as.get() or purpose
        result: Future[Response] = Future()
        context = contextvars.copy_context()

        def ready() -> None:
            try:
                request = build if isinstance(build, Request) else build()
            except Exception as error:
                _fail(result, label, error)
                return
            self._dispatch(engine, request, purpose, label, context, result)

        _when_done(after, ready, result, label)
        return result

    def submit_call(
        self, fn: Callable[[], T], *, label: str, after: Sequence[Future[Any]] = ()
    ) -> Future[T]:
        """Run ``fn()`` on a worker thread once every future in ``after`` has finished.

        Such calls are not LLM requests: they do not count against the concurrency limit.
        """
        result: Future[T] = Future()
        context = contextvars.copy_context()

        def run() -> None:
            try:
                value = context.run(fn)
            except Exception as error:
                _fail(result, label, error)
            else:
                result.set_result(value)

        def ready() -> None:
            self._ensure_pool().submit(run)

        _when_done(after, ready, result, label)
        return result

    # ------------------------------------------------------------------ internals

    def _dispatch(
        self,
        engine: Engine,
        request: Request,
        purpose: Purpose,
        label: str,
        context: contextvars.Context,
        result: Future[Response],
    ) -> None:
        """Join an identical request in flight, or queue this one for a worker."""
        key = (id(engine), request.fingerprint(model=engine.model_string))
        with self._lock:
            self._check_fork()
            shared = self._in_flight.get(key)
            if shared is None:
                shared = self._in_flight[key] = Future()
                send = functools.partial(
                    self._send, engine, request, purpose, context, key, shared, label
                )
                self._queue.append(send)
                started = self._take_startable()
            else:
                started = []
        shared.add_done_callback(functools.partial(_copy_outcome, result, label))
        self._start_all(started)

    def _send(
        self,
        engine: Engine,
        request: Request,
        purpose: Purpose,
        context: contextvars.Context,
        key: tuple[int, str],
        shared: Future[Response],
        label: str = "",
    ) -> None:
        """On a worker: one call through the engine's pipeline; every waiter gets its outcome."""
        try:
            # calls.send: the budget check and the request log see every request here
            response = context.run(calls.send, engine, request, purpose=purpose, label=label)
        except BaseException as error:
            outcome: tuple[bool, Any] = (False, error)
        else:
            outcome = (True, response)
        with self._lock:
            del self._in_flight[key]
        if outcome[0]:
            shared.set_result(outcome[1])
        else:
            shared.set_exception(outcome[1])

    def _take_startable(self) -> list[Callable[[], None]]:
        """Queued calls that fit under the limit now, counted as running (hold the lock)."""
        started = []
        while self._queue and self._running < self._max_concurrency:
            started.append(self._queue.popleft())
            self._running += 1
        return started

    def _start_all(self, calls: list[Callable[[], None]]) -> None:
        pool = self._ensure_pool()
        for call in calls:
            pool.submit(self._run_slot, call)

    def _run_slot(self, call: Callable[[], None]) -> None:
        """Run ``call`` in a slot, then keep the slot busy with whatever is queued next."""
        pid = self._pid
        while True:
            call()
            with self._lock:
                if self._pid != pid:
                    return
                if self._queue and self._running <= self._max_concurrency:
                    call = self._queue.popleft()
                    continue
                self._running -= 1
                return

    def _ensure_pool(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            self._check_fork()
            wanted = max(MIN_WORKERS, self._max_concurrency + MIN_WORKERS // 4)
            if self._pool is None or self._pool_size < wanted:
                old = self._pool
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=wanted, thread_name_prefix="wordgrad-worker"
                )
                self._pool_size = wanted
                if old is not None:
                    old.shutdown(wait=False)  # its threads finish what they hold, then exit
            return self._pool

    def _check_fork(self) -> None:
        """In a forked child the parent's threads are gone: start over (hold the lock)."""
        if self._pid != os.getpid():
            self._reset_state()


def when_all(futures: Sequence[Future[Any]], then: Callable[[], None]) -> None:
    """Call ``then()`` once every future has finished, however it finished.

    ``then`` runs on the thread that finished the last future, or here when all are done.
    """
    pending = [f for f in futures if not f.done()]
    if not pending:
        then()
        return
    remaining = [len(pending)]
    lock = threading.Lock()

    def one_done(_: Future[Any]) -> None:
        with lock:
            remaining[0] -= 1
            if remaining[0]:
                return
        then()

    for future in pending:
        future.add_done_callback(one_done)


def gather(futures: Sequence[Future[T]]) -> Future[list[T]]:
    """A future of all results in order, done when the last one is (the first error wins)."""
    gathered: Future[list[T]] = Future()

    def finish() -> None:
        error = next((f.exception() for f in futures if f.exception() is not None), None)
        if error is not None:
            gathered.set_exception(error)
        else:
            gathered.set_result([f.result() for f in futures])

    when_all(futures, finish)
    return gathered


def _when_done(
    futures: Sequence[Future[Any]], then: Callable[[], None], result: Future[Any], label: str
) -> None:
    """Call ``then()`` once every future has finished; if one failed, fail ``result`` instead."""
    when_all(futures, lambda: _start_or_fail(futures, then, result, label))


def _start_or_fail(
    futures: Sequence[Future[Any]], then: Callable[[], None], result: Future[Any], label: str
) -> None:
    for future in futures:
        error = future.exception()
        if isinstance(error, Exception):
            _fail(result, label, error)
            return
        if error is not None:
            result.set_exception(error)
            return
    then()


def _copy_outcome(target: Future[Response], label: str, source: Future[Response]) -> None:
    error = source.exception()
    if error is None:
        target.set_result(source.result())
    elif isinstance(error, Exception):
        _fail(target, label, error)
    else:
        target.set_exception(error)


def _fail(result: Future[Any], label: str, error: Exception) -> None:
    """Fail ``result``; an error from an input (already a NodeError) keeps naming that input."""
    result.set_exception(error if isinstance(error, NodeError) else _node_error(label, error))


def _node_error(label: str, error: Exception) -> NodeError:
    node_error = NodeError(
        f"the operation producing {label!r} failed: {type(error).__name__}: {error}",
        role=label,
        cause=error,
    )
    node_error.__cause__ = error
    return node_error


EXECUTOR = Executor()
"""The process-wide executor."""

_counted_as: contextvars.ContextVar[Purpose | None] = contextvars.ContextVar(
    "wordgrad_counted_as", default=None
)


@contextmanager
def counted_as(purpose: Purpose) -> Iterator[None]:
    """Count every request sent inside the block under ``purpose`` in usage tables.

    Evaluation loops use it, so that answering validation questions shows as "evaluation", not
    as training "forward" calls.
    """
    token = _counted_as.set(purpose)
    try:
        yield
    finally:
        _counted_as.reset(token)


def resolve(future: Future[T]) -> T:
    """Wait for ``future`` and return its result (re-raising its error).

    Safe from any thread, including one running an event loop: the work never needs it.
    """
    return future.result()


def completed(value: T) -> Future[T]:
    """A future that already holds ``value``."""
    future: Future[T] = Future()
    future.set_result(value)
    return future


def derive(future: Future[T], fn: Callable[[T], U]) -> Future[U]:
    """A future of ``fn(result)``, finishing when ``future`` does (errors pass through)."""
    derived: Future[U] = Future()

    def finish(source: Future[T]) -> None:
        error = source.exception()
        if error is not None:
            derived.set_exception(error)
            return
        try:
            derived.set_result(fn(source.result()))
        except Exception as exc:  # a parse error in fn belongs to the derived value
            derived.set_exception(exc)

    future.add_done_callback(finish)
    return derived
