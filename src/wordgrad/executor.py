"""The one place requests are sent, and every policy of sending them.

Engines are transports (:meth:`wordgrad.engine.EngineLM.complete`: one request in, one response
out). Everything between an operation and the transport happens here, for every engine and every
way in (graph operations, the optimizer, ``engine.send``, a user's direct ``engine.generate()``):

1. **defaults**: the engine's default sampling parameters fill what the request leaves unset;
2. **checks**: the prompt must fit the engine's declared context; grammars need an engine that
   takes them;
3. **structured output**: a JSON request is sent in the form the engine takes
   (``json_schema`` → ``json_object`` → plain text with the request's ``fallback``); only a
   400/422 that names the response format moves an engine one step down, and it stays there;
4. **cache** (keyed by the engine's class, namespace, model and the request as sent) and
   **de-duplication** of identical requests in flight;
5. **limits**: a bound on calls in flight (process-wide, or for a ``with tg.max_concurrency(n)``
   block), and each engine's own ``max_concurrency`` and ``requests_per_minute``. A call waits in
   its engine's queue, never on a worker thread, so a call to an idle engine starts at once
   whatever other engines have queued;
6. **time**: ``RetryPolicy.timeout_s`` bounds each attempt and ``deadline_s`` the whole call in
   wall-clock time, whatever the transport does (a timer fails the attempt; its late reply is
   dropped);
7. **retries** of transient errors (:class:`wordgrad.engine.retry.Attempts`), waiting on a timer;
8. **the boundary**: replies are checked (text, not ``None``) and cleaned of lone surrogates,
   errors are named with the request's role, purpose and model, and usage is recorded in the
   caller's context (so ``tg.track()`` meters see calls run on worker threads).

It is driven by completion callbacks on a small pool of worker threads, with no event loop, so
the sync API is safe anywhere, including inside a running event loop (Jupyter). Results never
depend on the order calls finish in: each output has its own future.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import hashlib
import heapq
import itertools
import logging
import os
import random
import re
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

from wordgrad import calls
from wordgrad.engine.base import RateLimiter, carry, set_attempt_timeout
from wordgrad.engine.cache import ResponseCache, resolve_cache
from wordgrad.engine.retry import Attempts, RetryPolicy
from wordgrad.engine.usage import record
from wordgrad.errors import (
    ConfigurationError,
    ContextLengthError,
    DeadlineExceededError,
    EngineError,
    EngineTimeoutError,
    InvalidRequestError,
    NodeError,
    ResponseFormatError,
)
from wordgrad.llm import Engine, Purpose, Request, Response, ResponseFormat

T = TypeVar("T")
U = TypeVar("U")

_now = time.monotonic
"""The executor's clock, bound once (a test that fakes ``time.monotonic`` cannot stall it)."""

Future = concurrent.futures.Future

logger = logging.getLogger("wordgrad.engine")

DEFAULT_MAX_CONCURRENCY = 16

PREFIX_WARM_S = 300.0
"""How long a provider keeps a prompt prefix cached (OpenAI and Anthropic: about five minutes
without use)."""
PREFIX_MEMORY = 4096
"""Warmed prefixes remembered at most (the oldest are forgotten first)."""
RATE_WINDOW_S = 60.0
"""The window ``requests_per_minute`` counts in (tests shorten it)."""

IDLE_WORKER_S = 30.0
"""A worker thread with nothing to do for this long exits."""

_FORMAT_REJECTED = re.compile(r"response[_ .-]?format|json[_ ]?schema|json[_ ]?object", re.I)
"""What a provider's 400/422 says when it is the response format it rejects."""

_LEVELS = ("json_schema", "json_object", "text")


# ---------------------------------------------------------------------------- threads


