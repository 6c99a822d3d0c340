"""Upstream's ``textgrad.engine_experimental.litellm``: :class:`wordgrad.engine.LiteLLMEngine`."""

from wordgrad.engine.litellm import LiteLLMEngine

__all__ = ["LiteLLMEngine"]
