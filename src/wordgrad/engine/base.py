"""``EngineLM``: the base class of every engine, ours and users' own.

A provider implements :meth:`EngineLM.complete` (one raw call: a :class:`Request` in, a
:class:`Response` out). A user's upstream-style engine may instead implement only
``generate(prompt, system_prompt=None, **kwargs) -> str``; the base class adapts it.

Either way, requests go through :meth:`EngineLM.send`, the pipeline every call takes:
context-length check → cache → concurrency and rate limits → retries → usage accounting.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from wordgrad.engine.cache import ResponseCache, resolve_cache
from wordgrad.engine.compat import CachedEngine
from wordgrad.engine.kvcache import check_cache_setting
from wordgrad.engine.retry import RetryPolicy, call_with_retries
from wordgrad.engine.usage import record
from wordgrad.errors import ContextLengthError, InvalidRequestError
from wordgrad.llm import (
    Capabilities,
    ImagePart,
    Purpose,
    Request,
    Response,
    Usage,
)
from wordgrad.tokens import count_tokens

_REQUEST_PARAMS = frozenset(f.name for f in fields(Request)) - {"messages", "extra"}


def _sets(request: Request, name: str) -> bool:
    """Whether ``request`` sets the parameter ``name`` (``n`` counts as set when it is not 1)."""
    if name == "n":
        return request.n != 1
    if name in _REQUEST_PARAMS:
        return getattr(request, name) is not None
    return any(key == name for key, _ in request.extra)


__all__ = ["DEFAULT_SYSTEM_PROMPT", "CachedEngine", "EngineLM", "RateLimiter"]

DEFAULT_SYSTEM_PROMPT = "You are a careful, helpful assistant. Answer precisely and concisely."


class RateLimiter:
    """At most ``requests_per_minute`` calls in any sliding 60-second window (thread-safe)."""

    def __init__(self, requests_per_minute: float) -> None:
        if requests_per_minute <= 0:
            raise ValueError(f"requests_per_minute must be positive, got {requests_per_minute}")
        self.requests_per_minute = requests_per_minute
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Block until one more call fits in the window, then count it."""
        while True:
            with self._lock:
                now = time.monotonic()
                while self._sent and now - self._sent[0] >= 60.0:
                    self._sent.popleft()
                if len(self._sent) < self.requests_per_minute:
                    self._sent.append(now)
                    return
                wait = 60.0 - (now - self._sent[0])
            time.sleep(max(wait, 0.01))