class _Workers:
    """Worker threads, started when none is idle and ended after a while without work.

    Growing on demand means a task that waits for another task (a ``tg.map`` item reading a
    value, a user's ``engine.generate()`` inside a string function) can never starve the pool.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._tasks: deque[Callable[[], None]] = deque()
        self._idle = 0

    def submit(self, task: Callable[[], None]) -> None:
        with self._cond:
            self._tasks.append(task)
            if self._idle >= len(self._tasks):
                self._cond.notify()
                return
        threading.Thread(target=self._work, name="wordgrad-worker", daemon=True).start()

    def _work(self) -> None:
        with self._cond:
            while True:
                if not self._tasks:
                    self._idle += 1
                    self._cond.wait(IDLE_WORKER_S)
                    self._idle -= 1
                    if not self._tasks:
                        return
                    continue
                task = self._tasks.popleft()
                self._cond.release()
                try:
                    task()
                except BaseException:  # a task reports its own errors; never lose the thread
                    logger.exception("a wordgrad worker task failed")
                finally:
                    del task  # an idle worker must not keep its last call (and engine) alive
                    self._cond.acquire()


@dataclass(order=True)
class _Timed:
    when: float
    seq: int
    task: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class _Timers:
    """Runs tasks at given times (retries after their backoff, rate-limit wake-ups, time-outs),
    on one thread that hands each task to the workers."""

    def __init__(self, workers: _Workers) -> None:
        self._workers = workers
        self._cond = threading.Condition()
        self._heap: list[_Timed] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def at(self, when: float, task: Callable[[], None]) -> _Timed:
        timed = _Timed(when, next(self._seq), task)
        with self._cond:
            heapq.heappush(self._heap, timed)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="wordgrad-timer", daemon=True
                )
                self._thread.start()
            elif self._heap[0] is timed:
                self._cond.notify()
        return timed

    def _run(self) -> None:
        with self._cond:
            while True:
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0].when - _now()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                timed = heapq.heappop(self._heap)
                if not timed.cancelled:
                    self._workers.submit(timed.task)


# ---------------------------------------------------------------------------- state


@dataclass(eq=False)
class _Scope:
    """A bound on LLM calls in flight: process-wide, or one ``with tg.max_concurrency(n)``."""

    limit: int
    running: int = 0


class _Lane:
    """One engine's queue and what the executor remembers about the engine."""

    def __init__(self, engine: Engine) -> None:
        try:  # the lane must not keep an engine the program dropped alive
            self._engine: Callable[[], Engine | None] = weakref.ref(engine)
        except TypeError:
            self._engine = lambda: engine
        self.queue: deque[_Call] = deque()
        self.running = 0
        self.blocked_until = 0.0
        rpm = getattr(engine, "requests_per_minute", None)
        self.rate = RateLimiter(rpm, window_s=RATE_WINDOW_S) if rpm else None
        self.level = 0
        """How far structured output has stepped down (an index into ``_LEVELS``)."""
        self._cache: ResponseCache | None = None
        self._cache_resolved = False

    @property
    def engine(self) -> Engine:
        engine = self._engine()
        assert engine is not None, "an engine with calls in flight is referenced by them"
        return engine

    @property
    def limit(self) -> int | None:
        limit: int | None = getattr(self.engine, "max_concurrency", None)
        return limit

    @property
    def cache(self) -> ResponseCache | None:
        if not self._cache_resolved:
            self._cache = resolve_cache(getattr(self.engine, "cache_setting", None))
            self._cache_resolved = True
        return self._cache


@dataclass(eq=False)
class _Call:
    """One request on its way through an engine, shared by everyone who asked for it."""

    lane: _Lane
    engine: Engine
    request: Request
    sent: Request
    key: str
    scope: _Scope
    context: contextvars.Context
    seq: int
    future: Future[Response] = field(default_factory=Future)
    attempts: Attempts | None = None
    live_attempt: int | None = None
    next_attempt: int = 0
    done: bool = False
    deadline: _Timed | None = None
    warms: str | None = None
    """The shared prefix this call is the first to send (others with it wait for it)."""
    purpose: Purpose = "other"
    """What the call is counted as (``counted_as`` in force, else the request's purpose)."""
    record: calls.Call | None = None
    """Its record for the watchers (:mod:`wordgrad.calls`), opened when it leaves the queue."""


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar(
    "wordgrad_concurrency_scope", default=None
)
_counted_as: contextvars.ContextVar[Purpose | None] = contextvars.ContextVar(
    "wordgrad_counted_as", default=None
)


# ---------------------------------------------------------------------------- the executor


