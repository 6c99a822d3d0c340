"""Upstream's ``textgrad.engine_experimental``: its engines under their upstream names.

``OpenAIEngine`` is :class:`~wordgrad.engine.OpenAICompatibleEngine`; ``LiteLLMEngine`` is
:class:`~wordgrad.engine.LiteLLMEngine`. Their ``cache=`` takes ``True``/``False``, a path, or
your own ``diskcache.Cache``.
"""

from wordgrad.engine_experimental.litellm import LiteLLMEngine
from wordgrad.engine_experimental.openai import OpenAIEngine

__all__ = ["LiteLLMEngine", "OpenAIEngine"]
