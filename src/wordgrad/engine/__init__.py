"""Engines: the language models behind wordgrad, all behind one contract (:class:`EngineLM`).

Provider engines are importable from here (``from wordgrad.engine import OpenAICompatibleEngine``)
without loading their SDKs: each SDK is imported when its first engine is built.
"""

from wordgrad.engine.anthropic import AnthropicEngine, ChatAnthropic
from wordgrad.engine.base import DEFAULT_SYSTEM_PROMPT, EngineLM, RateLimiter
from wordgrad.engine.bedrock import BedrockEngine, ChatBedrockEngine
from wordgrad.engine.cache import ResponseCache
from wordgrad.engine.cohere import ChatCohere, CohereEngine
from wordgrad.engine.compat import CachedEngine, validate_multimodal_engine
from wordgrad.engine.gemini import ChatGemini, GeminiEngine
from wordgrad.engine.litellm import LiteLLMEngine
from wordgrad.engine.local import LocalEngine
from wordgrad.engine.openai_compat import (
    AzureChatOpenAI,
    AzureOpenAIEngine,
    ChatExternalClient,
    ChatOpenAI,
    OpenAICompatibleEngine,
)
from wordgrad.engine.registry import (
    default_engine,
    get_engine,
    register_engine,
    unregister_engine,
)
from wordgrad.engine.retry import RetryPolicy
from wordgrad.engine.sampling import sampled
from wordgrad.engine.scripted import ScriptedEngine, ScriptExhaustedError
from wordgrad.engine.usage import UsageMeter, set_price, track

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "AnthropicEngine",
    "AzureChatOpenAI",
    "AzureOpenAIEngine",
    "BedrockEngine",
    "CachedEngine",
    "ChatAnthropic",
    "ChatBedrockEngine",
    "ChatCohere",
    "ChatExternalClient",
    "ChatGemini",
    "ChatOpenAI",
    "CohereEngine",
    "EngineLM",
    "GeminiEngine",
    "LiteLLMEngine",
    "LocalEngine",
    "OpenAICompatibleEngine",
    "RateLimiter",
    "ResponseCache",
    "RetryPolicy",
    "ScriptExhaustedError",
    "ScriptedEngine",
    "UsageMeter",
    "default_engine",
    "get_engine",
    "register_engine",
    "sampled",
    "set_price",
    "track",
    "unregister_engine",
    "validate_multimodal_engine",
]
