"""Claude models through Anthropic's official SDK (``pip install 'wordgrad[anthropic]'``).

The Messages API takes the system prompt as its own parameter and requires ``max_tokens``.
JSON and JSON-schema response formats become ``output_config={"format": {"type":
"json_schema", ...}}``. The SDK's own retries are off; its errors become :mod:`wordgrad.errors`
classes.
"""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING, Any

from wordgrad.engine._sdk import (
    find_key,
    import_sdk,
    malformed,
    map_stainless_error,
    reported_usage,
)
from wordgrad.engine.base import EngineLM, attempt_timeout
from wordgrad.llm import Capabilities, ImagePart, Message, Request, Response

if TYPE_CHECKING:
    import anthropic

DEFAULT_MAX_TOKENS = 4096
"""The API requires a reply limit; this is used when a request sets none."""


class AnthropicEngine(EngineLM):
    """Claude through the Messages API.

    Args:
        model_string: e.g. ``claude-sonnet-4-5`` or ``claude-3-5-sonnet-20240620``.
        system_prompt: used when a call gives none.
        is_multimodal: whether to send images (default True: Claude models read them).
        api_key: default ``ANTHROPIC_API_KEY``.
        base_url: another address for the API (a proxy; tests).
        client: your own ``anthropic.Anthropic`` client (copied with ``max_retries=0``).
        http_client: an ``httpx2.Client`` for the SDK.
        **kwargs: the pipeline's options and default sampling parameters.
    """

    provider = "anthropic"

    def __init__(
        self,
        model_string: str = "claude-sonnet-4-5",
        system_prompt: str | None = None,
        is_multimodal: bool | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        client: anthropic.Anthropic | None = None,
        http_client: Any = None,
        **kwargs: Any,
    ) -> None:
        self._sdk = import_sdk("anthropic", extra="anthropic")
        if client is not None:
            self._client = client.with_options(max_retries=0)
        else:
            self._client = self._sdk.Anthropic(
                api_key=find_key(api_key, ["ANTHROPIC_API_KEY"], what="the Anthropic engine"),
                base_url=base_url,
                max_retries=0,
                http_client=http_client,
            )
        self._secrets = (self._client.api_key,)
        kwargs.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        super().__init__(model_string, system_prompt, **kwargs)
        if is_multimodal is not None:
            self.is_multimodal = is_multimodal

    def default_capabilities(self) -> Capabilities:
        return Capabilities(
            max_context_tokens=200_000, structured_output=True, images=True, prefix_cache=True
        )

    @property
    def cache_namespace(self) -> str:
        return f"{self.provider}@{self._client.base_url}"

    def complete(self, request: Request) -> Response:
        arguments = self.call_arguments(request)
        started = time.perf_counter()
        texts: list[str] = []
        prompt_tokens: int | None = None
        cached_tokens = 0
        completion_tokens = 0
        for _ in range(request.n):  # the API returns one reply per call
            raw = self._create(arguments)
            blocks = getattr(raw, "content", None)
            if blocks is None:
                raise malformed(self.name, "content", raw)
            texts.append("".join(b.text for b in blocks if getattr(b, "type", "") == "text"))
            usage = getattr(raw, "usage", None)
            prompt_tokens = getattr(usage, "input_tokens", None)
            # Anthropic counts cache reads and writes apart from input_tokens.
            cached_tokens = _count(getattr(usage, "cache_read_input_tokens", None))
            if prompt_tokens is not None:
                prompt_tokens += cached_tokens + _count(
                    getattr(usage, "cache_creation_input_tokens", None)
                )
            completion_tokens += getattr(usage, "output_tokens", 0) or 0
        return Response(
            texts=tuple(texts),
            usage=reported_usage(request, texts, prompt_tokens, completion_tokens, cached_tokens),
            model=getattr(raw, "model", None) or self.model_string,
            latency_s=time.perf_counter() - started,
        )

    def call_arguments(self, request: Request) -> dict[str, Any]:
        """The keyword arguments for ``client.messages.create`` (without the time-out)."""
        system = "\n\n".join(m.text for m in request.messages if m.role == "system")
        mark = request.shared_prefix
        arguments: dict[str, Any] = {
            "model": self.model_string,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": [
                _message(m, mark[1] if mark is not None and mark[0] == i else None)
                for i, m in enumerate(request.messages)
                if m.role != "system"
            ],
        }
        if system and mark is not None and request.messages[mark[0]].role == "system":
            # The shared part ends in the system prompt: cache the system prompt.
            arguments["system"] = [{"type": "text", "text": system, "cache_control": _EPHEMERAL}]
        elif system:
            arguments["system"] = system
        if request.stop is not None:
            arguments["stop_sequences"] = list(request.stop)
        # The SDK no longer lists sampling parameters; older models still take them in the body.
        extra_body = {
            name: value
            for name, value in (("temperature", request.temperature), ("top_p", request.top_p))
            if value is not None
        }
        extra_body.update(request.extra)
        if extra_body:
            arguments["extra_body"] = extra_body
        fmt = request.response_format
        if fmt is not None and fmt.kind in ("json", "json_schema"):
            schema = dict(fmt.schema) if fmt.schema is not None else {"type": "object"}
            arguments["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        return arguments

    def _create(self, arguments: dict[str, Any]) -> Any:
        try:
            return self._client.messages.create(**arguments, timeout=attempt_timeout(self))
        except Exception as error:
            mapped = map_stainless_error(
                error, self._sdk, provider=self.name, secrets=self._secrets
            )
            if mapped is None:
                raise
        raise mapped  # outside the handler: the SDK's error (which may echo the key) is not chained


ChatAnthropic = AnthropicEngine
"""Upstream's name for the Anthropic engine."""


_EPHEMERAL = {"type": "ephemeral"}
"""Anthropic's prompt-cache marker: the prompt up to and including the marked block is cached."""


def _message(message: Message, cache_up_to: int | None = None) -> dict[str, Any]:
    """The message in the Messages API's form; with ``cache_up_to``, its text is split there and
    the first part carries a prompt-cache marker (Anthropic's explicit prompt caching)."""
    blocks: list[dict[str, Any]] = []
    if isinstance(message.content, str):
        text = message.content
        if cache_up_to is None or not 0 < cache_up_to <= len(text):
            return {"role": message.role, "content": text}
        blocks.append({"type": "text", "text": text[:cache_up_to], "cache_control": _EPHEMERAL})
        if text[cache_up_to:]:
            blocks.append({"type": "text", "text": text[cache_up_to:]})
        return {"role": message.role, "content": blocks}
    for part in message.content:
        if isinstance(part, ImagePart):
            data = base64.b64encode(part.data).decode("ascii")
            source = {"type": "base64", "media_type": part.mime_type, "data": data}
            blocks.append({"type": "image", "source": source})
        else:
            blocks.append({"type": "text", "text": part})
    return {"role": message.role, "content": blocks}


def _count(value: Any) -> int:
    """A token count the SDK reported, or 0 when it reported none."""
    return value if isinstance(value, int) else 0
