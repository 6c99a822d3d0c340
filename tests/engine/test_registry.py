"""``get_engine``: upstream names, ``provider/model`` names, clear errors, the default engine."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import pytest

import wordgrad.engine.registry as registry
from wordgrad.engine import (
    AnthropicEngine,
    AzureOpenAIEngine,
    GeminiEngine,
    OpenAICompatibleEngine,
    ScriptedEngine,
    get_engine,
    register_engine,
    unregister_engine,
)
from wordgrad.errors import ConfigurationError, NoEngineError


@pytest.mark.parametrize(
    ("name", "provider", "model"),
    [
        ("gpt-4o", "openai", "gpt-4o"),
        ("gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("gpt-3.5-turbo-0125", "openai", "gpt-3.5-turbo-0125"),
        ("ft:gpt-4o-mini:acme::abc", "openai", "ft:gpt-4o-mini:acme::abc"),
        ("o3-mini", "openai", "o3-mini"),
        ("azure-my-deployment", "azure", "my-deployment"),
        ("claude-3-5-sonnet-20240620", "anthropic", "claude-3-5-sonnet-20240620"),
        ("opus", "anthropic", "claude-3-opus-20240229"),
        ("haiku", "anthropic", "claude-3-haiku-20240307"),
        ("sonnet", "anthropic", "claude-3-sonnet-20240229"),
        ("sonnet-3.5", "anthropic", "claude-3-5-sonnet-20240620"),
        ("gemini-1.5-pro", "gemini", "gemini-1.5-pro"),
        ("together-meta-llama/Llama-3-70b-chat-hf", "together", "meta-llama/Llama-3-70b-chat-hf"),
        ("together-llama-3-70b", "together", "meta-llama/Llama-3-70b-chat-hf"),
        ("groq-llama3-70b-8192", "groq", "llama3-70b-8192"),
        ("ollama-llama3.2", "ollama", "llama3.2"),
        ("vllm-llama-3-8b", "vllm", "meta-llama/Meta-Llama-3-8B-Instruct"),
        ("experimental:anthropic/claude-3-haiku", "litellm", "anthropic/claude-3-haiku"),
        ("openai/my-model", "openai", "my-model"),
        ("azure/dep", "azure", "dep"),
        ("anthropic/claude-x", "anthropic", "claude-x"),
        ("gemini/gemini-2.0-flash", "gemini", "gemini-2.0-flash"),
        ("litellm/bedrock/anthropic.claude-v2", "litellm", "bedrock/anthropic.claude-v2"),
        ("openrouter/meta-llama/llama-3.1-8b", "openrouter", "meta-llama/llama-3.1-8b"),
        ("deepseek/deepseek-chat", "deepseek", "deepseek-chat"),
        ("lmstudio/qwen", "lmstudio", "qwen"),
        ("llamacpp/any", "llamacpp", "any"),
        ("vllm/Qwen/Qwen2.5-7B", "vllm", "Qwen/Qwen2.5-7B"),
        ("local", "local", ""),
        ("local//models/x.gguf", "local", "/models/x.gguf"),
        ("scripted", "scripted", ""),
    ],
)
def test_names_resolve(name: str, provider: str, model: str) -> None:
    assert registry.resolve_name(name) == (provider, model)


def test_unknown_names_list_what_is_accepted() -> None:
    with pytest.raises(ConfigurationError) as caught:
        get_engine("nonsense-model")
    message = str(caught.value)
    assert "provider/model" in message and "openrouter" in message and "gpt-4o" in message
    with pytest.raises(ConfigurationError):
        get_engine("")


def test_engines_are_built_with_their_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-a")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-b")
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-c")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "d")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://example.openai.azure.com")

    assert isinstance(get_engine("gpt-4o"), OpenAICompatibleEngine)
    assert isinstance(get_engine(engine_name="sonnet"), AnthropicEngine)  # upstream's keyword
    gemini = get_engine("gemini-2.0-flash")
    assert isinstance(gemini, GeminiEngine)
    gemini.close()
    azure = get_engine("azure-prod-gpt4o")
    assert isinstance(azure, AzureOpenAIEngine)
    assert (azure.provider, azure.model_string) == ("azure", "prod-gpt4o")
    ollama = get_engine("ollama/llama3.2")
    assert ollama.provider == "ollama"
    assert isinstance(ollama, OpenAICompatibleEngine)
    assert ollama.base_url == "http://localhost:11434/v1/"
    assert ollama.cache_namespace != get_engine("vllm/llama3.2").cache_namespace


def test_base_url_env_vars_of_local_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://127.0.0.1:9999/v1")
    engine = get_engine("ollama-llama3")
    assert isinstance(engine, OpenAICompatibleEngine)
    assert engine.base_url.startswith("http://127.0.0.1:9999/v1")


def test_azure_needs_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "d")
    with pytest.raises(ConfigurationError, match="AZURE_OPENAI_ENDPOINT"):
        get_engine("azure/x")


def test_an_engine_instance_passes_through_and_kwargs_reach_the_engine() -> None:
    engine = ScriptedEngine()
    assert get_engine(engine) is engine
    built = get_engine("scripted/m1", temperature=0.3, max_concurrency=2)
    assert isinstance(built, ScriptedEngine)
    assert (built.model_string, built.default_params, built.max_concurrency) == (
        "m1",
        {"temperature": 0.3},
        2,
    )


def test_registered_names_win(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, Any]] = []

    def factory(**kwargs: Any) -> ScriptedEngine:
        made.append(kwargs)
        return ScriptedEngine(**kwargs)

    register_engine("mylab/", factory)
    register_engine("gpt-4o", factory)
    try:
        assert get_engine("mylab/model-7b").model_string == "model-7b"
        get_engine("gpt-4o")
        assert made == [{"model_string": "model-7b"}, {}]
    finally:
        unregister_engine("mylab/")
        unregister_engine("gpt-4o")


def test_a_missing_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)  # as if it were not installed
    with pytest.raises(ConfigurationError, match=r"pip install 'wordgrad\[anthropic\]'"):
        get_engine("claude-3-haiku-20240307", api_key="x")


def test_importing_wordgrad_loads_no_provider_sdk() -> None:
    script = (
        "import sys, wordgrad, wordgrad.engine; "
        "heavy = [m for m in ('openai', 'anthropic', 'google.genai', 'litellm', 'llama_cpp') "
        "if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", script], check=True)


def test_default_engine_without_the_local_model_names_both_fixes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wordgrad.engine import local

    monkeypatch.setattr(registry, "_default", None)
    monkeypatch.setattr(local, "unavailable_reason", lambda: "llama-cpp-python is not installed")
    with pytest.raises(NoEngineError) as caught:
        registry.default_engine()
    message = str(caught.value)
    assert "pip install 'wordgrad[local]'" in message
    assert "set_backward_engine" in message


def test_default_engine_is_one_local_engine_announced_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from wordgrad.engine import local

    built: list[object] = []

    class FakeLocal(ScriptedEngine):
        def __init__(self) -> None:
            super().__init__(model_string="SmolLM2.gguf")
            built.append(self)

    monkeypatch.setattr(registry, "_default", None)
    monkeypatch.setattr(local, "unavailable_reason", lambda: None)
    monkeypatch.setattr(local, "LocalEngine", FakeLocal)
    with caplog.at_level(logging.INFO, logger="wordgrad"):
        first = registry.default_engine()
        second = registry.default_engine()

    assert first is second is built[0]
    notices = [r.getMessage() for r in caplog.records if r.name == "wordgrad"]
    assert len(notices) == 1
    assert "get_engine" in notices[0] and "WORDGRAD_LOCAL_MODEL" in notices[0]
