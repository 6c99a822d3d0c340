"""The engine contract: what is sent to a language model and what comes back.

Everything above this module speaks in these terms. An operation builds a :class:`Request` from
the values of its inputs (pure data: the same values give the same bytes), an engine turns it into
a :class:`Response`, and the executor sits in between. Requests are frozen and hashable; their
:meth:`Request.fingerprint` is the cache key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, runtime_checkable

from wordgrad.errors import InvalidInputError
from wordgrad.images import check_image

MessageRole = Literal["system", "user", "assistant"]
Purpose = Literal["forward", "backward", "optimizer", "evaluation", "other"]
"""Why a request was made; usage is totalled per purpose."""


@dataclass(frozen=True)
class ImagePart:
    """An image inside a message, as raw bytes plus its MIME type.

    The bytes are checked when the part is made (:func:`wordgrad.images.check_image`), and the
    MIME type is the one they really have, whatever was passed.

    Raises:
        wordgrad.images.InvalidImageError: the bytes are not a complete PNG, JPEG, GIF or WebP.
    """

    data: bytes
    mime_type: str = "image/png"

    def __post_init__(self) -> None:
        object.__setattr__(self, "mime_type", check_image(self.data))


ContentPart = str | ImagePart


@dataclass(frozen=True)
class Message:
    """One chat message. ``content`` is a string, or a tuple of text and image parts."""

    role: MessageRole
    content: str | tuple[ContentPart, ...]

    def __post_init__(self) -> None:
        texts = [self.content] if isinstance(self.content, str) else self.content
        for text in texts:
            if isinstance(text, str):
                check_text(text, f"the {self.role} message")

    @property
    def text(self) -> str:
        """The message's text; image parts are left out."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part for part in self.content if isinstance(part, str))

    @property
    def has_images(self) -> bool:
        return not isinstance(self.content, str) and any(
            isinstance(part, ImagePart) for part in self.content
        )


@dataclass(frozen=True)
class ResponseFormat:
    """A constraint on the shape of the reply.

    ``kind`` is ``"text"`` (no constraint), ``"json"`` (any JSON object), ``"json_schema"``
    (an object matching ``schema``) or ``"grammar"`` (a GBNF grammar, for engines that take one).
    """

    kind: Literal["text", "json", "json_schema", "grammar"] = "text"
    schema: Mapping[str, Any] | None = None
    grammar: str | None = None
    name: str = "reply"

    def canonical(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "schema": self.schema,
            "grammar": self.grammar,
            "name": self.name,
        }


