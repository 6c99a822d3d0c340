"""Cohere's Command models through Cohere's official SDK (``pip install 'wordgrad[cohere]'``).

Calls go to the v2 Chat API (``ClientV2.chat``): system and user messages, ``p`` for top-p,
``stop_sequences``, and ``response_format={"type": "json_object", "json_schema": ...}`` for JSON
updates. The SDK's own retries are off; its HTTP errors become :mod:`wordgrad.errors` classes.
The key comes from ``api_key=`` or ``COHERE_API_KEY`` (``CO_API_KEY`` also works).
"""

from __future__ import annotations

import math
import time
from typing import Any

from wordgrad.engine._sdk import (
    find_key,
    import_sdk,
    malformed,
    map_transport_error,
    redact,
    reported_usage,
    strict_json,
)
from wordgrad.engine.base import EngineLM, attempt_timeout
from wordgrad.engine.openai_compat import data_url
from wordgrad.engine.retry import error_for_status, parse_retry_after
from wordgrad.errors import EngineError
from wordgrad.llm import Capabilities, ImagePart, Message, Request, Response

# Context windows by model family (longest matching prefix), from Cohere's model pages.
_CONTEXT = {
    "command-a": 256_000,
    "command-r": 128_000,
    "command-r7b": 128_000,
    "command-light": 4_096,
    "command": 4_096,
    "c4ai-aya": 8_192,
}


class CohereEngine(EngineLM):
    """Cohere chat models (``command-r-plus``, ``command-a-03-2025``, ``command-a-vision``...).

    Args:
        model_string: the model's name.
        system_prompt: used when a call gives none.
        is_multimodal: whether the model takes images (default: its name says ``vision``).
        api_key: default ``COHERE_API_KEY`` or ``CO_API_KEY``.
        base_url: another address for the API (a proxy; tests).
        client: your own ``cohere.ClientV2``.
        **kwargs: the pipeline's options and default sampling parameters.
    """

    provider = "cohere"

    def __init__(
        self,
        model_string: str = "command-r-plus",
        system_prompt: str | None = None,
        is_multimodal: bool | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        client: Any = None,
        **kwargs: Any,
    ) -> None:
        self._sdk = import_sdk("cohere", extra="cohere")
        self._api_error: type[Exception] = import_sdk(
            "cohere.core.api_error", extra="cohere", package="cohere"
        ).ApiError
        if client is None:
            key = find_key(api_key, ["COHERE_API_KEY", "CO_API_KEY"], what="the Cohere engine")
            client = self._sdk.ClientV2(
                api_key=key,
                base_url=base_url,
                max_retries=0,
                log_warning_experimental_features=False,
            )
            self._secrets: tuple[str | None, ...] = (key,)
        else:
            self._secrets = (api_key,)
        self._client = client
        self._base_url = base_url or "https://api.cohere.com"
        kwargs.setdefault("temperature", 0.0)
        super().__init__(model_string, system_prompt, **kwargs)
        if is_multimodal is not None:
            self.is_multimodal = is_multimodal

    def default_capabilities(self) -> Capabilities:
        """Context window by model family (:data:`_CONTEXT`, from Cohere's model pages), JSON
        replies, and images for the ``vision`` models."""
        model = self.model_string
        family = max((p for p in _CONTEXT if model.startswith(p)), key=len, default=None)
        return Capabilities(
            max_context_tokens=_CONTEXT[family] if family else None,
            structured_output=True,
            images="vision" in model,
        )

    @property
    def cache_namespace(self) -> str:
        return f"{self.provider}@{self._base_url}"

    def call_arguments(self, request: Request) -> dict[str, Any]:
        """The keyword arguments for ``ClientV2.chat`` (without request options)."""
        arguments: dict[str, Any] = {
            "model": self.model_string,
            "messages": [_message(m) for m in request.messages],
        }
        for ours, theirs in (
            ("temperature", "temperature"),
            ("max_tokens", "max_tokens"),
            ("top_p", "p"),
            ("seed", "seed"),
        ):
            value = getattr(request, ours)
            if value is not None:
                arguments[theirs] = value
        if request.stop is not None:
            arguments["stop_sequences"] = list(request.stop)
        extra = dict(request.extra)
        if "top_k" in extra:
            arguments["k"] = extra.pop("top_k")
        arguments.update(extra)
        fmt = request.response_format
        if fmt is not None and fmt.kind in ("json", "json_schema"):
            arguments["response_format"] = {"type": "json_object"}
            if fmt.schema is not None:
                arguments["response_format"]["json_schema"] = dict(fmt.schema)
        return arguments

    def complete(self, request: Request) -> Response:
        arguments = self.call_arguments(request)
        started = time.perf_counter()
        texts: list[str] = []
        prompt_tokens: int | None = None
        completion_tokens = 0
        for _ in range(request.n):  # one reply per call
            raw = self._chat(arguments)
            message = getattr(raw, "message", None)
            content = getattr(message, "content", None)
            if content is None:
                raise malformed(self.name, "message content", raw)
            text = "".join(
                getattr(part, "text", "") for part in content if getattr(part, "type", "") == "text"
            )
            texts.append(strict_json(text, request))
            tokens = getattr(getattr(raw, "usage", None), "tokens", None)
            if tokens is not None and tokens.input_tokens is not None:
                prompt_tokens = int(tokens.input_tokens)
                completion_tokens += int(tokens.output_tokens or 0)
        return Response(
            texts=tuple(texts),
            usage=reported_usage(request, texts, prompt_tokens, completion_tokens),
            model=self.model_string,
            latency_s=time.perf_counter() - started,
        )

    def _chat(self, arguments: dict[str, Any]) -> Any:
        limit = attempt_timeout(self)
        options = {"timeout_in_seconds": max(1, math.ceil(limit))} if limit else None
        try:
            return self._client.chat(**arguments, request_options=options)
        except Exception as error:
            status = getattr(error, "status_code", None)
            if isinstance(error, self._api_error) and status is not None:
                message = f"{self.name}: {redact(str(getattr(error, 'body', '')), self._secrets)}"
                headers = getattr(error, "headers", None)
                mapped: EngineError | None = error_for_status(
                    int(status), message, retry_after=parse_retry_after(headers)
                )
            else:
                mapped = map_transport_error(error, provider=self.name)
            if mapped is None:
                raise
        raise mapped  # outside the handler: the SDK's error (which may echo the key) is not chained


ChatCohere = CohereEngine
"""Upstream's name for the Cohere engine."""


def _message(message: Message) -> dict[str, Any]:
    if isinstance(message.content, str):
        return {"role": message.role, "content": message.content}
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, ImagePart):
            parts.append({"type": "image_url", "image_url": {"url": data_url(part)}})
        else:
            parts.append({"type": "text", "text": part})
    return {"role": message.role, "content": parts}


__all__ = ["ChatCohere", "CohereEngine"]
