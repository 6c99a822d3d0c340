"""Defaults that call sites would otherwise pass around: engines and the concurrency limit.

Each default has a process-wide value (set with ``set_backward_engine`` and friends, seen by every
thread) and a context-local override (``with tg.engine_context(backward=...)``), which wins inside
its block. Upstream's ``set_backward_engine`` and ``SingletonBackwardEngine`` write the
process-wide value.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from wordgrad.engine.base import EngineLM
from wordgrad.engine.registry import default_engine, get_engine
from wordgrad.errors import InvalidInputError, NoEngineError
from wordgrad.executor import EXECUTOR
from wordgrad.llm import Engine

_UNSET: Any = object()

_lock = threading.Lock()
_global_engines: dict[str, EngineLM | None] = {"forward": None, "backward": None}
_context_engines: dict[str, contextvars.ContextVar[EngineLM | None]] = {
    "forward": contextvars.ContextVar("wordgrad_forward_engine", default=_UNSET),
    "backward": contextvars.ContextVar("wordgrad_backward_engine", default=_UNSET),
}


def _as_engine(engine: Engine | str, **kwargs: Any) -> EngineLM:
    if isinstance(engine, str):
        return get_engine(engine, **kwargs)
    # Any transport will do (an object with complete(request) -> Response); EngineLM is what
    # this module's callers are typed against.
    if not isinstance(engine, EngineLM) and not callable(getattr(engine, "complete", None)):
        raise InvalidInputError(
            f"expected an engine or an engine's name, got {type(engine).__name__} "
            f"({engine!r:.60}); e.g. 'gpt-4o', tg.get_engine('openai/gpt-4o-mini') or your own "
            "EngineLM subclass"
        )
    return cast(EngineLM, engine)


def _current(kind: str) -> EngineLM | None:
    value = _context_engines[kind].get()
    if value is not _UNSET:
        return value
    with _lock:
        return _global_engines[kind]


def _set_global(kind: str, engine: EngineLM | None, override: bool) -> None:
    with _lock:
        current = _global_engines[kind]
        if current is not None and engine is not None and not override and current is not engine:
            same = type(current) is type(engine) and current.model_string == engine.model_string
            if not same:
                raise NoEngineError(
                    f"a {kind} engine ({current.model_string!r}) is already set; pass "
                    f"override=True to replace it with {engine.model_string!r}"
                )
            return
        _global_engines[kind] = engine


def set_backward_engine(engine: EngineLM | str, override: bool = False, **kwargs: Any) -> None:
    """Set the engine that writes gradients (and, unless set separately, runs optimizers/losses).

    Setting a different engine while one is set needs ``override=True`` (as upstream).
    """
    _set_global("backward", _as_engine(engine, **kwargs), override)


def set_forward_engine(engine: EngineLM | str, override: bool = False, **kwargs: Any) -> None:
    """Set the engine that models and losses use when they are given none."""
    _set_global("forward", _as_engine(engine, **kwargs), override)


def get_backward_engine() -> EngineLM | None:
    """The backward engine in force here (context override first), or None."""
    return _current("backward")


def get_forward_engine() -> EngineLM | None:
    """The forward engine in force here, or None."""
    return _current("forward")


def reset_engines() -> None:
    """Forget the process-wide forward and backward engines (useful between tests)."""
    with _lock:
        _global_engines["forward"] = None
        _global_engines["backward"] = None


@contextmanager
def engine_context(
    forward: EngineLM | str | None = None, backward: EngineLM | str | None = None
) -> Iterator[None]:
    """Use these engines as defaults inside the block (this thread/task only)."""
    tokens = []
    for kind, engine in (("forward", forward), ("backward", backward)):
        if engine is not None:
            tokens.append((kind, _context_engines[kind].set(_as_engine(engine))))
    try:
        yield
    finally:
        for kind, token in reversed(tokens):
            _context_engines[kind].reset(token)


def resolve_engine(engine: Engine | str | None, *, kind: str = "backward") -> EngineLM:
    """The engine to use: the one given, else the default of this ``kind``, else the backward one.

    With none of those, :func:`wordgrad.engine.registry.default_engine` decides (it raises
    :class:`NoEngineError` with the fix when no default is available).
    """
    if engine is not None:
        return _as_engine(engine)
    found = _current(kind) or _current("backward")
    if found is not None:
        return found
    return default_engine()


def validate_engine_or_get_default(engine: EngineLM | str | None) -> EngineLM:
    """Upstream's name for :func:`resolve_engine` with the backward default."""
    return resolve_engine(engine)


class SingletonBackwardEngine:
    """Upstream's handle on the process-wide backward engine (one shared instance)."""

    _instance: SingletonBackwardEngine | None = None

    def __new__(cls) -> SingletonBackwardEngine:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    @property
    def engine(self) -> EngineLM | None:
        return get_backward_engine()

    def set_engine(self, engine: EngineLM | str, override: bool = False) -> None:
        set_backward_engine(engine, override=override)

    def get_engine(self) -> EngineLM | None:
        return get_backward_engine()


singleton_backward_engine = SingletonBackwardEngine()


def set_prefix_warming(enabled: bool) -> None:
    """Whether the first request of a group sharing a long prompt prefix goes ahead of the rest,
    so that a provider's prefix cache serves the others at its cached-input price (on by
    default, for engines whose capabilities say their provider caches prefixes). Off, every
    request is sent as soon as it can be: one latency sooner per such group, at full price."""
    EXECUTOR.warm_prefixes = bool(enabled)


def set_max_concurrency(limit: int) -> None:
    """At most ``limit`` LLM calls in flight at once, process-wide; 1 runs them one by one."""
    EXECUTOR.set_max_concurrency(limit)


def get_max_concurrency() -> int:
    """The bound in force here (a ``with max_concurrency(n)`` block's, else the process-wide)."""
    return EXECUTOR.max_concurrency


@contextmanager
def max_concurrency(limit: int) -> Iterator[None]:
    """``with tg.max_concurrency(1):`` runs the block's calls one by one.

    Context-local: it bounds the calls made in this block (on this thread or asyncio task, and
    the work they start), not other threads' calls, and leaves the process-wide bound alone.
    """
    with EXECUTOR.limited(limit):
        yield
