"""OpenAI, Azure OpenAI and every OpenAI-compatible server, through the official ``openai`` SDK.

One adapter serves them all; a :class:`Service` row says where a service lives and which key it
needs (:data:`SERVICES`). The SDK is imported when the first engine is built, its own retries are
off (``max_retries=0``: :mod:`wordgrad.engine.retry` is the only retry layer), and its exceptions
become :mod:`wordgrad.errors` classes.

Structured output: a request arrives in the form the executor negotiated (``json_schema``, or
``json``, sent as ``{"type": "json_object"}`` with the schema beside it for servers other than
OpenAI, as llama.cpp takes it). Servers that take a GBNF grammar (llama.cpp) get it as the
``grammar`` body field.

Capabilities (context window, images, sampling parameters, the token-limit parameter's name) come
from the model's name wherever the server is, so ``gpt-4o`` behind ``OPENAI_BASE_URL`` still
takes images; pass ``capabilities=`` or ``is_multimodal=`` to say otherwise.
"""

from __future__ import annotations

import base64
import logging
import os
import time
import weakref
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from wordgrad.engine._sdk import (
    find_key,
    import_sdk,
    longest_prefix,
    malformed,
    map_stainless_error,
    reported_usage,
    strict_json,
    wall_clock_http_client,
)
from wordgrad.engine.base import EngineLM, attempt_timeout
from wordgrad.errors import ConfigurationError, ResponseFormatError
from wordgrad.llm import (
    Capabilities,
    ImagePart,
    Message,
    Request,
    Response,
    ResponseFormat,
)

if TYPE_CHECKING:
    import openai

logger = logging.getLogger("wordgrad.engine")

_PLACEHOLDER_KEY = "not-needed"
"""Sent to servers that take no key: the SDK refuses to run without one."""


@dataclass(frozen=True)
class Service:
    """An OpenAI-compatible service: its default address, and the key it needs.

    ``base_url=None`` means the SDK's own default (api.openai.com). ``base_url_env`` names an
    environment variable that overrides the address; ``key_env`` the one that holds the key.
    """

    name: str
    base_url: str | None
    base_url_env: str | None
    key_env: str | None
    key_required: bool = True
    grammar: bool = False
    """The server accepts a GBNF ``grammar`` field."""


SERVICES: dict[str, Service] = {
    service.name: service
    for service in (
        Service("openai", None, "OPENAI_BASE_URL", "OPENAI_API_KEY"),
        Service("together", "https://api.together.xyz/v1", None, "TOGETHER_API_KEY"),
        Service("groq", "https://api.groq.com/openai/v1", None, "GROQ_API_KEY"),
        Service("deepseek", "https://api.deepseek.com/v1", None, "DEEPSEEK_API_KEY"),
        Service("openrouter", "https://openrouter.ai/api/v1", None, "OPENROUTER_API_KEY"),
        Service("ollama", "http://localhost:11434/v1", "OLLAMA_BASE_URL", None, False),
        Service("vllm", "http://localhost:8000/v1", "VLLM_BASE_URL", "VLLM_API_KEY", False),
        Service("lmstudio", "http://localhost:1234/v1", "LMSTUDIO_BASE_URL", None, False),
        Service("llamacpp", "http://localhost:8080/v1", "LLAMACPP_BASE_URL", None, False, True),
    )
}


@dataclass(frozen=True)
class _OpenAIModel:
    context: int
    images: bool
    sampling: bool = True
    """Accepts ``temperature``/``top_p`` (reasoning models take only their defaults)."""


# OpenAI's own models, matched by the longest prefix of the name.
_OPENAI_MODELS: dict[str, _OpenAIModel] = {
    "gpt-3.5-turbo": _OpenAIModel(16_385, images=False),
    "gpt-4-turbo": _OpenAIModel(128_000, images=True),
    "gpt-4o": _OpenAIModel(128_000, images=True),
    "gpt-4.1": _OpenAIModel(1_047_576, images=True),
    "gpt-5": _OpenAIModel(400_000, images=True, sampling=False),
    "o1": _OpenAIModel(200_000, images=True, sampling=False),
    "o3": _OpenAIModel(200_000, images=True, sampling=False),
    "o4-mini": _OpenAIModel(200_000, images=True, sampling=False),
}


