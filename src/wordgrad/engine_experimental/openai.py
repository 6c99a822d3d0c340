"""Upstream's ``textgrad.engine_experimental.openai``.

``OpenAIEngine(model_string, system_prompt, is_multimodal, cache)`` is
:class:`~wordgrad.engine.OpenAICompatibleEngine`; ``OpenAICompatibleEngine(client, model_string,
...)`` takes your own client first, as upstream's did, and is
:class:`~wordgrad.engine.ChatExternalClient` (the client is copied, never changed).
"""

from wordgrad.engine.openai_compat import ChatExternalClient
from wordgrad.engine.openai_compat import OpenAICompatibleEngine as OpenAIEngine

OpenAICompatibleEngine = ChatExternalClient

__all__ = ["OpenAICompatibleEngine", "OpenAIEngine"]
