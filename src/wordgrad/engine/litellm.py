"""Any model LiteLLM can route to (``pip install 'wordgrad[litellm]'``).

Names are LiteLLM's own (``anthropic/claude-...``, ``bedrock/...``, ``openai/<model>`` with
``base_url``, ...); upstream's ``experimental:<name>`` form maps here. LiteLLM's retries are off
(``num_retries=0``) and its exceptions, which subclass the openai SDK's, become
:mod:`wordgrad.errors` classes. Unlike upstream's LiteLLM engine, sampling parameters and the
response format are sent.

LiteLLM fetches a price list from the internet when it is imported unless
``LITELLM_LOCAL_MODEL_COST_MAP`` is set; wordgrad sets it (if unset) before the first import, so
nothing goes over the network until a request is sent.
"""

from __future__ import annotations

import os
import time
from typing import Any, cast

from wordgrad.engine._sdk import import_sdk, map_stainless_error, map_transport_error
from wordgrad.engine.base import EngineLM, attempt_timeout
from wordgrad.engine.openai_compat import (
    chat_arguments,
    chat_completion_response,
    openai_response_format,
)
from wordgrad.llm import Capabilities, Request, Response


class LiteLLMEngine(EngineLM):
    """A model called through ``litellm.completion``.

    Args:
        model_string: LiteLLM's name for the model, e.g. ``anthropic/claude-3-5-haiku-latest``.
        system_prompt: used when a call gives none.
        is_multimodal: whether to send images (default True, as upstream).
        api_key: passed to LiteLLM; by default it reads the provider's usual variable.
        base_url: the server's address (LiteLLM's ``api_base``).
        **kwargs: the pipeline's options and default sampling parameters.
    """

    provider = "litellm"

    def __init__(
        self,
        model_string: str = "gpt-4o-mini",
        system_prompt: str | None = None,
        is_multimodal: bool | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        self._litellm = cast(Any, import_sdk("litellm", extra="litellm"))
        self._litellm.suppress_debug_info = True  # no "Give Feedback" banners on stdout
        self._openai = import_sdk("openai", extra="litellm")
        self._api_key = api_key
        self._base_url = base_url
        kwargs.setdefault("temperature", 0.0)
        super().__init__(model_string, system_prompt, **kwargs)
        if is_multimodal is not None:
            self.is_multimodal = is_multimodal

    def default_capabilities(self) -> Capabilities:
        """Structured output and images (as upstream's LiteLLM engine assumes); the executor
        steps down to plain text when the model rejects JSON."""
        return Capabilities(structured_output=True, images=True)

    @property
    def cache_namespace(self) -> str:
        return f"{self.provider}@{self._base_url or ''}"

    def call_arguments(self, request: Request) -> dict[str, Any]:
        """The keyword arguments for ``litellm.completion``."""
        arguments = chat_arguments(request)
        arguments.update(model=self.model_string, num_retries=0, max_retries=0)
        arguments["timeout"] = attempt_timeout(self)
        if self._api_key:
            arguments["api_key"] = self._api_key
        if self._base_url:
            arguments["api_base"] = self._base_url
        fmt = request.response_format
        if fmt is not None and fmt.kind != "text":
            arguments["response_format"] = openai_response_format(fmt)
        arguments.update(request.extra)
        return arguments

    def complete(self, request: Request) -> Response:
        arguments = self.call_arguments(request)
        started = time.perf_counter()
        try:
            raw = self._litellm.completion(**arguments)
        except Exception as error:
            mapped = map_stainless_error(
                error, self._openai, provider=self.name, secrets=(self._api_key,)
            ) or map_transport_error(error, provider=self.name)
            if mapped is None:
                raise
        else:
            return chat_completion_response(raw, request, provider=self.name, started=started)
        raise mapped  # outside the handler: the SDK's error (which may echo the key) is not chained