class OpenAICompatibleEngine(EngineLM):
    """Chat completions from OpenAI or any server that speaks its API.

    Args:
        model_string: the model's name on the server.
        system_prompt: used when a call gives none.
        client: your own ``openai.OpenAI`` client (it is copied with ``max_retries=0``, never
            changed); ``base_url``/``api_key`` are then ignored.
        service: a key of :data:`SERVICES` (default ``"openai"``), giving the default address
            and the key's environment variable.
        base_url: the server's address, e.g. ``http://127.0.0.1:8000/v1``.
        api_key: the key; by default read from the service's environment variable.
        is_multimodal: whether the model takes images (upstream's flag; also settable through
            ``capabilities``).
        http_client: an ``httpx2.Client`` for the SDK (proxies, tests).
        **kwargs: the pipeline's options (``cache``, ``retry``, ``max_concurrency``,
            ``requests_per_minute``, ``capabilities``) and default sampling parameters.
    """

    provider = "openai"

    def __init__(
        self,
        model_string: str = "gpt-4o-mini",
        system_prompt: str | None = None,
        is_multimodal: bool | None = None,
        base_url: str | None = None,
        *,
        client: openai.OpenAI | None = None,
        service: str = "openai",
        api_key: str | None = None,
        http_client: Any = None,
        **kwargs: Any,
    ) -> None:
        if service not in SERVICES:
            raise ConfigurationError(
                f"unknown OpenAI-compatible service {service!r}; known: {', '.join(SERVICES)}"
            )
        self.service = SERVICES[service]
        self.provider = self.service.name
        self._sdk = import_sdk("openai", extra=None)
        if client is not None:
            self._client = client.with_options(max_retries=0)
            self._official = False
        else:
            self._client = self._make_client(self._sdk, base_url, api_key, http_client)
            # The engine made this client (and its connection pool): close it when the engine is
            # collected, so its sockets are shut down rather than dropped.
            weakref.finalize(self, self._client.close)
        self._secrets = (self._client.api_key,)
        self._model = _OPENAI_MODELS.get(longest_prefix(_OPENAI_MODELS, model_string) or "")
        if self._model is None or self._model.sampling:
            kwargs.setdefault("temperature", 0.0)
        super().__init__(model_string, system_prompt, **kwargs)
        if is_multimodal is not None:
            self.is_multimodal = is_multimodal

    def close(self) -> None:
        """Close the engine's HTTP connections now (otherwise they close when the engine is
        collected). The engine must not be used afterwards."""
        self._client.close()

    def default_capabilities(self) -> Capabilities:
        """From the model's name (OpenAI's table), whatever the address: a model named
        ``gpt-4o`` takes images and 128k tokens behind any base URL."""
        model = self._model
        return Capabilities(
            max_context_tokens=model.context if model else None,
            structured_output=True,
            grammar=self.service.grammar,
            images=bool(model and model.images),
            json_schema=not self.service.grammar,
            # OpenAI caches prefixes automatically; so do vLLM and SGLang servers.
            prefix_cache=True,
            token_limit_param="max_tokens"
            if model is None or model.sampling
            else "max_completion_tokens",
        )

    def _make_client(
        self, sdk: ModuleType, base_url: str | None, api_key: str | None, http_client: Any
    ) -> openai.OpenAI:
        service = self.service
        if base_url is None and service.base_url_env:
            base_url = os.environ.get(service.base_url_env) or None
        if base_url is None:
            base_url = service.base_url
        # A key is needed by hosted services; a server the user points at may take none.
        self._official = service.name == "openai" and base_url is None
        if service.key_required and (service.name != "openai" or self._official):
            api_key = find_key(api_key, [service.key_env or ""], what=f"the {service.name} engine")
        elif not api_key and service.key_env:
            api_key = os.environ.get(service.key_env) or None
        client: openai.OpenAI = sdk.OpenAI(
            api_key=api_key or _PLACEHOLDER_KEY,
            base_url=base_url,
            max_retries=0,
            http_client=http_client if http_client is not None else wall_clock_http_client(sdk),
        )
        return client

    @property
    def base_url(self) -> str:
        """The address requests go to."""
        return str(self._client.base_url)

    @property
    def cache_namespace(self) -> str:
        return f"{self.provider}@{self.base_url}"

    # ------------------------------------------------------------------ the call

    def complete(self, request: Request) -> Response:
        started = time.perf_counter()
        raw = self._create(self.request_body(request))
        return chat_completion_response(raw, request, provider=self.name, started=started)

    def request_body(self, request: Request) -> dict[str, Any]:
        """The keyword arguments for ``client.chat.completions.create`` (without the time-out)."""
        body = chat_arguments(request, max_tokens_field=self.capabilities.token_limit_param)
        body["model"] = self.model_string
        extra_body = dict(request.extra)
        fmt = request.response_format
        if fmt is not None and fmt.kind == "grammar":  # the executor checked grammars are taken
            extra_body["grammar"] = fmt.grammar
        elif fmt is not None and fmt.kind != "text":
            # llama.cpp and others constrain decoding to a schema given with json_object;
            # OpenAI itself rejects that field.
            body["response_format"] = openai_response_format(
                fmt, schema_in_json_object=not self._official
            )
        if extra_body:
            body["extra_body"] = extra_body
        return body

    def _create(self, body: dict[str, Any]) -> Any:
        try:
            return self._client.chat.completions.create(**body, timeout=attempt_timeout(self))
        except Exception as error:
            mapped = map_stainless_error(
                error, self._sdk, provider=self.name, secrets=self._secrets
            )
            if mapped is None:
                raise
        raise mapped  # outside the handler: the SDK's error (which may echo the key) is not chained


