"""Engines: the language models behind wordgrad, all behind one contract (:class:`EngineLM`)."""

from wordgrad.engine.base import DEFAULT_SYSTEM_PROMPT, EngineLM, RateLimiter
from wordgrad.engine.cache import ResponseCache
from wordgrad.engine.registry import get_engine, register_engine, unregister_engine
from wordgrad.engine.retry import RetryPolicy
from wordgrad.engine.scripted import ScriptedEngine, ScriptExhaustedError
from wordgrad.engine.usage import UsageMeter, set_price, track

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "EngineLM",
    "RateLimiter",
    "ResponseCache",
    "RetryPolicy",
    "ScriptExhaustedError",
    "ScriptedEngine",
    "UsageMeter",
    "get_engine",
    "register_engine",
    "set_price",
    "track",
    "unregister_engine",
]
