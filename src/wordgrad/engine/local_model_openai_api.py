"""Upstream's ``textgrad.engine.local_model_openai_api``: an engine around your own client.

``ChatExternalClient(client, model_string)`` wraps any OpenAI-compatible ``openai.OpenAI`` client
(vLLM, Ollama, LM Studio, llama.cpp's server ...); see
:class:`~wordgrad.engine.openai_compat.ChatExternalClient`.
"""

import logging

from wordgrad.engine.openai_compat import ChatExternalClient

logger = logging.getLogger("wordgrad.engine")

__all__ = ["ChatExternalClient", "logger"]
