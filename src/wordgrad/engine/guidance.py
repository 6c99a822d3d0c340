"""Upstream's ``textgrad.engine.guidance``: the name, and where its job went.

Upstream's ``GuidanceEngine`` ran a Hugging Face model in-process under the ``guidance``
library, so that the optimizer's reply could be constrained to the right shape. wordgrad does
that for every engine that can: updates are requested as JSON under a schema
(``ResponseFormat("json_schema")``), which OpenAI, Anthropic, Gemini, Cohere, vLLM, llama.cpp's
server and the embedded local model enforce while decoding, and llama.cpp takes GBNF grammars.
So there is no separate engine to build; :class:`GuidanceEngine` says which one to use.
"""

from __future__ import annotations

from typing import Any

from wordgrad.engine.base import EngineLM
from wordgrad.errors import ConfigurationError

ALTERNATIVES = (
    "use any engine with structured output instead: tg.get_engine('local') (the embedded model, "
    "schema-constrained), 'llamacpp/<model>' or 'vllm/<model>' for a local server, or a hosted "
    "model such as 'gpt-4o-mini'. TGD then asks for JSON under a schema automatically, which is "
    "what guidance was used for; tg.optimizer.guidance_optimizer.GuidedTextualGradientDescent "
    "insists on it"
)


class GuidanceEngine(EngineLM):
    """Not available: building one raises :class:`ConfigurationError` naming what to use.

    Raises:
        ConfigurationError: always; see the module docs.
    """

    provider = "guidance"

    def __init__(self, model_string: str = "", *args: Any, **kwargs: Any) -> None:
        raise ConfigurationError(
            f"wordgrad has no guidance engine (asked for {model_string or 'one'!r}); "
            + ALTERNATIVES
        )


__all__ = ["GuidanceEngine"]
