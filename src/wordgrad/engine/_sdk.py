"""What the provider adapters share: loading an optional SDK, finding a key, mapping SDK errors.

Providers' SDKs are imported here on first use, never when wordgrad is imported. Every SDK
exception is turned into a class from :mod:`wordgrad.errors` (with ``Retry-After`` parsed from
the response headers) so that :mod:`wordgrad.engine.retry` is the only layer that retries, and
any API key that a provider echoes back is blanked out of the message.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any

from wordgrad.engine.base import attempt_timeout
from wordgrad.engine.retry import error_for_status, parse_retry_after
from wordgrad.errors import (
    ConfigurationError,
    EngineConnectionError,
    EngineError,
    EngineTimeoutError,
    MalformedResponseError,
)
from wordgrad.llm import Request, Usage

# Things that look like API keys (OpenAI, Anthropic, Groq, Google, OpenRouter, …).
_KEY_PATTERN = re.compile(r"\b(?:sk|gsk|pk|rk|AIza|xai)[-_A-Za-z0-9]{12,}")


def import_sdk(module: str, *, extra: str | None, package: str | None = None) -> ModuleType:
    """Import a provider SDK, or raise :class:`ConfigurationError` saying what to install.

    ``extra`` names wordgrad's optional extra that brings the SDK (None: it is a dependency of
    wordgrad itself, so the fix is to install the ``package`` again).
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        name = package or module
        fix = f"pip install 'wordgrad[{extra}]'" if extra else f"pip install {name}"
        raise ConfigurationError(
            f"this engine needs the {name!r} package, which is not installed; run: {fix}"
        ) from error


def find_key(given: str | None, env_vars: Iterable[str], *, what: str) -> str:
    """``given``, else the first environment variable that is set, else a clear error."""
    if given:
        return given
    names = list(env_vars)
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    raise ConfigurationError(
        f"{what} needs an API key: set {' or '.join(names)} in the environment, "
        "or pass api_key=... to get_engine"
    )


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with the given secrets, and anything shaped like an API key, replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEY_PATTERN.sub("***", text)


def map_stainless_error(
    error: Exception, sdk: ModuleType, *, provider: str, secrets: Iterable[str | None] = ()
) -> EngineError | None:
    """The :mod:`wordgrad.errors` exception for an error raised by the openai or anthropic SDK.

    Both SDKs (and LiteLLM, whose exceptions subclass openai's) share one exception layout:
    ``APIStatusError`` with ``status_code`` and ``response``, ``APITimeoutError`` under
    ``APIConnectionError``. A reply that is not valid JSON becomes a (retried)
    :class:`MalformedResponseError`. Anything else gives None: it is not a provider failure.
    Callers raise the result outside their ``except`` block, so the SDK's exception (whose text
    may echo the key) is not chained to it.
    """
    message = f"{provider}: {redact(str(error), secrets)}"
    if isinstance(error, sdk.APITimeoutError):
        return EngineTimeoutError(f"{message} (the request timed out)")
    if isinstance(error, sdk.APIConnectionError):
        return EngineConnectionError(f"{message} (is the server running and reachable?)")
    if isinstance(error, sdk.APIStatusError):
        headers = getattr(error.response, "headers", None)
        body = _body_text(error.response)
        if body and body not in str(error):
            message += f": {redact(body, secrets)[:500]}"
        return error_for_status(
            int(error.status_code), message, retry_after=parse_retry_after(headers)
        )
    if isinstance(error, UnicodeDecodeError):
        return None  # the executor names it
    if isinstance(error, (sdk.APIResponseValidationError, json.JSONDecodeError)):
        return MalformedResponseError(f"{message} (the provider's reply could not be parsed)")
    return None


def _body_text(response: Any) -> str:
    """The start of an HTTP error's body as text ("" when it cannot be read)."""
    try:
        return str(response.text)[:2000].strip()
    except Exception:  # a streamed or undecodable body: the status says enough
        return ""


