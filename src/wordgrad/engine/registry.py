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

import difflib
import importlib
import inspect
import logging
import threading
from collections.abc import Callable, Iterable
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
    "bedrock": Provider("bedrock", "BedrockEngine"),
    "cohere": Provider("cohere", "CohereEngine"),
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


def _one_of(*names: str) -> Callable[[str], str | None]:
    """A rule part: exactly one of ``names``, as it is."""
    return lambda name: name if name in names else None


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
    (_one_of("command-r-plus", "command-r", "command", "command-light"), "cohere"),
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


_UPSTREAM_PREFIXES = ("experimental:", "azure-", "together-", "groq-", "ollama-", "vllm-")


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def resolve_name(name: str) -> tuple[str, str]:
    """``(provider, model)`` for a built-in engine name, e.g. ``gpt-4o`` → ``("openai", "gpt-4o")``.

    Raises :class:`ConfigurationError` for a name no rule accepts, a ``provider/model`` name with
    an unknown provider (``opnai/gpt-4o``), and a provider prefix with no model after it
    (``openai/``, ``ollama-``).
    """
    name = SHORTCUTS.get(name, name)
    provider, slash, model = name.partition("/")
    if provider in PROVIDERS and (slash or provider in ("local", "scripted")):
        if slash and not model.strip():
            raise ConfigurationError(
                f"{name!r} names the provider {provider!r} but no model after the '/'; "
                f"write '{provider}/<model>', e.g. "
                f"{_EXAMPLES.get(provider, provider + '/my-model')!r}"
            )
        return provider, model
    upstream_prefix = name.startswith(_UPSTREAM_PREFIXES)
    if slash and not upstream_prefix:
        raise ConfigurationError(
            f"unknown provider {provider!r} in engine name {name!r}"
            f"{_did_you_mean(provider, PROVIDERS)}; known providers: "
            f"{', '.join(sorted(PROVIDERS))}, or register your own with "
            "wordgrad.engine.register_engine(name, factory)"
        )
    for match, rule_provider in UPSTREAM_RULES:
        found = match(name)
        if found is not None:
            if not found.strip():
                raise ConfigurationError(
                    f"{name!r} has no model name after its prefix; e.g. "
                    f"{name + 'llama3.2' if name.endswith('-') else name + 'gpt-4o'!r}"
                )
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
    return PROVIDERS[provider].build(model, checked_kwargs(name, PROVIDERS[provider], kwargs))


SAMPLING_PARAMETERS = frozenset(
    {
        "temperature",
        "max_tokens",
        "max_completion_tokens",
        "top_p",
        "top_k",
        "min_p",
        "seed",
        "stop",
        "n",
        "sample",
        "response_format",
        "frequency_penalty",
        "presence_penalty",
        "repeat_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "reasoning_effort",
        "user",
    }
)
"""Request parameters ``get_engine`` accepts as an engine's defaults. Others go in
``extra_body={...}``, which is sent as it is."""

_EXAMPLES = {"openai": "openai/gpt-4o-mini", "ollama": "ollama/llama3.2", "local": "local"}


def constructor_parameters(engine_class: type) -> set[str]:
    """The keyword names the constructors of ``engine_class`` and its bases take."""
    names: set[str] = set()
    for cls in engine_class.__mro__:
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters.values()
        names |= {
            p.name
            for p in parameters
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self"
        }
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            break
    return names


def checked_kwargs(name: str, provider: Provider, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` for ``provider``'s engine, with ``extra_body`` merged in, after checking.

    Raises:
        ConfigurationError: a keyword neither the engine nor the request knows (``temprature=``,
            ``base_ur=``; with the closest known name), or a ``cache=`` of the wrong type.
    """
    from wordgrad.engine.kvcache import check_cache_setting

    kwargs = dict(kwargs)
    extra_body = kwargs.pop("extra_body", None) or {}
    if not isinstance(extra_body, dict):
        raise ConfigurationError(f"extra_body must be a dict, got {type(extra_body).__name__}")
    engine_class = getattr(
        importlib.import_module(f"wordgrad.engine.{provider.module}"), provider.cls
    )
    known = (constructor_parameters(engine_class) | SAMPLING_PARAMETERS) - set(provider.preset)
    unknown = sorted(set(kwargs) - known)
    if unknown:
        hints = "".join(_did_you_mean(word, known) for word in unknown)
        raise ConfigurationError(
            f"get_engine({name!r}) got unknown keyword argument(s) {unknown}{hints}. It takes "
            f"{', '.join(sorted(known))}; pass other request fields as extra_body={{...}}"
        )
    if "cache" in kwargs:
        check_cache_setting(kwargs["cache"])
    return {**kwargs, **extra_body}


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
