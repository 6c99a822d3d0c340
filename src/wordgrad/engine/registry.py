"""``get_engine``: from a name to an engine.

Names are resolved in this order: names registered with :func:`register_engine` (exact, then the
longest registered prefix ending in ``/`` or ``:``), then the built-in names. An unknown name is a
:class:`~wordgrad.errors.ConfigurationError` that lists what is accepted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from wordgrad.engine.base import EngineLM
from wordgrad.engine.scripted import ScriptedEngine
from wordgrad.errors import ConfigurationError, NoEngineError

EngineFactory = Callable[..., EngineLM]

_registry: dict[str, EngineFactory] = {}
_lock = threading.Lock()


def register_engine(name: str, factory: EngineFactory) -> None:
    """Make ``get_engine(name, **kwargs)`` return ``factory(**kwargs)``.

    A name ending in ``/`` or ``:`` is a prefix: ``register_engine("mylab/", f)`` makes
    ``get_engine("mylab/model-7b")`` call ``f(model_string="model-7b", **kwargs)``.
    """
    with _lock:
        _registry[name] = factory


def unregister_engine(name: str) -> None:
    """Undo :func:`register_engine` (no error if the name was not registered)."""
    with _lock:
        _registry.pop(name, None)


def _registered(name: str) -> Callable[..., EngineLM] | None:
    with _lock:
        if name in _registry:
            return _registry[name]
        prefixes = [p for p in _registry if p.endswith(("/", ":")) and name.startswith(p)]
        if not prefixes:
            return None
        prefix = max(prefixes, key=len)
        factory = _registry[prefix]
    rest = name[len(prefix) :]
    return lambda **kwargs: factory(model_string=rest, **kwargs)


def get_engine(engine_name: str | EngineLM, **kwargs: Any) -> EngineLM:
    """The engine called ``engine_name``; an engine instance is returned unchanged."""
    if isinstance(engine_name, EngineLM):
        return engine_name
    if not isinstance(engine_name, str) or not engine_name.strip():
        raise ConfigurationError(
            f"an engine name must be a non-empty string, got {engine_name!r}; "
            "e.g. get_engine('gpt-4o') or get_engine('openai/my-model', base_url=...)"
        )
    name = engine_name.strip()
    factory = _registered(name)
    if factory is not None:
        return factory(**kwargs)
    if name == "scripted" or name.startswith("scripted/"):
        model = name.partition("/")[2] or "scripted"
        return ScriptedEngine(model_string=model, **kwargs)
    raise ConfigurationError(
        f"unknown engine name {name!r}; use a registered name, 'scripted', or register your own "
        "with wordgrad.engine.register_engine(name, factory)"
    )


def default_engine() -> EngineLM:
    """The engine used when none was given or set anywhere.

    Raises :class:`NoEngineError` saying how to set one when no default is available.
    """
    raise NoEngineError(
        "no engine given and no default set; pass engine=... or call "
        "tg.set_backward_engine(tg.get_engine('<name>')) first"
    )
