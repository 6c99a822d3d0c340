"""Models on Amazon Bedrock through AWS's official SDK, boto3 (``pip install 'wordgrad[bedrock]'``).

Calls go to Bedrock's Converse API (``bedrock-runtime`` client, ``converse``), which speaks one
message format for every model family on Bedrock (Claude, Llama, Mistral, Nova, Cohere...):
system prompt blocks, user content blocks with text and images (PNG, JPEG, GIF, WebP bytes), and
``inferenceConfig`` for ``maxTokens``, ``temperature``, ``topP`` and ``stopSequences``; other
request fields go in ``additionalModelRequestFields``. Credentials and the region come from
boto3's usual chain (environment, ``~/.aws``, instance roles) unless given.

boto3's own retries are turned off for clients built here (``retries={"total_max_attempts": 1}``):
:mod:`wordgrad.engine.retry` is the one retry layer. botocore's errors become
:mod:`wordgrad.errors` classes by their HTTP status.
"""

from __future__ import annotations

import time
from typing import Any

from wordgrad.engine._sdk import import_sdk, malformed, map_transport_error, reported_usage
from wordgrad.engine.base import EngineLM
from wordgrad.engine.retry import error_for_status
from wordgrad.errors import EngineConnectionError, EngineTimeoutError
from wordgrad.llm import Capabilities, ImagePart, Message, Request, Response

DEFAULT_MAX_TOKENS = 2000

# Context windows and image input by model family (longest matching prefix of the model id, any
# region prefix such as "us." removed), from the providers' model cards.
_FAMILIES: dict[str, tuple[int, bool]] = {
    "anthropic.claude-3": (200_000, True),
    "anthropic.claude": (200_000, True),
    "amazon.nova-micro": (128_000, False),
    "amazon.nova": (300_000, True),
    "meta.llama3-2-11b": (128_000, True),
    "meta.llama3-2-90b": (128_000, True),
    "meta.llama3": (128_000, False),
    "mistral.": (32_000, False),
    "cohere.command-r": (128_000, False),
}