class Executor:
    """Sends requests through engines under every policy above; thread-safe."""

    def __init__(self, max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> None:
        _check_limit(max_concurrency)
        self._default = _Scope(max_concurrency)
        self.warm_prefixes = True
        """Send the first request of a group sharing a long prefix ahead of the rest (see
        :meth:`_hold_for_prefix`); ``tg.set_prefix_warming(False)`` turns it off."""
        self._lock = threading.Lock()
        self._rng = random.Random()
        self._reset_state()

    def _reset_state(self) -> None:
        """Fresh scheduling state (at start-up, and in a forked child, where threads are gone)."""
        self._pid = os.getpid()
        self._workers = _Workers()
        self._timers = _Timers(self._workers)
        self._lanes: dict[int, _Lane] = {}
        self._dropped: deque[tuple[int, _Lane]] = deque()
        self._waiting: dict[_Lane, None] = {}
        self._in_flight: dict[tuple[int, str], _Call] = {}
        self._held: dict[str, list[_Call]] = {}
        """Calls waiting for the first call with their shared prefix (by prefix key)."""
        self._warm: OrderedDict[str, float] = OrderedDict()
        """Shared prefixes a provider has seen, with when (most recent last)."""
        self._seq = itertools.count()
        self._default.running = 0

    # ------------------------------------------------------------------ the concurrency bound

    @property
    def max_concurrency(self) -> int:
        """The bound in force here: the innermost ``with max_concurrency(n)``, else the
        process-wide one."""
        return (_scope.get() or self._default).limit

    def set_max_concurrency(self, limit: int) -> None:
        """At most ``limit`` requests in flight at once, process-wide; 1 runs them one by one."""
        _check_limit(limit)
        with self._lock:
            self._default.limit = limit
            started = self._take_startable()
        self._launch(started)

    @contextmanager
    def limited(self, limit: int) -> Iterator[None]:
        """Inside the block (this thread or task only), at most ``limit`` of the block's calls
        are in flight at once, whatever the process-wide bound is."""
        _check_limit(limit)
        token = _scope.set(_Scope(limit))
        try:
            yield
        finally:
            _scope.reset(token)

    # ------------------------------------------------------------------ sending requests

    def send(self, engine: Engine, request: Request) -> Response:
        """Send ``request`` and wait for its response (raising the engine's error as it is)."""
        return self._start(engine, request, contextvars.copy_context()).result()

    def send_all(self, engine: Engine, requests: Sequence[Request]) -> list[Response]:
        """Send every request side by side; wait for all; raise the first error in list order.

        Every request is checked (context length, format) before any is sent.
        """
        contexts = [contextvars.copy_context() for _ in requests]
        prepared = [self._prepare(engine, r, c) for r, c in zip(requests, contexts)]
        futures = [self._enqueue(engine, r, c) for r, c in zip(prepared, contexts)]
        concurrent.futures.wait(futures)
        return [future.result() for future in futures]

    def submit(
        self,
        engine: Engine,
        build: Request | Callable[[], Request],
        *,
        after: Sequence[Future[Any]] = (),
    ) -> Future[Response]:
        """A future of the response to ``build`` (a request, or a function that builds it from
        the inputs' values), sent once every future in ``after`` is done.

        A failure is a :class:`NodeError` naming the request's ``role``.
        """
        result: Future[Response] = Future()
        context = contextvars.copy_context()

        def ready() -> None:
            try:
                request = build if isinstance(build, Request) else build()
                shared = self._start(engine, request, context)
            except Exception as error:
                _fail(result, _role_of(build), error)
                return
            label = request.role or "LLM output"
            shared.add_done_callback(lambda source: _copy_outcome(result, label, source))

        _when_done(after, ready, result, _role_of(build))
        return result

    def run(
        self, fn: Callable[[], T], *, label: str, after: Sequence[Future[Any]] = ()
    ) -> Future[T]:
        """A future of ``fn()``, run on a worker once every future in ``after`` is done.

        For Python computations in the graph; they do not count against any LLM bound.
        """
        result: Future[T] = Future()
        context = contextvars.copy_context()

        def work() -> None:
            try:
                value = context.run(fn)
            except Exception as error:
                _fail(result, label, error)
            else:
                result.set_result(value)

        _when_done(after, lambda: self._submit_work(work), result, label)
        return result

    def _submit_work(self, task: Callable[[], None]) -> None:
        with self._lock:
            self._check_fork()
            workers = self._workers
        workers.submit(task)

    # ------------------------------------------------------------------ the pipeline

    def _start(
        self, engine: Engine, request: Request, context: contextvars.Context
    ) -> Future[Response]:
        """Steps 1-4 on this thread; the call then waits in its engine's queue.

        Watchers (:mod:`wordgrad.calls`: budgets, request logs) see each request the engine is
        asked for once: just before its first attempt leaves the queue (so a budget is checked
        against everything spent until then, whatever the concurrency) and its outcome before
        its caller gets it. A cache hit is seen at once; a request that joins an identical one
        in flight is that one call.
        """
        request = self._prepare(engine, request, context)
        return self._enqueue(engine, request, context)

    def _prepare(self, engine: Engine, request: Request, context: contextvars.Context) -> Request:
        """Steps 1-2: the engine's defaults, the checks."""
        request = _with_defaults(engine, request)
        _check(engine, request)
        return request

    def _enqueue(
        self, engine: Engine, request: Request, context: contextvars.Context
    ) -> Future[Response]:
        """Steps 3-4, then the engine's queue."""
        with self._lock:
            self._check_fork()
            lane = self._lane(engine)
            level = lane.level
        sent = _negotiated(engine, request, level)
        key = _cache_key(engine, sent)
        cache = lane.cache
        purpose = context.run(_counted_as.get) or request.purpose
        if cache is not None and (hit := cache.get(key)) is not None:
            record = context.run(calls.begin, engine, request, purpose)
            response = replace(hit, request=sent)
            context.run(_record, engine, request, response)
            context.run(calls.end, record, response)
            return completed(response)
        scope = context.run(_scope.get) or self._default
        with self._lock:
            shared = self._in_flight.get((id(lane), key))
            if shared is not None:
                return shared.future
            call = _Call(lane, engine, request, sent, key, scope, context, next(self._seq))
            call.purpose = purpose
            self._in_flight[(id(lane), key)] = call
            if self._hold_for_prefix(call):
                return call.future
            lane.queue.append(call)
            self._waiting[lane] = None
            started = self._take_startable()
        self._launch(started)
        return call.future

    def _hold_for_prefix(self, call: _Call) -> bool:
        """Whether ``call`` waits for an earlier call with the same long shared prefix (hold the
        lock).

        Providers cache a prompt prefix once a request with it has been processed (OpenAI,
        Gemini and compatible servers automatically; Anthropic at ``cache_control`` marks), at
        about half the input price or less. Requests sent at the same moment cannot benefit, so
        of a group sharing a prefix of at least ``capabilities.min_cached_prefix_tokens`` the
        first goes alone and the rest follow when it returns. Only for engines whose
        capabilities say they cache prefixes; a prefix seen in the last
        :data:`PREFIX_WARM_S` seconds is taken to be cached still.
        """
        prefix = _prefix_key(call.engine, call.sent) if self.warm_prefixes else None
        if prefix is None:
            return False
        held = self._held.get(prefix)
        if held is not None:
            held.append(call)
            return True
        seen = self._warm.get(prefix)
        if seen is not None and _now() - seen < PREFIX_WARM_S:
            self._warm.move_to_end(prefix)
            return False
        self._held[prefix] = []
        call.warms = prefix
        return False

    def _release_prefix(self, call: _Call, warmed: bool) -> list[_Call]:
        """The calls that waited for ``call``'s prefix, queued again (hold the lock)."""
        assert call.warms is not None
        held = self._held.pop(call.warms, [])
        if warmed:
            self._warm[call.warms] = _now()
            self._warm.move_to_end(call.warms)
            while len(self._warm) > PREFIX_MEMORY:
                self._warm.popitem(last=False)
        for waiting in held:
            waiting.lane.queue.append(waiting)
            self._waiting[waiting.lane] = None
        return self._take_startable()

    def _lane(self, engine: Engine) -> _Lane:
        """The engine's lane (hold the lock)."""
        while self._dropped:  # lanes of engines the program has let go of
            key, dropped = self._dropped.popleft()
            if self._lanes.get(key) is dropped:
                del self._lanes[key]
            self._waiting.pop(dropped, None)
        # A view of another engine (wordgrad.engine.sampled) queues in that engine's lane: it
        # shares its limits, rate and cache.
        engine = getattr(engine, "lane_owner", None) or engine
        lane = self._lanes.get(id(engine))
        if lane is None or lane._engine() is not engine:
            lane = self._lanes[id(engine)] = _Lane(engine)
            with contextlib.suppress(TypeError):
                weakref.finalize(engine, self._drop_lane, id(engine), lane)
        return lane

    def _drop_lane(self, key: int, lane: _Lane) -> None:
        """Forget ``lane`` at the next :meth:`_lane`. Runs from the garbage collector, which may
        run while this thread holds the lock, so it takes no lock (``deque.append`` is atomic)."""
        self._dropped.append((key, lane))

    def _take_startable(self) -> list[_Call]:
        """Queued calls that may start now, oldest first, counted as running (hold the lock)."""
        started: list[_Call] = []
        now = _now()
        while True:
            best: _Call | None = None
            for lane in list(self._waiting):
                if not lane.queue:
                    del self._waiting[lane]
                    continue
                limit = lane.limit
                if (limit is not None and lane.running >= limit) or lane.blocked_until > now:
                    continue
                head = lane.queue[0]
                if head.scope.running < head.scope.limit and (best is None or head.seq < best.seq):
                    best = head
            if best is None:
                return started
            lane = best.lane
            if lane.rate is not None and (wait := lane.rate.reserve(now)) > 0:
                lane.blocked_until = now + wait
                self._timers.at(now + wait, self._pump)
                continue
            lane.queue.popleft()
            lane.running += 1
            best.scope.running += 1
            started.append(best)

    def _launch(self, calls: list[_Call]) -> None:
        for call in calls:
            self._workers.submit(lambda call=call: self._attempt(call))  # type: ignore[misc]

    def _pump(self) -> None:
        with self._lock:
            started = self._take_startable()
        self._launch(started)

    def _attempt(self, call: _Call) -> None:
        """On a worker: one attempt through the transport, then free its slots."""
        engine = call.engine
        policy: RetryPolicy = getattr(engine, "retry", None) or RetryPolicy()
        now = _now()
        with self._lock:
            if call.done:
                attempt = None
            else:
                attempt = call.live_attempt = call.next_attempt
                call.next_attempt += 1
                if call.attempts is None:
                    call.attempts = Attempts(policy, now)
        if attempt is not None and call.record is None:
            try:  # the watchers, once per call, as it leaves the queue; they may refuse it
                call.record = call.context.run(calls.begin, engine, call.request, call.purpose)
            except BaseException as refused:
                with self._lock:
                    call.lane.running -= 1
                    call.scope.running -= 1
                    call.live_attempt = None
                    started = self._take_startable()
                self._launch(started)
                self._finish(call, refused)
                return
            now = _now()
        outcome: Response | BaseException | None = None
        if attempt is not None:
            assert call.attempts is not None
            limit = _attempt_limit(policy, call.attempts.started, now)
            timer = None
            if limit is not None:
                timer = self._timers.at(now + limit, lambda: self._time_out(call, attempt, limit))
            try:
                # A copy per attempt: an attempt that timed out may still be running in its own.
                outcome = call.context.copy().run(_carry, engine, call.sent, limit)
            except BaseException as error:
                outcome = error
            if timer is not None:
                timer.cancelled = True
        with self._lock:
            mine = attempt is not None and call.live_attempt == attempt and not call.done
            if mine:
                call.live_attempt = None
        # Its slot is freed only once the outcome is recorded (usage, watchers), so the next
        # call's budget check sees what this one spent.
        try:
            if not mine:
                pass  # timed out, or the deadline passed: its outcome no longer matters
            elif isinstance(outcome, Response):
                self._succeeded(call, outcome)
            else:
                assert isinstance(outcome, BaseException)
                self._failed(call, outcome)
        except BaseException as error:  # e.g. a usage ledger that cannot write: the caller
            self._finish(call, error)  # gets the error instead of waiting for ever
        finally:
            with self._lock:
                call.lane.running -= 1
                call.scope.running -= 1
                started = self._take_startable()
            self._launch(started)

    def _succeeded(self, call: _Call, response: Response) -> None:
        engine = call.engine
        try:
            response = _checked(engine, response, call.sent)
        except EngineError as error:
            self._failed(call, error)
            return
        cache = call.lane.cache
        if cache is not None:
            cache.put(call.key, response)
        call.context.run(_record, engine, call.request, response)
        self._finish(call, response)

    def _failed(self, call: _Call, error: BaseException) -> None:
        """Step down the response format, retry after a wait, or fail the call."""
        if isinstance(error, UnicodeDecodeError):
            error = ResponseFormatError(
                f"{call.engine.name}: the reply is not valid UTF-8 ({error.reason} at byte "
                f"{error.start}); the server must send UTF-8 JSON"
            )
        if self._step_down(call, error):
            self._requeue(call)
            return
        assert call.attempts is not None
        try:
            wait = call.attempts.after_failure(error, _now(), self._rng)
        except BaseException as final:
            self._finish(call, final)
            return
        deadline = call.attempts.policy.deadline_s
        if call.deadline is None and deadline is not None:
            # The first attempt is bounded by its own time limit; from the first retry on, a
            # timer also ends the call wherever it waits (a queue, a backoff).
            call.deadline = self._timers.at(
                call.attempts.started + deadline, lambda: self._deadline(call)
            )
        if wait <= 0:
            self._requeue(call)
        else:
            self._timers.at(_now() + wait, lambda: self._requeue(call))

    def _step_down(self, call: _Call, error: BaseException) -> bool:
        """Whether ``error`` rejects the response format, so the call is sent in the next form."""
        fmt = call.sent.response_format
        if (
            fmt is None
            or fmt.kind not in ("json", "json_schema")
            or not isinstance(error, InvalidRequestError)
            or isinstance(error, ContextLengthError)
            or error.status not in (400, 422)
            or not _FORMAT_REJECTED.search(str(error))
        ):
            return False
        engine = call.engine
        level = 1 if fmt.kind == "json_schema" else 2
        with self._lock:
            call.lane.level = max(call.lane.level, level)
            level = call.lane.level
            call.sent = _negotiated(engine, call.request, level)
            call.key = _cache_key(engine, call.sent)
        logger.info(
            "%s rejected the response format (HTTP %s); sending %s from now on",
            engine.name,
            error.status,
            _LEVELS[level],
        )
        return True

    def _requeue(self, call: _Call) -> None:
        with self._lock:
            if call.done:
                return
            call.lane.queue.appendleft(call)
            self._waiting[call.lane] = None
            started = self._take_startable()
        self._launch(started)

    def _time_out(self, call: _Call, attempt: int, limit: float) -> None:
        with self._lock:
            if call.done or call.live_attempt != attempt:
                return
            call.live_attempt = None
        self._failed(
            call,
            EngineTimeoutError(
                f"{call.engine.name}: no complete reply within {limit:.3g} s "
                "(RetryPolicy.timeout_s bounds each attempt, deadline_s the whole call)"
            ),
        )

    def _deadline(self, call: _Call) -> None:
        policy = call.attempts.policy if call.attempts else RetryPolicy()
        self._finish(
            call,
            DeadlineExceededError(
                f"{call.engine.name}: no reply within the {policy.deadline_s:g} s deadline; "
                "raise RetryPolicy.deadline_s or check the provider"
            ),
        )

    def _finish(self, call: _Call, outcome: Response | BaseException) -> None:
        with self._lock:
            if call.done:
                return
            call.done = True
            call.live_attempt = None
            if call.deadline is not None:
                call.deadline.cancelled = True
            if self._in_flight.get((id(call.lane), call.key)) is call:
                del self._in_flight[(id(call.lane), call.key)]
            else:  # the key changed with the response format
                for key, other in list(self._in_flight.items()):
                    if other is call:
                        del self._in_flight[key]
            released = (
                self._release_prefix(call, isinstance(outcome, Response)) if call.warms else []
            )
            record, call.record = call.record, None
        self._launch(released)
        if record is not None:  # recorded before the caller sees the outcome
            try:
                call.context.run(calls.end, record, outcome)
            except BaseException as error:  # e.g. a request log on a full disk
                outcome = error
        if isinstance(outcome, Response):
            call.future.set_result(outcome)
            return
        if isinstance(outcome, EngineError):
            _describe(outcome, call.request, call.engine)
        call.future.set_exception(outcome)

    def _check_fork(self) -> None:
        """In a forked child the parent's threads are gone: start over (hold the lock)."""
        if self._pid != os.getpid():
            self._reset_state()


# ---------------------------------------------------------------------------- pipeline steps


_REQUEST_FIELDS = frozenset(f.name for f in fields(Request)) - {
    "messages",
    "extra",
    "purpose",
    "role",
    "fallback",
    "shared_prefix",
}


def _sets(request: Request, name: str) -> bool:
    """Whether ``request`` sets the parameter ``name`` (``n`` counts as set when it is not 1)."""
    if name == "n":
        return request.n != 1
    if name in _REQUEST_FIELDS:
        return getattr(request, name) is not None
    return any(key == name for key, _ in request.extra)


def _with_defaults(engine: Engine, request: Request) -> Request:
    """``request`` (and its fallback) with the engine's default parameters where it sets none."""
    defaults: dict[str, Any] = getattr(engine, "default_params", None) or {}
    if not defaults:
        return request

    def fill(r: Request) -> Request:
        unset = {name: value for name, value in defaults.items() if not _sets(r, name)}
        return r.with_params(**unset) if unset else r

    filled = fill(request)
    if request.fallback is not None:
        filled = replace(filled, fallback=fill(request.fallback))
    return filled


def _check(engine: Engine, request: Request) -> None:
    """Refuse, before sending, what the engine says it cannot take: images when
    ``capabilities.images`` is false, a grammar it cannot follow, a prompt longer than its context
    window (counted with ``engine.count_tokens`` when it has one, e.g. tiktoken's exact counts for
    OpenAI's models, see :mod:`wordgrad.tokens`)."""
    capabilities = engine.capabilities
    if request.has_images and not capabilities.images:
        raise ConfigurationError(
            f"{request.role + ': ' if request.role else ''}the prompt holds an image but "
            f"{engine.name} is not marked as taking images; use a multimodal model (e.g. "
            "'gpt-4o'), pass is_multimodal=True to your own engine, or set engine.capabilities = "
            "dataclasses.replace(engine.capabilities, images=True) if it does take them"
        )
    fmt = request.response_format
    if fmt is not None and fmt.kind == "grammar" and not capabilities.grammar:
        raise InvalidRequestError(
            f"{engine.name} cannot constrain its output with a grammar "
            "(capabilities.grammar is False); ask for JSON instead"
        )
    window = capabilities.max_context_tokens
    if window is None:
        return
    count = getattr(engine, "count_tokens", None)
    needed = sum(count(m.text) if count else (len(m.text) + 3) // 4 for m in request.messages)
    if needed > window:
        where = f"{request.role!r}: " if request.role else ""
        raise ContextLengthError(
            f"{where}the prompt needs about {needed} tokens but {engine.name} takes at most "
            f"{window}; shorten the variable or its feedback, or use an engine with a larger "
            "context"
        )


def _negotiated(engine: Engine, request: Request, level: int) -> Request:
    """``request`` in the structured-output form the engine takes at ``level``."""
    fmt = request.response_format
    if fmt is None or fmt.kind not in ("json", "json_schema"):
        return request
    capabilities = engine.capabilities
    if level >= 2 or (not capabilities.structured_output and request.fallback is not None):
        if request.fallback is not None:
            return replace(request.fallback, purpose=request.purpose, role=request.role)
        return replace(request, response_format=None)
    if fmt.kind == "json_schema" and (level >= 1 or not capabilities.json_schema):
        return replace(request, response_format=ResponseFormat("json", fmt.schema, name=fmt.name))
    return request


def _prefix_key(engine: Engine, request: Request) -> str | None:
    """A key for the request's shared prefix when the engine's provider would cache it."""
    capabilities = engine.capabilities
    if not capabilities.prefix_cache:
        return None
    text = request.prefix_text()
    if text is None:
        return None
    count = getattr(engine, "count_tokens", None)
    tokens = count(text) if count else (len(text) + 3) // 4
    if tokens < capabilities.min_cached_prefix_tokens:
        return None
    payload = "\x00".join((engine_identity(engine), engine.model_string, text))
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def engine_identity(engine: Engine) -> str:
    """The engine's class (module and qualified name) and namespace: two engine classes never
    share cache entries, even for the same model name."""
    namespace = getattr(engine, "cache_namespace", "")
    return f"{type(engine).__module__}.{type(engine).__qualname__}:{namespace}"


def _cache_key(engine: Engine, request: Request) -> str:
    return request.fingerprint(provider=engine_identity(engine), model=engine.model_string)


def _attempt_limit(policy: RetryPolicy, started: float, now: float) -> float | None:
    """Seconds this attempt may take: its time-out, cut to what is left of the deadline."""
    limits = [policy.timeout_s] if policy.timeout_s is not None else []
    if policy.deadline_s is not None:
        limits.append(max(started + policy.deadline_s - now, 0.001))
    return min(limits) if limits else None


def _carry(engine: Engine, request: Request, limit: float | None) -> Response:
    set_attempt_timeout(limit)
    return carry(engine, request)


def _checked(engine: Engine, response: Response, sent: Request) -> Response:
    """The engine's response, checked and cleaned at the boundary, knowing its request."""
    if not isinstance(response, Response):
        raise TypeError(
            f"{type(engine).__name__}.complete must return a Response, got "
            f"{type(response).__name__}"
        )
    if not response.texts or any(not isinstance(text, str) for text in response.texts):
        raise ResponseFormatError(
            f"{engine.name}: the reply has no text (content is null); the model may have "
            "refused or answered with a tool call"
        )
    texts = tuple(clean_text(text) for text in response.texts)
    return replace(response, texts=texts, request=sent, cached=False)


def clean_text(text: str) -> str:
    """``text`` as valid Unicode: surrogate pairs joined, lone surrogates replaced by U+FFFD.

    A provider's JSON may escape half of a surrogate pair (``"\\ud83d"``); such a string cannot
    be written as UTF-8, so it would break the cache, logs, checkpoints and the graph.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _describe(error: EngineError, request: Request, engine: Engine) -> None:
    """Name the request in the error: its role, purpose and the engine's model."""
    if not getattr(error, "role", ""):
        error.role = request.role
    if not getattr(error, "purpose", ""):
        error.purpose = request.purpose
    if not getattr(error, "model", ""):
        error.model = engine.name


def _record(engine: Engine, request: Request, response: Response) -> None:
    """Usage, under the purpose in force (``counted_as``), else the request's own."""
    record(engine.name, _counted_as.get() or request.purpose, response)


def _check_limit(limit: int) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"max_concurrency must be a whole number >= 1, got {limit!r}")


def _role_of(build: Request | Callable[[], Request]) -> str:
    return build.role if isinstance(build, Request) and build.role else "LLM output"


# ---------------------------------------------------------------------------- futures


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


def completed(value: T) -> Future[T]:
    """A future that already holds ``value``."""
    future: Future[T] = Future()
    future.set_result(value)
    return future


def _when_done(
    futures: Sequence[Future[Any]], then: Callable[[], None], result: Future[Any], label: str
) -> None:
    """Call ``then()`` once every future has finished; if one failed, fail ``result`` instead."""

    def start_or_fail() -> None:
        for future in futures:
            error = future.exception()
            if isinstance(error, Exception):
                _fail(result, label, error)
                return
            if error is not None:
                result.set_exception(error)
                return
        then()

    when_all(futures, start_or_fail)


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
    if not isinstance(error, NodeError):
        node_error = NodeError(
            f"the operation producing {label!r} failed: {type(error).__name__}: {error}",
            role=label,
            cause=error,
        )
        node_error.__cause__ = error
        error = node_error
    result.set_exception(error)


EXECUTOR = Executor()
"""The process-wide executor."""


@contextmanager
def counted_as(purpose: Purpose) -> Iterator[None]:
    """Count every request sent inside the block under ``purpose`` (usage tables, test scripts).

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
