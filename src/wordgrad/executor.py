"""The one place requests are sent.

Operations hand the executor a way to *build* a request once their inputs are ready; the executor
returns at once with a :class:`concurrent.futures.Future`. A private event loop on a background
thread waits for the inputs, builds the request, and sends it through the engine's pipeline
(cache, limits, retries, usage) on a worker thread. So independent calls run side by side, even
from a user's plain ``for`` loop, and only reading a value waits.

It also:
- bounds the calls in flight (``set_max_concurrency``; 1 gives a sequential run);
- sends an identical request that is already in flight only once;
- runs each call in the caller's ``contextvars`` context (so ``tg.track()`` meters see it);
- reports a failure as a :class:`~wordgrad.errors.NodeError` naming the node that failed.

Results never depend on the order calls finish in: each output has its own future.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import os
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from wordgrad.errors import NodeError
from wordgrad.llm import Engine, Purpose, Request, Response

T = TypeVar("T")
U = TypeVar("U")

Future = concurrent.futures.Future

DEFAULT_MAX_CONCURRENCY = 16


class _Slots:
    """An adjustable counting limit for the event loop (FIFO among waiters)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0
        self._condition: asyncio.Condition | None = None

    async def __aenter__(self) -> None:
        if self._condition is None:
            self._condition = asyncio.Condition()
        async with self._condition:
            await self._condition.wait_for(lambda: self.in_use < self.limit)
            self.in_use += 1

    async def __aexit__(self, *exc: object) -> None:
        assert self._condition is not None
        async with self._condition:
            self.in_use -= 1
            self._condition.notify_all()

    async def changed(self) -> None:
        if self._condition is not None:
            async with self._condition:
                self._condition.notify_all()


class Executor:
    """Runs LLM requests and deferred computations concurrently, in a background event loop."""

    def __init__(self, max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> None:
        self._check_limit(max_concurrency)
        self._max_concurrency = max_concurrency
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pid = -1
        self._slots = _Slots(max_concurrency)
        self._in_flight: dict[tuple[int, str], asyncio.Future[Response]] = {}

    # ------------------------------------------------------------------ configuration

    @property
    def max_concurrency(self) -> int:
        return self._max_concurrency

    def set_max_concurrency(self, limit: int) -> None:
        """At most ``limit`` requests in flight at once; 1 runs everything one after another."""
        self._check_limit(limit)
        self._max_concurrency = limit
        self._slots.limit = limit
        loop = self._loop
        if loop is not None and self._pid == os.getpid():
            asyncio.run_coroutine_threadsafe(self._slots.changed(), loop)

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
        if isinstance(build, Request):
            build = functools.partial(_identity, build)
        context = contextvars.copy_context()
        return self._start(self._request(engine, build, purpose, label, after, context))

    def submit_call(
        self, fn: Callable[[], T], *, label: str, after: Sequence[Future[Any]] = ()
    ) -> Future[T]:
        """Run ``fn()`` on a worker thread once every future in ``after`` has finished."""
        context = contextvars.copy_context()
        return self._start(self._call(fn, label, after, context))

    def run(self, engine: Engine, request: Request, *, purpose: Purpose, label: str) -> Response:
        """Send one request and wait for its response."""
        return resolve(self.submit_request(engine, request, purpose=purpose, label=label))

    # ------------------------------------------------------------------ internals

    def _start(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        loop = self._ensure_loop()
        return asyncio.run_coroutine_threadsafe(coroutine, loop)

    async def _request(
        self,
        engine: Engine,
        build: Callable[[], Request],
        purpose: Purpose,
        label: str,
        after: Sequence[Future[Any]],
        context: contextvars.Context,
    ) -> Response:
        await _wait_all(after)
        try:
            request = build()
            key = (id(engine), request.fingerprint(model=engine.model_string))
            shared = self._in_flight.get(key)
            if shared is not None:
                return await asyncio.shield(shared)
            loop = asyncio.get_running_loop()
            own: asyncio.Future[Response] = loop.create_future()
            self._in_flight[key] = own
            try:
                async with self._slots:
                    send = functools.partial(engine.send, request, purpose=purpose)
                    response = await loop.run_in_executor(self._pool, context.run, send)
                own.set_result(response)
                return response
            except BaseException as error:
                own.set_exception(error)
                own.exception()  # mark retrieved: the waiters (if any) re-raise it themselves
                raise
            finally:
                del self._in_flight[key]
        except NodeError:
            raise
        except Exception as error:
            raise _node_error(label, error) from error

    async def _call(
        self,
        fn: Callable[[], T],
        label: str,
        after: Sequence[Future[Any]],
        context: contextvars.Context,
    ) -> T:
        await _wait_all(after)
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, context.run, fn)
        except NodeError:
            raise
        except Exception as error:
            raise _node_error(label, error) from error

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                # First use, or we are in a forked child whose loop thread did not survive the fork.
                loop = asyncio.new_event_loop()
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=64, thread_name_prefix="wordgrad-worker"
                )
                self._slots = _Slots(self._max_concurrency)
                self._in_flight = {}
                thread = threading.Thread(
                    target=loop.run_forever, name="wordgrad-executor", daemon=True
                )
                thread.start()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
            return self._loop

    def in_loop_thread(self) -> bool:
        """True when called from the executor's own event-loop thread."""
        return self._thread is not None and threading.current_thread() is self._thread


def _identity(value: T) -> T:
    return value


async def _wait_all(futures: Sequence[Future[Any]]) -> None:
    for future in futures:
        await asyncio.wrap_future(future)


def _node_error(label: str, error: Exception) -> NodeError:
    return NodeError(
        f"the operation producing {label!r} failed: {type(error).__name__}: {error}",
        role=label,
        cause=error,
    )


EXECUTOR = Executor()
"""The process-wide executor."""


def resolve(future: Future[T]) -> T:
    """Wait for ``future`` and return its result (re-raising its error)."""
    if not future.done() and EXECUTOR.in_loop_thread():
        raise RuntimeError(
            "a pending value was read on wordgrad's executor thread, which would deadlock; "
            "read values in your own code, not inside executor callbacks"
        )
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
