"""``get_engine``: from a name to an engine.

A name is resolved in this order:

1. names registered with :func:`register_engine` (exact, then the longest registered prefix
   ending in ``/`` or ``:``);
2. ``provider/model`` (:data:`PROVIDERS`): ``openai/gpt-4o``, ``anthropic/claude-...``,
   ``ollama/llama3``, ``local``, ``local/path/to/model.gguf``, ``scripted``, ...;
3. upstream textgrad's names (:data:`SHORTCUTS`, then :data:`UPSTREAM_RULES`): ``gpt-4o``,
   ``azure-<deployment>``, ``claude-...``, ``sonnet``, ``gemini-...``, ``together-...``,
   ``groq-...``, ``ollama-...``, ``vllm-...``, ``experimental:<litellm name>``.

An unknown name is a :class:`~wordgrad.errors.ConfigurationError` that lists what is accepted.
Provider modules are imported only when their engine is built, so ``import wordgrad`` loads no
SDK.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wordgrad.engine.base import EngineLM
from wordgrad.errors import ConfigurationError, NoEngineError

EngineFactory = Callable[..., EngineLM]

logger = logging.getLogger("wordgrad")


@dataclass(frozen=True)
class Provider:
    """How to build one provider's engine: ``module.cls(model_string=..., **preset, **kwargs)``."""

    module: str
    cls: str
    preset: dict[str, Any] = field(default_factory=dict)
    model_arg: str = "model_string"

    def build(self, model: str, kwargs: dict[str, Any]) -> EngineLM:
        engine_class = getattr(importlib.import_module(f"wordgrad.engine.{self.module}"), self.cls)
        arguments = {**self.preset, **kwargs}
        if model:
            arguments[self.model_arg] = model
        engine: EngineLM = engine_class(**arguments)
        return engine


def _compatible(service: str) -> Provider:
    return Provider("openai_compat", "OpenAICompatibleEngine", {"service": service})


PROVIDERS: dict[str, Provider] = {
    "openai": _compatible("openai"),
    "azure": Provider("openai_compat", "AzureOpenAIEngine"),
    "anthropic": Provider("anthropic", "AnthropicEngine"),
    "gemini": Provider("gemini", "GeminiEngine"),
    "litellm": Provider("litellm", "LiteLLMEngine"),
    "together": _compatible("together"),
    "groq": _compatible("groq"),
    "deepseek": _compatible("deepseek"),
    "openrouter": _compatible("openrouter"),
    "ollama": _compatible("ollama"),
    "vllm": _compatible("vllm"),
    "lmstudio": _compatible("lmstudio"),
    "llamacpp": _compatible("llamacpp"),
    "local": Provider("local", "LocalEngine", model_arg="model_path"),
    "scripted": Provider("scripted", "ScriptedEngine"),
}
"""``provider/model`` names. The model part may contain further slashes (``openrouter/x/y``)."""

SHORTCUTS: dict[str, str] = {
    "opus": "claude-3-opus-20240229",
    "haiku": "claude-3-haiku-20240307",
    "sonnet": "claude-3-sonnet-20240229",
    "sonnet-3.5": "claude-3-5-sonnet-20240620",
    "together-llama-3-70b": "together-meta-llama/Llama-3-70b-chat-hf",
    "vllm-llama-3-8b": "vllm-meta-llama/Meta-Llama-3-8B-Instruct",
}
"""Upstream's short names, expanded before anything else is tried."""


def _prefix(text: str) -> Callable[[str], str | None]:
    """A rule part: names starting with ``text`` give the rest of the name as the model."""
    return lambda name: name[len(text) :] if name.startswith(text) else None


def _containing(*texts: str) -> Callable[[str], str | None]:
    """A rule part: names containing any of ``texts`` are the model's name as they are."""
    return lambda name: name if any(text in name for text in texts) else None


def _starting(*texts: str) -> Callable[[str], str | None]:
    """A rule part: names starting with any of ``texts`` are the model's name as they are."""
    return lambda name: name if name.startswith(texts) else None


UPSTREAM_RULES: tuple[tuple[Callable[[str], str | None], str], ...] = (
    (_prefix("experimental:"), "litellm"),
    (_prefix("azure-"), "azure"),
    (_prefix("together-"), "together"),
    (_prefix("groq-"), "groq"),
    (_prefix("ollama-"), "ollama"),
    (_prefix("vllm-"), "vllm"),
    (_containing("gpt-4", "gpt-3.5", "gpt-35"), "openai"),
    (_starting("gpt-", "chatgpt-", "o1", "o3", "o4-"), "openai"),
    (_containing("claude"), "anthropic"),
    (_containing("gemini"), "gemini"),
)
"""Upstream-style names, tried in order: (match giving the model name or None, provider)."""

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


def resolve_name(name: str) -> tuple[str, str]:
    """``(provider, model)`` for a built-in engine name, e.g. ``gpt-4o`` → ``("openai", "gpt-4o")``.

    Raises :class:`ConfigurationError` for a name no rule accepts.
    """
    name = SHORTCUTS.get(name, name)
    provider, slash, model = name.partition("/")
    if provider in PROVIDERS and (slash or provider in ("local", "scripted")):
        return provider, model
    for match, rule_provider in UPSTREAM_RULES:
        found = match(name)
        if found is not None:
            return rule_provider, found
    raise ConfigurationError(
        f"unknown engine name {name!r}. Use 'provider/model' with a provider among "
        f"{', '.join(sorted(PROVIDERS))} (e.g. 'openai/gpt-4o-mini', 'ollama/llama3.2', "
        "'openai/my-model' with base_url=...), an upstream name such as 'gpt-4o' or "
        "'claude-3-5-sonnet-20240620', or register your own with "
        "wordgrad.engine.register_engine(name, factory)"
    )


def get_engine(engine_name: str | EngineLM | None = None, **kwargs: Any) -> EngineLM:
    """The engine called ``engine_name``; an engine instance is returned unchanged.

    Keyword arguments go to the engine: ``base_url``, ``api_key``, ``cache``, ``retry``,
    ``max_concurrency``, ``requests_per_minute``, ``capabilities`` and default sampling
    parameters (``temperature=...``). Also callable as ``get_engine(engine_name=...)``.
    """
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
    provider, model = resolve_name(name)
    return PROVIDERS[provider].build(model, kwargs)


_default: EngineLM | None = None
_default_lock = threading.Lock()


def default_engine() -> EngineLM:
    """The engine used when none was given or set anywhere: the embedded local model.

    It is built once per process, with a one-line notice on the ``wordgrad`` logger saying how
    to pick a stronger model. When it cannot run, :class:`NoEngineError` names both fixes.
    """
    global _default
    with _default_lock:
        if _default is None:
            from wordgrad.engine import local

            problem = local.unavailable_reason()
            if problem is not None:
                raise NoEngineError(
                    f"no engine was given or set, and the embedded default cannot run: {problem}. "
                    "Either install it with pip install 'wordgrad[local]', or set an engine: "
                    "tg.set_backward_engine(tg.get_engine('gpt-4o-mini')) or pass engine=..."
                )
            _default = local.LocalEngine()
            logger.warning(
                "wordgrad: no engine set; using the small embedded model %s. For better "
                "results pick a stronger one: tg.set_backward_engine(tg.get_engine('gpt-4o')), "
                "any 'provider/model' name, or WORDGRAD_LOCAL_MODEL=/path/to/model.gguf",
                _default.model_string,
            )
        return _default