class EngineLM:
    """Base class of engines.

    Args:
        model_string: the model's name as the provider knows it.
        system_prompt: used when a call gives none.
        cache: ``None`` follows ``WORDGRAD_CACHE`` (on by default); ``False`` turns it off;
            ``True``, a path or a :class:`ResponseCache` picks the store.
        retry: a :class:`RetryPolicy`; the default retries transient errors five times.
        max_concurrency: at most this many calls to this engine at once (``None``: no limit
            beyond the executor's).
        requests_per_minute: optional rate limit for this engine.
        capabilities: what the engine can do; override when you know better.
    """

    provider: str = "custom"
    model_string: str = "custom"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    capabilities: Capabilities = Capabilities()

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
        self.default_params: dict[str, Any] = dict(kwargs)

    def configure(
        self,
        *,
        cache: bool | ResponseCache | str | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int | None = None,
        requests_per_minute: float | None = None,
    ) -> None:
        """Set the pipeline's options (also usable on a user subclass that skipped ``__init__``)."""
        check_cache_setting(cache)
        self._cache_setting = cache
        self._cache: ResponseCache | None = None
        self._cache_resolved = False
        self.retry = retry or RetryPolicy()
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.max_concurrency = max_concurrency
        self._slots = threading.BoundedSemaphore(max_concurrency) if max_concurrency else None
        self._rate = RateLimiter(requests_per_minute) if requests_per_minute else None
        self._configured = True

    # ------------------------------------------------------------------ what providers implement

    def complete(self, request: Request) -> Response:
        """Make one raw call to the model (no cache, no retries). Providers override this.

        The default adapts an upstream-style subclass that implements only ``generate``.
        """
        if type(self).generate is EngineLM.generate:
            raise NotImplementedError(
                f"{type(self).__name__} must implement complete(request) or "
                "generate(prompt, system_prompt=None, **kwargs)"
            )
        started = time.perf_counter()
        prompt: Any = request.prompt
        user = request.messages[-1]
        if not isinstance(user.content, str):
            prompt = [p.data if isinstance(p, ImagePart) else p for p in user.content]
        text = self.generate(
            prompt, system_prompt=request.system_prompt, **request.sampling_params()
        )
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

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` for this model (:func:`wordgrad.tokens.count_tokens`: exact where
        a tokenizer works offline, else a per-script estimate that does not under-count)."""
        return count_tokens(text, self.model_string)

    # ------------------------------------------------------------------ what users call

    def generate(
        self, prompt: str | Sequence[str | bytes], system_prompt: str | None = None, **kwargs: Any
    ) -> str:
        """Ask the model and return its reply, through the cache, retries and usage accounting."""
        request = self.build_request(prompt, system_prompt, **kwargs)
        return self.send(request).text

    def __call__(
        self, prompt: str | Sequence[str | bytes], system_prompt: str | None = None, **kwargs: Any
    ) -> str:
        return self.generate(prompt, system_prompt=system_prompt, **kwargs)

    async def agenerate(
        self, prompt: str | Sequence[str | bytes], system_prompt: str | None = None, **kwargs: Any
    ) -> str:
        """Async form of :meth:`generate`; runs the call on a worker thread."""
        return await asyncio.to_thread(self.generate, prompt, system_prompt, **kwargs)

    def build_request(
        self, prompt: str | Sequence[str | bytes], system_prompt: str | None = None, **kwargs: Any
    ) -> Request:
        """The request ``generate`` sends: the engine's defaults, then the call's parameters."""
        params = {**self.default_params, **kwargs}
        return Request.chat(prompt, system_prompt or self.system_prompt, **params)

    # ------------------------------------------------------------------ the pipeline

    @property
    def cache(self) -> ResponseCache | None:
        """The cache this engine uses, or None; resolved (and created) on first use only."""
        self._ensure_configured()
        if not self._cache_resolved:
            self._cache = resolve_cache(self._cache_setting)
            self._cache_resolved = True
        return self._cache

    @property
    def name(self) -> str:
        """``provider/model``, used in usage tables and messages."""
        return f"{self.provider}/{self.model_string}"

    @property
    def cache_namespace(self) -> str:
        """What, besides the model name and the request, tells this engine's replies apart.

        The provider by default; engines that can point at different servers add the address, so
        two servers that both call their model ``my-model`` never share cache entries.
        """
        return self.provider

    def apply_defaults(self, request: Request) -> Request:
        """``request`` with the engine's default parameters filled in where it sets none.

        The defaults are the keyword arguments the engine was built with (e.g.
        ``get_engine("gpt-4o", temperature=0.2)``); a value the request sets always wins.
        """
        self._ensure_configured()
        unset = {
            name: value for name, value in self.default_params.items() if not _sets(request, name)
        }
        return request.with_params(**unset) if unset else request

    def send(self, request: Request, *, purpose: Purpose = "other") -> Response:
        """Send ``request``: defaults → context check → cache → limits → retries → usage."""
        self._ensure_configured()
        request = self.apply_defaults(request)
        self.check_context(request)
        self.check_format(request)
        cache = self.cache
        key = request.fingerprint(provider=self.cache_namespace, model=self.model_string)
        if cache is not None and (hit := cache.get(key)) is not None:
            record(self.name, purpose, hit)
            return hit
        response = call_with_retries(lambda: self._limited_complete(request), self.retry)
        if cache is not None:
            cache.put(key, response)
        record(self.name, purpose, response)
        return response

    def check_context(self, request: Request) -> None:
        """Raise :class:`ContextLengthError` if the prompt cannot fit the declared context."""
        window = self.capabilities.max_context_tokens
        if window is None:
            return
        needed = sum(self.count_tokens(message.text) for message in request.messages)
        if needed > window:
            raise ContextLengthError(
                f"the prompt needs about {needed} tokens but {self.name} takes at most {window}; "
                "shorten the variable or its feedback, or use an engine with a larger context"
            )

    def check_format(self, request: Request) -> None:
        """Raise :class:`InvalidRequestError` for a grammar this engine cannot follow."""
        fmt = request.response_format
        if fmt is not None and fmt.kind == "grammar" and not self.capabilities.grammar:
            raise InvalidRequestError(
                f"{self.name} cannot constrain its output with a grammar "
                "(capabilities.grammar is False); ask for JSON instead"
            )

    def _limited_complete(self, request: Request) -> Response:
        if self._rate is not None:
            self._rate.acquire()
        if self._slots is None:
            return self.complete(request)
        with self._slots:
            return self.complete(request)

    def _ensure_configured(self) -> None:
        # A user subclass may define __init__ without calling ours.
        if not getattr(self, "_configured", False):
            self.configure()
        if not hasattr(self, "default_params"):
            self.default_params = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_string={self.model_string!r})"
