"""Upstream's ``textgrad.engine.together``: Together AI's OpenAI-compatible API
(``TOGETHER_API_KEY``)."""

from __future__ import annotations

from typing import Any

from wordgrad.engine.openai_compat import OpenAICompatibleEngine


class ChatTogether(OpenAICompatibleEngine):
    """Together AI's models; ``ChatTogether(m)`` is ``get_engine("together/" + m)``."""

    def __init__(
        self,
        model_string: str = "meta-llama/Llama-3-70b-chat-hf",
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("service", "together")
        super().__init__(model_string.removeprefix("together-"), system_prompt, **kwargs)


__all__ = ["ChatTogether"]