class AzureOpenAIEngine(OpenAICompatibleEngine):
    """Azure OpenAI: ``model_string`` is the deployment's name.

    The endpoint comes from ``base_url`` or ``AZURE_OPENAI_ENDPOINT`` (upstream's
    ``AZURE_OPENAI_API_BASE`` also works), the key from ``AZURE_OPENAI_API_KEY``, the API version
    from ``api_version``, ``OPENAI_API_VERSION`` or ``AZURE_OPENAI_API_VERSION``.
    """

    provider = "azure"
    default_api_version = "2024-10-21"

    def __init__(
        self,
        model_string: str = "gpt-4o-mini",
        system_prompt: str | None = None,
        *,
        api_version: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._api_version = (
            api_version
            or os.environ.get("OPENAI_API_VERSION")
            or os.environ.get("AZURE_OPENAI_API_VERSION")
            or self.default_api_version
        )
        super().__init__(model_string, system_prompt, **kwargs)
        self.provider = "azure"

    def _make_client(
        self, sdk: ModuleType, base_url: str | None, api_key: str | None, http_client: Any
    ) -> openai.OpenAI:
        endpoint = (
            base_url
            or os.environ.get("AZURE_OPENAI_ENDPOINT")
            or os.environ.get("AZURE_OPENAI_API_BASE")
        )
        if not endpoint:
            raise ConfigurationError(
                "the Azure OpenAI engine needs an endpoint: set AZURE_OPENAI_ENDPOINT "
                "(e.g. https://<resource>.openai.azure.com) or pass base_url=..."
            )
        self._official = True
        client: openai.OpenAI = sdk.AzureOpenAI(
            api_key=find_key(api_key, ["AZURE_OPENAI_API_KEY"], what="the Azure OpenAI engine"),
            azure_endpoint=endpoint,
            api_version=self._api_version,
            max_retries=0,
            http_client=http_client,
        )
        return client


class ChatExternalClient(OpenAICompatibleEngine):
    """Upstream's name: an engine around your own OpenAI-compatible client.

    ``ChatExternalClient(client, model_string)`` is ``OpenAICompatibleEngine(model_string,
    client=client)``.
    """

    def __init__(
        self,
        client: openai.OpenAI,
        model_string: str,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(model_string, system_prompt, client=client, **kwargs)


ChatOpenAI = OpenAICompatibleEngine
"""Upstream's name for the OpenAI engine."""

AzureChatOpenAI = AzureOpenAIEngine
"""Upstream's name for the Azure engine."""


def chat_arguments(request: Request, *, max_tokens_field: str = "max_tokens") -> dict[str, Any]:
    """Messages and sampling parameters in the Chat Completions form (no model, no extras)."""
    arguments: dict[str, Any] = {
        "messages": [_chat_message(message) for message in request.messages]
    }
    for name in ("temperature", "top_p", "seed"):
        value = getattr(request, name)
        if value is not None:
            arguments[name] = value
    if request.max_tokens is not None:
        arguments[max_tokens_field] = request.max_tokens
    if request.stop is not None:
        arguments["stop"] = list(request.stop)
    if request.n != 1:
        arguments["n"] = request.n
    return arguments


def openai_response_format(
    fmt: ResponseFormat, *, json_schema: bool = True, schema_in_json_object: bool = False
) -> dict[str, Any]:
    """``fmt`` as a Chat Completions ``response_format`` (JSON kinds only).

    A schema goes in the ``json_schema`` form when ``json_schema`` is true, else (when
    ``schema_in_json_object``) beside ``{"type": "json_object"}``, as llama.cpp's server takes it.
    """
    schema = dict(fmt.schema) if fmt.schema is not None else None
    if fmt.kind == "json_schema" and schema is not None and json_schema:
        return {"type": "json_schema", "json_schema": {"name": fmt.name, "schema": schema}}
    if schema is not None and schema_in_json_object:
        return {"type": "json_object", "schema": schema}
    return {"type": "json_object"}


def chat_completion_response(
    raw: Any, request: Request, *, provider: str, started: float
) -> Response:
    """A Chat Completions reply (the SDK's object or LiteLLM's) as a :class:`Response`."""
    choices = getattr(raw, "choices", None)
    if not choices:
        raise malformed(provider, "choices", raw)
    texts = tuple(strict_json(_choice_text(provider, choice), request) for choice in choices)
    usage = getattr(raw, "usage", None)
    return Response(
        texts=texts,
        usage=reported_usage(
            request,
            texts,
            getattr(usage, "prompt_tokens", None),
            getattr(usage, "completion_tokens", None),
            getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", None),
        ),
        model=getattr(raw, "model", None) or provider.partition("/")[2],
        latency_s=time.perf_counter() - started,
    )


def _chat_message(message: Message) -> dict[str, Any]:
    if isinstance(message.content, str):
        return {"role": message.role, "content": message.content}
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, ImagePart):
            parts.append({"type": "image_url", "image_url": {"url": data_url(part)}})
        else:
            parts.append({"type": "text", "text": part})
    return {"role": message.role, "content": parts}


def data_url(image: ImagePart) -> str:
    """The image as a ``data:`` URL, the form OpenAI-style APIs take inline images in."""
    return f"data:{image.mime_type};base64,{base64.b64encode(image.data).decode('ascii')}"


def _choice_text(provider: str, choice: Any) -> str:
    message = getattr(choice, "message", None)
    if message is None:
        raise malformed(provider, "message in a choice", choice)
    content = getattr(message, "content", None)
    if content is None:
        refusal = getattr(message, "refusal", None)
        why = f"the model refused: {refusal}" if refusal else "it may have called a tool instead"
        raise ResponseFormatError(f"{provider}: the reply's content is null ({why})")
    if not isinstance(content, str):
        raise malformed(provider, "text content", content)
    return content