@dataclass(frozen=True)
class Request:
    """Messages plus sampling parameters: everything that determines a model's reply.

    ``None`` for a sampling parameter means "the engine's default".
    """

    messages: tuple[Message, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] | None = None
    n: int = 1
    response_format: ResponseFormat | None = None
    extra: tuple[tuple[str, Any], ...] = ()
    """Provider-specific options as sorted (name, value) pairs; part of the fingerprint."""
    purpose: Purpose = "other"
    """What the request is for (forward, backward, optimizer, evaluation); usage is totalled and
    test scripts route by it. Not part of the fingerprint: it does not change the reply."""
    role: str = ""
    """The role of the variable the reply becomes (named in errors). Not part of the fingerprint."""
    fallback: Request | None = None
    """The same question asking for a plain-text reply (e.g. the value between tags), sent instead
    when the engine rejects structured output. Not part of the fingerprint."""
    shared_prefix: tuple[int, int] | None = None
    """Where the part of the prompt that other requests of the same step share ends, as
    (message index, characters of that message's text): e.g. a forward call's system prompt, or
    a feedback request's system prompt and the call's system prompt. The executor lets the first
    request of such a group warm a provider's prefix cache before the rest are sent; Anthropic's
    engine marks the point with ``cache_control``. Not part of the fingerprint."""
    sample: int | None = None
    """Which sample this is, for drawing several replies to the same messages (self-consistency,
    majority votes at temperature > 0). Never sent to the provider; part of the fingerprint, so
    samples 0, 1, 2 ... are cached and de-duplicated separately instead of all getting the first
    reply."""

    def __post_init__(self) -> None:
        sample = self.sample
        if sample is not None and (
            isinstance(sample, bool) or not isinstance(sample, int) or sample < 0
        ):
            raise InvalidInputError(f"sample must be a whole number >= 0, got {self.sample!r}")

    @classmethod
    def chat(
        cls,
        prompt: str | Sequence[str | bytes | ImagePart],
        system_prompt: str | None = None,
        **params: Any,
    ) -> Request:
        """Build a request from a user prompt and an optional system prompt.

        ``prompt`` may be a list mixing text and images (bytes or :class:`ImagePart`).
        Known sampling parameters go to their fields; any others are kept in ``extra``.
        """
        messages: list[Message] = []
        if system_prompt:
            messages.append(Message("system", system_prompt))
        messages.append(Message("user", _as_content(prompt)))
        return cls(messages=tuple(messages)).with_params(**params)

    def prefix_text(self) -> str | None:
        """The shared part of the prompt (see :attr:`shared_prefix`), or None."""
        if self.shared_prefix is None:
            return None
        index, length = self.shared_prefix
        if not 0 <= index < len(self.messages):
            return None
        head = "".join(f"\x00{m.role}\x00{m.text}" for m in self.messages[:index])
        message = self.messages[index]
        return f"{head}\x00{message.role}\x00{message.text[:length]}"

    def sharing(self, message: int, characters: int | None = None) -> Request:
        """A copy whose :attr:`shared_prefix` ends ``characters`` into message ``message`` (the
        whole message when ``None``)."""
        length = len(self.messages[message].text) if characters is None else characters
        return replace(self, shared_prefix=(message, length))

    def about(self, purpose: Purpose, role: str = "") -> Request:
        """A copy marked with what it is for and the role of the variable it produces."""
        return replace(self, purpose=purpose, role=role or self.role)

    def with_params(self, **params: Any) -> Request:
        """A copy with the given sampling parameters set (unknown names go to ``extra``)."""
        known: dict[str, Any] = {}
        extra = dict(self.extra)
        for name, value in params.items():
            if name in _SAMPLING_FIELDS:
                if name == "stop" and value is not None:
                    value = (value,) if isinstance(value, str) else tuple(value)
                if name == "response_format" and isinstance(value, Mapping):
                    value = _response_format_from_openai(value)
                known[name] = value
            elif value is not None:
                extra[name] = value
        return replace(self, **known, extra=tuple(sorted(extra.items())))

    @property
    def system_prompt(self) -> str | None:
        """The text of the first system message, if any."""
        for message in self.messages:
            if message.role == "system":
                return message.text
        return None

    @property
    def prompt(self) -> str:
        """The text of the last user message."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text
        return ""

    @property
    def has_images(self) -> bool:
        return any(message.has_images for message in self.messages)

    def sampling_params(self) -> dict[str, Any]:
        """The sampling parameters that are set, as keyword arguments."""
        params: dict[str, Any] = {}
        for name in ("temperature", "max_tokens", "top_p", "seed"):
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        if self.stop is not None:
            params["stop"] = list(self.stop)
        if self.n != 1:
            params["n"] = self.n
        params.update(self.extra)
        return params

    def canonical(self) -> dict[str, Any]:
        """A JSON-able form with every field that affects the reply, in a fixed order."""
        return {
            "messages": [
                {"role": m.role, "content": _canonical_content(m.content)} for m in self.messages
            ],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "seed": self.seed,
            "stop": list(self.stop) if self.stop is not None else None,
            "n": self.n,
            "response_format": self.response_format.canonical() if self.response_format else None,
            "extra": [[k, v] for k, v in self.extra],
            # Only when set, so requests without a sample index keep their earlier fingerprints.
            **({"sample": self.sample} if self.sample is not None else {}),
        }

    def fingerprint(self, *, provider: str = "", model: str = "") -> str:
        """SHA-256 of the canonical request together with the provider and model."""
        payload = {"provider": provider, "model": model, "request": self.canonical()}
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def text_length(self) -> int:
        """Characters of text in all messages (used to estimate tokens)."""
        return sum(len(message.text) for message in self.messages)


_SAMPLING_FIELDS = frozenset(
    {"temperature", "max_tokens", "top_p", "seed", "stop", "n", "response_format", "sample"}
)


@dataclass(frozen=True)
class Usage:
    """Token counts of one call. ``estimated`` is true when the engine did not report them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False
    cached_prompt_tokens: int = 0
    """Of ``prompt_tokens``, those the provider served from its prompt cache (billed at its
    cached-input price): OpenAI's ``prompt_tokens_details.cached_tokens``, Anthropic's
    ``cache_read_input_tokens``, Gemini's ``cached_content_token_count``."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def estimate(cls, request: Request, texts: Sequence[str]) -> Usage:
        """A rough count (four characters a token) for engines that report none."""
        return cls(
            prompt_tokens=estimate_tokens_of_length(request.text_length()),
            completion_tokens=sum(estimate_tokens_of_length(len(t)) for t in texts),
            estimated=True,
        )


def estimate_tokens_of_length(characters: int) -> int:
    """Tokens in a text of this many characters, at about four characters a token."""
    return (characters + 3) // 4


@dataclass(frozen=True)
class Response:
    """What came back: one text per choice, usage, model, latency, whether it was cached, and the
    :class:`Request` it answers (as sent, after defaults and format negotiation; set by the
    executor)."""

    texts: tuple[str, ...]
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    latency_s: float = 0.0
    cached: bool = False
    request: Request | None = None

    @property
    def text(self) -> str:
        """The first (usually the only) choice."""
        return self.texts[0] if self.texts else ""


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do. Users may override these per engine (``engine.capabilities = ...``).

    ``max_context_tokens`` of ``None`` means unknown: prompts are then sent without a length check.
    """

    max_context_tokens: int | None = None
    structured_output: bool = False
    """Accepts a JSON / JSON-schema response format."""
    grammar: bool = False
    """Accepts a GBNF grammar."""
    images: bool = False
    json_schema: bool = True
    """Takes the ``json_schema`` response format; when False, structured requests start at the
    ``json_object`` form (llama-cpp-python's server answers 500 to ``json_schema``)."""
    prefix_cache: bool = False
    """The provider caches prompt prefixes it has seen (OpenAI and compatible servers such as
    vLLM, Gemini: automatically; Anthropic: at ``cache_control`` marks). The executor then sends
    the first request of a group that shares a long prefix ahead of the others."""
    min_cached_prefix_tokens: int = 1024
    """The shortest prefix the provider caches (OpenAI and Anthropic: 1,024 tokens)."""
    token_limit_param: str = "max_tokens"
    """The name the provider takes the reply's token limit under (OpenAI's reasoning models want
    ``max_completion_tokens``)."""


