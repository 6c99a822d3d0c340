"""Gemini models through Google's ``google-genai`` SDK (``pip install 'wordgrad[gemini]'``).

System messages become ``system_instruction``; JSON and JSON-schema response formats become
``response_mime_type="application/json"`` with ``response_json_schema``. The SDK's retries are
off (one attempt); its errors become :mod:`wordgrad.errors` classes.
"""

from __future__ import annotations

import json
import time
from typing import Any

from wordgrad.engine._sdk import (
    find_key,
    import_sdk,
    malformed,
    map_transport_error,
    redact,
    reported_usage,
)
from wordgrad.engine.base import EngineLM, attempt_timeout
from wordgrad.engine.retry import error_for_status, parse_retry_after
from wordgrad.errors import EngineError, MalformedResponseError
from wordgrad.llm import Capabilities, ImagePart, Message, Request, Response


class GeminiEngine(EngineLM):
    """Gemini through the ``generateContent`` API.

    Args:
        model_string: e.g. ``gemini-2.0-flash``.
        system_prompt: used when a call gives none.
        is_multimodal: whether to send images (default True).
        api_key: default ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY``.
        base_url: another address for the API (a proxy; tests).
        **kwargs: the pipeline's options and default sampling parameters.
    """

    provider = "gemini"

    def __init__(
        self,
        model_string: str = "gemini-2.0-flash",
        system_prompt: str | None = None,
        is_multimodal: bool | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._sdk = import_sdk("google.genai", extra="gemini", package="google-genai")
        self._errors = import_sdk("google.genai.errors", extra="gemini", package="google-genai")
        key = find_key(api_key, ["GOOGLE_API_KEY", "GEMINI_API_KEY"], what="the Gemini engine")
        self._secrets = (key,)
        self._base_url = base_url or "https://generativelanguage.googleapis.com"
        http_options: dict[str, Any] = {"retry_options": {"attempts": 1}}
        if base_url is not None:
            http_options["base_url"] = base_url
        self._client = self._sdk.Client(api_key=key, http_options=http_options)
        kwargs.setdefault("temperature", 0.0)
        super().__init__(model_string, system_prompt, **kwargs)
        if is_multimodal is not None:
            self.is_multimodal = is_multimodal

    def default_capabilities(self) -> Capabilities:
        return Capabilities(
            max_context_tokens=1_000_000, structured_output=True, images=True, prefix_cache=True
        )

    @property
    def cache_namespace(self) -> str:
        return f"{self.provider}@{self._base_url}"

    def close(self) -> None:
        """Close the SDK's HTTP connections."""
        self._client.close()

    def complete(self, request: Request) -> Response:
        arguments = self.call_arguments(request)
        started = time.perf_counter()
        raw = self._create(arguments)
        candidates = getattr(raw, "candidates", None)
        if not candidates:
            raise malformed(self.name, "candidates", raw)
        texts = tuple(_candidate_text(candidate) for candidate in candidates)
        usage = getattr(raw, "usage_metadata", None)
        return Response(
            texts=texts,
            usage=reported_usage(
                request,
                texts,
                getattr(usage, "prompt_token_count", None),
                getattr(usage, "candidates_token_count", None),
                getattr(usage, "cached_content_token_count", None),
            ),
            model=getattr(raw, "model_version", None) or self.model_string,
            latency_s=time.perf_counter() - started,
        )

    def call_arguments(self, request: Request) -> dict[str, Any]:
        """The keyword arguments for ``client.models.generate_content``."""
        config: dict[str, Any] = {}
        system = "\n\n".join(m.text for m in request.messages if m.role == "system")
        if system:
            config["system_instruction"] = system
        for name, value in request.sampling_params().items():
            config[_GEMINI_NAMES.get(name, name)] = value
        fmt = request.response_format
        if fmt is not None and fmt.kind in ("json", "json_schema"):
            config["response_mime_type"] = "application/json"
            if fmt.schema is not None:
                config["response_json_schema"] = dict(fmt.schema)
        timeout = attempt_timeout(self)
        if timeout is not None:
            config["http_options"] = {"timeout": max(int(timeout * 1000), 1)}
        return {
            "model": self.model_string,
            "contents": [_content(m) for m in request.messages if m.role != "system"],
            "config": config,
        }

    def _create(self, arguments: dict[str, Any]) -> Any:
        # Errors are raised outside the handlers: the SDK's own (which may echo the key) are not
        # chained to ours.
        mapped: EngineError | None
        try:
            return self._client.models.generate_content(**arguments)
        except self._errors.APIError as error:
            headers = getattr(error.response, "headers", None)
            message = f"{self.name}: {redact(str(error), self._secrets)}"
            mapped = error_for_status(
                int(error.code), message, retry_after=parse_retry_after(headers)
            )
        except json.JSONDecodeError as error:
            mapped = MalformedResponseError(
                f"{self.name}: the provider's reply could not be parsed ({error})"
            )
        except Exception as error:
            mapped = map_transport_error(error, provider=self.name)
            if mapped is None:
                raise
        raise mapped


ChatGemini = GeminiEngine
"""Upstream's name for the Gemini engine."""


def _content(message: Message) -> dict[str, Any]:
    role = "model" if message.role == "assistant" else "user"
    if isinstance(message.content, str):
        return {"role": role, "parts": [{"text": message.content}]}
    parts: list[dict[str, Any]] = [
        {"inline_data": {"mime_type": part.mime_type, "data": part.data}}
        if isinstance(part, ImagePart)
        else {"text": part}
        for part in message.content
    ]
    return {"role": role, "parts": parts}


def _candidate_text(candidate: Any) -> str:
    parts = getattr(getattr(candidate, "content", None), "parts", None) or []
    return "".join(part.text for part in parts if isinstance(getattr(part, "text", None), str))


_GEMINI_NAMES = {
    "max_tokens": "max_output_tokens",
    "stop": "stop_sequences",
    "n": "candidate_count",
}
"""Our sampling parameters' names where Gemini's differ (the rest are the same)."""