def map_transport_error(error: Exception, *, provider: str) -> EngineError | None:
    """A time-out or connection failure of the HTTP layer (httpx, sockets) as ours, or None."""
    for name in ("httpx2", "httpx"):
        module = sys.modules.get(name)
        if module is None:
            continue
        if isinstance(error, module.TimeoutException):
            return EngineTimeoutError(f"{provider}: the request timed out ({error})")
        if isinstance(error, module.TransportError):
            return EngineConnectionError(f"{provider}: could not reach the server ({error})")
    if isinstance(error, TimeoutError):
        return EngineTimeoutError(f"{provider}: the request timed out ({error})")
    if isinstance(error, ConnectionError):
        return EngineConnectionError(f"{provider}: could not reach the server ({error})")
    return None


def wall_clock_http_client(sdk: ModuleType) -> Any:
    """The SDK's default HTTP client, with a transport that ends a reply once the attempt's
    wall-clock time is up (:func:`wordgrad.engine.base.attempt_timeout`).

    httpx's read time-out restarts with every chunk, so a reply trickled a byte at a time could
    keep a connection (and a worker thread) busy for minutes; the executor already fails such an
    attempt at its time-out, and this closes its connection too.
    """
    http = importlib.import_module(sdk.DefaultHttpxClient.__mro__[1].__module__.split(".")[0])

    class WallClockStream(http.SyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(self, stream: Any, deadline: float) -> None:
            self._stream = stream
            self._deadline = deadline

        def __iter__(self) -> Any:
            for chunk in self._stream:
                if time.monotonic() > self._deadline:
                    raise http.ReadTimeout("the reply did not complete within the time-out")
                yield chunk

        def close(self) -> None:
            self._stream.close()

    class WallClockTransport(http.BaseTransport):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            self._inner = http.HTTPTransport()

        def handle_request(self, request: Any) -> Any:
            limit = attempt_timeout()
            started = time.monotonic()
            response = self._inner.handle_request(request)
            if limit is None:
                return response
            return http.Response(
                status_code=response.status_code,
                headers=response.headers,
                stream=WallClockStream(response.stream, started + limit),
                extensions=response.extensions,
            )

        def close(self) -> None:
            self._inner.close()

    return sdk.DefaultHttpxClient(transport=WallClockTransport())


def reported_usage(
    request: Request,
    texts: Sequence[str],
    prompt_tokens: int | None,
    completion_tokens: int | None,
    cached_prompt_tokens: int | None = None,
) -> Usage:
    """The provider's token counts, or an estimate when it reported none."""
    if prompt_tokens is None:
        return Usage.estimate(request, texts)
    cached = cached_prompt_tokens if isinstance(cached_prompt_tokens, int) else 0
    return Usage(
        prompt_tokens, completion_tokens or 0, cached_prompt_tokens=min(cached, prompt_tokens)
    )


def strict_json(text: str, request: Request) -> str:
    """``text``, re-encoded as strict JSON when the request asked for JSON and it is JSON only by
    lenient rules.

    llama.cpp's JSON grammars let raw newlines and tabs into strings, which strict parsers (and
    RFC 8259) reject; a reply that parses once those are allowed is returned in strict form.
    Anything else is returned unchanged.
    """
    fmt = request.response_format
    if fmt is None or fmt.kind not in ("json", "json_schema"):
        return text
    try:
        json.loads(text)
        return text
    except ValueError:
        pass
    try:
        value = json.loads(text, strict=False)
    except ValueError:
        return text
    return json.dumps(value, ensure_ascii=False)


def malformed(provider: str, what: str, payload: Any) -> MalformedResponseError:
    """The (retried) error for a reply that parsed as JSON but lacks what every reply must have."""
    shown = redact(repr(payload))[:300]
    return MalformedResponseError(f"{provider}: the reply has no {what}: {shown}")


def longest_prefix(names: Iterable[str], model: str) -> str | None:
    """The longest of ``names`` that ``model`` starts with (``gpt-4o-mini-2024``: ``gpt-4o-mini``).

    Used to look up model families in price and capability tables.
    """
    matches = [name for name in names if model.startswith(name)]
    return max(matches, key=len) if matches else None
