"""``EngineLM``: the base class of every engine, ours and users' own.

An engine is a transport: :meth:`EngineLM.complete` carries one :class:`Request` to the model and
returns one :class:`Response`, and the engine says what it is (``name``, ``capabilities``). A
user's upstream-style engine may implement only ``generate(prompt, system_prompt=None, **kwargs)
-> str``; the base class adapts it.

Everything else (defaults, the context check, the cache, per-engine limits, retries, time-outs,
usage, de-duplication) is done by the executor (:mod:`wordgrad.executor`), for every engine and
every way in: graph operations, ``engine.send(request)``, and a user's own ``engine.generate()``
or ``engine(prompt)`` call, even on a subclass that overrides ``generate``.

Every attribute has a class-level default, so a subclass whose ``__init__`` never calls ours
still works.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from wordgrad.engine.cache import ResponseCache
from wordgrad.engine.compat import CachedEngine
from wordgrad.engine.kvcache import check_cache_setting
from wordgrad.engine.retry import RetryPolicy
from wordgrad.llm import (
    Capabilities,
    Engine,
    ImagePart,
    Purpose,
    Request,
    Response,
    Usage,
)
from wordgrad.tokens import count_tokens

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "CachedEngine",
    "EngineLM",
    "RateLimiter",
    "attempt_timeout",
    "carry",
    "set_attempt_timeout",
]

DEFAULT_SYSTEM_PROMPT = "You are a careful, helpful assistant. Answer precisely and concisely."


class RateLimiter:
    """At most ``requests_per_minute`` calls in any sliding window of ``window_s`` seconds
    (60: a minute), thread-safe.

    The executor asks :meth:`reserve`, which never blocks: a call that does not fit stays in its
    engine's queue until the window has room.
    """

    def __init__(self, requests_per_minute: float, *, window_s: float = 60.0) -> None:
        if requests_per_minute <= 0:
            raise ValueError(f"requests_per_minute must be positive, got {requests_per_minute}")
        self.requests_per_minute = requests_per_minute
        self.window_s = window_s
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def reserve(self, now: float | None = None) -> float:
        """Count one call and return 0.0 if it fits now; else the seconds until one will fit."""
        with self._lock:
            now = time.monotonic() if now is None else now
            while self._sent and now - self._sent[0] >= self.window_s:
                self._sent.popleft()
            if len(self._sent) < self.requests_per_minute:
                self._sent.append(now)
                return 0.0
            return max(self.window_s - (now - self._sent[0]), 0.001)

    def acquire(self) -> None:
        """Block until one more call fits in the window, then count it (for code outside the
        executor)."""
        while (wait := self.reserve()) > 0:
            time.sleep(wait)


_attempt_timeout: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "wordgrad_attempt_timeout", default=None
)


def set_attempt_timeout(seconds: float | None) -> None:
    """Set the wall-clock seconds the transport call starting here may take (the executor)."""
    _attempt_timeout.set(seconds)


def attempt_timeout(engine: Any = None) -> float | None:
    """Seconds the current transport call may take, for adapters to pass to their client.

    Set by the executor for each attempt (the policy's ``timeout_s``, cut to what is left of its
    ``deadline_s``); outside the executor, the engine's own ``retry.timeout_s``.
    """
    seconds = _attempt_timeout.get()
    if seconds is None and engine is not None:
        seconds = getattr(getattr(engine, "retry", None), "timeout_s", None)
    return seconds


_in_transport: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "wordgrad_in_transport", default=None
)
"""The engine whose transport call runs in this context (its own ``generate`` is then raw)."""


def _routed(raw_generate: Callable[..., str]) -> Callable[..., str]:
    """Wrap a subclass's ``generate`` so that a user's direct call goes through the executor,
    while the executor's own transport call (and any call inside it) reaches ``raw_generate``."""

    @functools.wraps(raw_generate)
    def generate(
        self: EngineLM,
        prompt: str | Sequence[str | bytes],
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> str:
        if _in_transport.get() is self:
            return raw_generate(self, prompt, system_prompt, **kwargs)
        return self.send(self.build_request(prompt, system_prompt, **kwargs)).text

    generate.__wordgrad_raw__ = raw_generate  # type: ignore[attr-defined]
    return generate


def _raw_generate(cls: type) -> Callable[..., Any] | None:
    """A subclass's own ``generate``, when it comes before any ``complete`` in the MRO."""
    for klass in cls.__mro__:
        own = klass.__dict__.get("generate")
        if own is not None and hasattr(own, "__wordgrad_raw__"):
            raw: Callable[..., Any] = own.__wordgrad_raw__
            return raw
        if "complete" in klass.__dict__ and klass is not EngineLM:
            return None
    return None


def carry(engine: Engine, request: Request) -> Response:
    """One transport call: the engine's own ``generate`` if a subclass overrides it after its
    last ``complete``, else ``complete``. The executor calls this and nothing else."""
    if isinstance(engine, EngineLM):
        raw = _raw_generate(type(engine))
        if raw is not None:
            return engine._complete_with(raw, request)
    return engine.complete(request)


class EngineLM:
    """Base class of engines.

    Args:
        model_string: the model's name as the provider knows it.
        system_prompt: used when a call gives none.
        cache: ``None`` follows ``WORDGRAD_CACHE`` (on by default); ``False`` turns it off;
            ``True``, a path or a :class:`ResponseCache` picks the store.
        retry: a :class:`RetryPolicy` (attempts, time-out, deadline, reconnect window); the
            default retries transient errors five times.
        max_concurrency: at most this many calls to this engine at once (``None``: no limit
            beyond the executor's). Further calls wait in the engine's queue, holding no thread.
        requests_per_minute: optional rate limit for this engine.
        capabilities: what the engine can do; override when you know better.
        **kwargs: default sampling parameters (``temperature=0.2``), filled in where a request
            sets none.

    Attributes read by the executor, each with a class default: ``provider``, ``model_string``,
    ``system_prompt``, ``default_params``, ``cache_setting``, ``retry``, ``max_concurrency``,
    ``requests_per_minute``, ``is_multimodal`` (upstream's flag: True marks the engine as taking
    images) and ``capabilities``.
    """

    provider: str = "custom"
    model_string: str = "custom"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    default_params: dict[str, Any] = {}  # noqa: RUF012  (never mutated: replaced per instance)
    cache_setting: bool | ResponseCache | str | None = None
    retry: RetryPolicy = RetryPolicy()
    max_concurrency: int | None = None
    requests_per_minute: float | None = None
    is_multimodal: bool | None = None
    lane_owner: Engine | None = None
    """The engine whose queue, limits and rate this one shares (set on the views that
    :func:`wordgrad.engine.sampled` makes); None: its own."""
    _capabilities: Capabilities | None = None

    def __init__(
        self,
        model_string: str | None = None,
        system_prompt: str | None = None,
        *,
        cache: bool | ResponseCache | str | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int | None = None,
        requests_per_minute: float | None = None,
        capabilities: Capabilities | None = None,
        **kwargs: Any,
    ) -> None:
        if model_string is not None:
            self.model_string = model_string
        if system_prompt is not None:
            self.system_prompt = system_prompt
        if capabilities is not None:
            self.capabilities = capabilities
        self.configure(
            cache=cache,
            retry=retry,
            max_concurrency=max_concurrency,
            requests_per_minute=requests_per_minute,
        )
        self.default_params = dict(kwargs)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("generate")
        if own is not None and not hasattr(own, "__wordgrad_raw__"):
            cls.generate = _routed(own)  # type: ignore[method-assign]

    def configure(
        self,
        *,
        cache: bool | ResponseCache | str | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int | None = None,
        requests_per_minute: float | None = None,
    ) -> None:
        """Set the executor's options for this engine (also usable on a user subclass that
        skipped ``__init__``)."""
        check_cache_setting(cache)
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        if requests_per_minute is not None and requests_per_minute <= 0:
            raise ValueError(f"requests_per_minute must be positive, got {requests_per_minute}")
        self.cache_setting = cache
        self.retry = retry or RetryPolicy()
        self.max_concurrency = max_concurrency
        self.requests_per_minute = requests_per_minute

    # ------------------------------------------------------------------ what the engine is

    @property
    def capabilities(self) -> Capabilities:
        """What the engine can do: what it was given, else what its model name says
        (:meth:`default_capabilities`); ``is_multimodal=True`` marks it as taking images."""
        given = self._capabilities
        found = given if given is not None else self.default_capabilities()
        if given is None and self.is_multimodal is not None:
            found = replace(found, images=bool(self.is_multimodal))
        return found

    @capabilities.setter
    def capabilities(self, value: Capabilities) -> None:
        self._capabilities = value

    def default_capabilities(self) -> Capabilities:
        """Capabilities from the model's name (providers override); nothing is assumed here."""
        return Capabilities()

    @property
    def name(self) -> str:
        """``provider/model``, used in usage tables and messages."""
        return f"{self.provider}/{self.model_string}"

    @property
    def cache_namespace(self) -> str:
        """What, besides the engine's class, its model name and the request, tells this engine's
        replies apart: the provider by default; engines that can point at different servers add
        the address."""
        return self.provider

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` for this model (:func:`wordgrad.tokens.count_tokens`: exact where
        a tokenizer works offline, else a per-script estimate that does not under-count)."""
        return count_tokens(text, self.model_string)

    # ------------------------------------------------------------------ the transport

    def complete(self, request: Request) -> Response:
        """Carry one request to the model and back (no cache, no retries). Providers override it.

        The default adapts an upstream-style subclass that implements only ``generate``.
        """
        raw = _raw_generate(type(self))
        if raw is None:
            raise NotImplementedError(
                f"{type(self).__name__} must implement complete(request) or "
                "generate(prompt, system_prompt=None, **kwargs)"
            )
        return self._complete_with(raw, request)

    def _complete_with(self, raw: Callable[..., Any], request: Request) -> Response:
        started = time.perf_counter()
        prompt: Any = request.prompt
        user = request.messages[-1]
        if not isinstance(user.content, str):
            prompt = [p.data if isinstance(p, ImagePart) else p for p in user.content]
        token = _in_transport.set(self)
        try:
            text = raw(self, prompt, request.system_prompt, **request.sampling_params())
        finally:
            _in_transport.reset(token)
        if not isinstance(text, str):
            raise TypeError(
                f"{type(self).__name__}.generate must return a str, got {type(text).__name__}"
            )
        return Response(
            texts=(text,),
            usage=Usage.estimate(request, [text]),
            model=self.model_string,
            latency_s=time.perf_counter() - started,
        )

    # ------------------------------------------------------------------ what users call

    def send(self, request: Request, *, purpose: Purpose | None = None) -> Response:
        """Send ``request`` through the executor (defaults, context check, cache, limits,
        retries, time-outs, usage) and wait for the response."""
        from wordgrad.executor import EXECUTOR

        if purpose is not None:
            request = request.about(purpose)
        return EXECUTOR.send(self, request)

    def generate(
        self, prompt: str | Sequence[str | bytes], system_prompt: str | None = None, **kwargs: Any
    ) -> str:
        """Ask the model and return its reply, through the executor."""
        return self.send(self.build_request(prompt, system_prompt, **kwargs)).text

    def __call__(
        self, prompt: str | Sequence[str | bytes], system_prompt: str | None = None, **kwargs: Any
    ) -> str:
        return self.generate(prompt, system_prompt=system_prompt, **kwargs)

    async def agenerate(
        self, prompt: str | Sequence[str | bytes], system_prompt: str | None = None, **kwargs: Any
    ) -> str:
        """Async form of :meth:`generate`; waits on a worker thread."""
        return await asyncio.to_thread(self.generate, prompt, system_prompt, **kwargs)

    def build_request(
        self, prompt: str | Sequence[str | bytes], system_prompt: str | None = None, **kwargs: Any
    ) -> Request:
        """The request ``generate`` sends: the call's parameters (the executor adds the engine's
        defaults where the request sets none)."""
        return Request.chat(prompt, system_prompt or self.system_prompt, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_string={self.model_string!r})"