@runtime_checkable
class Engine(Protocol):
    """A transport: what the executor needs of an engine (:class:`wordgrad.engine.EngineLM`).

    ``complete`` carries one request to the model and back: no cache, retries, limits or usage;
    the executor owns those.
    """

    model_string: str

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    def complete(self, request: Request) -> Response:
        """One raw call to the model."""
        ...


def _as_content(prompt: str | Sequence[str | bytes | ImagePart]) -> str | tuple[ContentPart, ...]:
    if isinstance(prompt, str):
        return prompt
    parts: list[ContentPart] = []
    for item in prompt:
        if isinstance(item, bytes):
            parts.append(ImagePart(item))
        elif isinstance(item, (str, ImagePart)):
            parts.append(item)
        else:
            raise TypeError(
                f"a prompt part must be str, bytes or ImagePart, not {type(item).__name__}"
            )
    return tuple(parts)


def sniff_image_type(data: bytes) -> str:
    """The MIME type of image bytes, after :func:`wordgrad.images.check_image` checked them."""
    return check_image(data)


def check_text(text: str, what: str = "the text") -> str:
    """``text`` unchanged, after checking it can be encoded as UTF-8 (as every provider needs).

    Raises:
        InvalidInputError: the text holds a lone surrogate (half of a UTF-16 pair, typically from
            text decoded with ``errors="surrogateescape"`` or cut in the middle of an emoji); the
            message gives its position and the fix.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        shown = text[max(0, error.start - 20) : error.start].encode("unicode_escape").decode()
        raise InvalidInputError(
            f"{what} holds a lone surrogate {text[error.start]!r} at character {error.start} "
            f"(after {shown!r}), which cannot be sent as UTF-8. Repair the text first, e.g. "
            "text.encode('utf-8', 'replace').decode('utf-8'), or decode the source file "
            "with errors='replace'"
        ) from None
    return text


def _canonical_content(content: str | tuple[ContentPart, ...]) -> Any:
    if isinstance(content, str):
        return content
    return [
        part
        if isinstance(part, str)
        else {"image": hashlib.sha256(part.data).hexdigest(), "mime": part.mime_type}
        for part in content
    ]


def _response_format_from_openai(value: Mapping[str, Any]) -> ResponseFormat:
    kind = value.get("type", "text")
    if kind == "json_object":
        return ResponseFormat("json", schema=value.get("schema"))
    if kind == "json_schema":
        spec = value.get("json_schema", {})
        return ResponseFormat(
            "json_schema", schema=spec.get("schema"), name=spec.get("name", "reply")
        )
    return ResponseFormat("text")