class BedrockEngine(EngineLM):
    """Any chat model on Amazon Bedrock.

    Args:
        model_string: a Bedrock model id or inference profile, e.g.
            ``anthropic.claude-3-5-sonnet-20240620-v1:0`` or ``us.amazon.nova-pro-v1:0``.
        system_prompt: used when a call gives none.
        is_multimodal: whether to send images (default: from the model family).
        client: your own ``boto3.client("bedrock-runtime")``.
        region_name: AWS region (default: boto3's configuration).
        endpoint_url: another address (a VPC endpoint; tests).
        aws_access_key_id, aws_secret_access_key, aws_session_token: explicit credentials.
        **kwargs: the pipeline's options and default sampling parameters.
    """

    provider = "bedrock"

    def __init__(
        self,
        model_string: str = "anthropic.claude-3-5-sonnet-20240620-v1:0",
        system_prompt: str | None = None,
        is_multimodal: bool | None = None,
        *,
        client: Any = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._botocore = import_sdk("botocore.exceptions", extra="bedrock", package="boto3")
        if client is None:
            boto3 = import_sdk("boto3", extra="bedrock")
            config = import_sdk("botocore.config", extra="bedrock", package="boto3").Config(
                retries={"total_max_attempts": 1}
            )
            client = boto3.client(
                "bedrock-runtime",
                region_name=region_name,
                endpoint_url=endpoint_url,
                aws_access_key_id=aws_access_key_id,
                aws_secret_access_key=aws_secret_access_key,
                aws_session_token=aws_session_token,
                config=config,
            )
        self._client = client
        kwargs.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        super().__init__(model_string, system_prompt, **kwargs)
        if is_multimodal is not None:
            self.is_multimodal = is_multimodal

    def default_capabilities(self) -> Capabilities:
        """Context window and image input of the model's family (:data:`_FAMILIES`, from the
        providers' model cards); nothing is assumed for families not listed."""
        model = self.model_string
        bare = model.split(".", 1)[1] if model[:3] in ("us.", "eu.") else model
        family = max((f for f in _FAMILIES if bare.startswith(f)), key=len, default=None)
        context, images = _FAMILIES[family] if family else (None, False)
        return Capabilities(max_context_tokens=context, images=images)

    @property
    def cache_namespace(self) -> str:
        endpoint = getattr(getattr(self._client, "meta", None), "endpoint_url", "")
        return f"{self.provider}@{endpoint}"

    def call_arguments(self, request: Request) -> dict[str, Any]:
        """The keyword arguments for ``client.converse``."""
        arguments: dict[str, Any] = {
            "modelId": self.model_string,
            "messages": [_message(m) for m in request.messages if m.role != "system"],
        }
        system = [{"text": m.text} for m in request.messages if m.role == "system"]
        if system:
            arguments["system"] = system
        config: dict[str, Any] = {}
        for ours, theirs in (
            ("max_tokens", "maxTokens"),
            ("temperature", "temperature"),
            ("top_p", "topP"),
        ):
            value = getattr(request, ours)
            if value is not None:
                config[theirs] = value
        if request.stop is not None:
            config["stopSequences"] = list(request.stop)
        if config:
            arguments["inferenceConfig"] = config
        if request.extra:
            arguments["additionalModelRequestFields"] = dict(request.extra)
        return arguments

    def complete(self, request: Request) -> Response:
        arguments = self.call_arguments(request)
        started = time.perf_counter()
        texts: list[str] = []
        prompt_tokens: int | None = None
        completion_tokens = 0
        for _ in range(request.n):  # one reply per call
            raw = self._converse(arguments)
            try:
                blocks = raw["output"]["message"]["content"]
            except (KeyError, TypeError):
                raise malformed(self.name, "output message", raw) from None
            texts.append("".join(b.get("text", "") for b in blocks if isinstance(b, dict)))
            usage = raw.get("usage") or {}
            if "inputTokens" in usage:
                prompt_tokens = int(usage["inputTokens"])
                completion_tokens += int(usage.get("outputTokens", 0))
        return Response(
            texts=tuple(texts),
            usage=reported_usage(request, texts, prompt_tokens, completion_tokens),
            model=self.model_string,
            latency_s=time.perf_counter() - started,
        )

    def _converse(self, arguments: dict[str, Any]) -> Any:
        errors = self._botocore
        try:
            return self._client.converse(**arguments)
        except errors.ClientError as error:
            response = getattr(error, "response", {}) or {}
            status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            code = response.get("Error", {}).get("Code", "")
            text = response.get("Error", {}).get("Message", "")
            if code == "ThrottlingException":
                status = 429
            raise error_for_status(status, f"{self.name}: {code}: {text}") from None
        except (errors.ConnectTimeoutError, errors.ReadTimeoutError) as error:
            raise EngineTimeoutError(f"{self.name}: the request timed out ({error})") from None
        except errors.EndpointConnectionError as error:
            raise EngineConnectionError(f"{self.name}: could not reach Bedrock ({error})") from None
        except Exception as error:
            mapped = map_transport_error(error, provider=self.name)
            if mapped is None:
                raise
        raise mapped  # outside the handler: the SDK's error is not chained to ours


class ChatBedrockEngine(BedrockEngine):
    """Upstream's signature: ``ChatBedrockEngine(bedrock_client, model_string, system_prompt,
    is_multimodal)`` with a boto3 ``bedrock-runtime`` client first."""

    def __init__(
        self,
        bedrock_client: Any = None,
        model_string: str = "anthropic.claude-3-sonnet-20240229-v1:0",
        system_prompt: str | None = None,
        is_multimodal: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            model_string, system_prompt, is_multimodal, client=bedrock_client, **kwargs
        )


def _message(message: Message) -> dict[str, Any]:
    if isinstance(message.content, str):
        return {"role": message.role, "content": [{"text": message.content}]}
    blocks: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, ImagePart):
            kind = part.mime_type.split("/")[1]
            blocks.append({"image": {"format": kind, "source": {"bytes": part.data}}})
        else:
            blocks.append({"text": part})
    return {"role": message.role, "content": blocks}


__all__ = ["BedrockEngine", "ChatBedrockEngine"]
