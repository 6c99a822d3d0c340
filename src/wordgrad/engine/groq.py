"""Upstream's ``textgrad.engine.groq``: Groq's OpenAI-compatible API (``GROQ_API_KEY``)."""

from __future__ import annotations

from typing import Any

from wordgrad.engine.openai_compat import OpenAICompatibleEngine


class ChatGroq(OpenAICompatibleEngine):
    """Groq's models through its OpenAI-compatible endpoint.

    ``ChatGroq("llama3-70b-8192")`` is ``get_engine("groq/llama3-70b-8192")``; a ``groq-``
    prefix (upstream's naming) is dropped.
    """

    def __init__(
        self, model_string: str = "llama3-70b-8192", system_prompt: str | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("service", "groq")
        super().__init__(model_string.removeprefix("groq-"), system_prompt, **kwargs)


__all__ = ["ChatGroq"]
