"""Upstream's ``textgrad.engine.openai``: the OpenAI engines under their upstream names.

``ChatOpenAI`` and ``BaseOpenAIEngine`` are :class:`~wordgrad.engine.OpenAICompatibleEngine`;
``AzureChatOpenAI`` is :class:`~wordgrad.engine.AzureOpenAIEngine`.
"""

from wordgrad.engine.openai_compat import (
    SERVICES,
    AzureChatOpenAI,
    ChatOpenAI,
    OpenAICompatibleEngine,
)

BaseOpenAIEngine = OpenAICompatibleEngine
"""The main branch's base class of the OpenAI engines."""

OLLAMA_BASE_URL = SERVICES["ollama"].base_url
"""Ollama's default address (``OLLAMA_BASE_URL`` in the environment overrides it at run time)."""

__all__ = ["OLLAMA_BASE_URL", "AzureChatOpenAI", "BaseOpenAIEngine", "ChatOpenAI"]
