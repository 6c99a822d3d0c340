"""The Anthropic, Gemini and LiteLLM adapters, each against its own wire format on 127.0.0.1."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests import imaging
from tests.engine.conftest import FAST_RETRY, Reply, StubServer, completion, json_reply
from wordgrad.engine import AnthropicEngine, GeminiEngine, LiteLLMEngine, get_engine
from wordgrad.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
)
from wordgrad.llm import ImagePart, Request, ResponseFormat

JPEG = imaging.jpeg()

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}}

# --------------------------------------------------------------------------- Anthropic


def anthropic_message(text: str = "Paris.") -> dict[str, object]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test-1",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 17, "output_tokens": 4},
    }


def anthropic_engine(server: StubServer) -> AnthropicEngine:
    return AnthropicEngine(
        "claude-test-1",
        api_key="sk-ant-test-0123456789SECRET",
        base_url=server.url,
        retry=FAST_RETRY,
        cache=False,
    )


def test_anthropic_request_and_response(server: StubServer) -> None:
    server.queue(json_reply(anthropic_message()))
    request = Request.chat(
        ["Capital?", ImagePart(JPEG, "image/jpeg")],
        system_prompt="Be brief.",
        temperature=0.2,
        stop=["END"],
        response_format=ResponseFormat("json_schema", schema=SCHEMA),
    )

    response = anthropic_engine(server).send(request)

    assert response.text == "Paris."
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (17, 4)
    assert response.model == "claude-test-1"
    sent = server.received[0]
    assert sent.path == "/v1/messages"
    # The SDK sends the key as x-api-key or, in newer versions, as a bearer token.
    credential = sent.headers.get("x-api-key") or sent.headers["authorization"]
    assert credential.endswith("sk-ant-test-0123456789SECRET")
    body = sent.json
    assert body["model"] == "claude-test-1"
    assert body["system"] == "Be brief."
    assert body["max_tokens"] == 4096  # required by the API; the engine's default
    assert body["stop_sequences"] == ["END"]
    assert body["temperature"] == 0.2
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    user = body["messages"][0]
    assert user["role"] == "user"
    assert user["content"][0] == {"type": "text", "text": "Capital?"}
    assert user["content"][1]["source"] == {
        "type": "base64",
        "media_type": "image/jpeg",
        "data": base64.b64encode(JPEG).decode("ascii"),
    }


def test_anthropic_overloaded_is_retried_and_429_carries_retry_after(server: StubServer) -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    server.queue(json_reply(error, 529), json_reply(anthropic_message("ok")))
    assert anthropic_engine(server).generate("x") == "ok"
    assert len(server.received) == 2

    server.default = json_reply(error, 429, {"retry-after": "0"})
    with pytest.raises(RateLimitError) as caught:
        anthropic_engine(server).generate("x")
    assert caught.value.retry_after == 0


def test_anthropic_401_is_not_retried_and_hides_the_key(server: StubServer) -> None:
    server.default = json_reply(
        {
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        },
        401,
    )

    with pytest.raises(AuthenticationError) as caught:
        anthropic_engine(server).generate("x")

    assert len(server.received) == 1
    assert "SECRET" not in str(caught.value)


def test_anthropic_cannot_follow_a_grammar(server: StubServer) -> None:
    with pytest.raises(InvalidRequestError):
        anthropic_engine(server).send(
            Request.chat("x", response_format=ResponseFormat("grammar", grammar="root ::= x"))
        )


def test_anthropic_without_a_key_says_what_to_set() -> None:
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        get_engine("claude-3-5-sonnet-20240620")


# --------------------------------------------------------------------------- Gemini


def gemini_reply(text: str = "hello") -> dict[str, object]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}
        ],
        "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 2, "totalTokenCount": 9},
        "modelVersion": "gemini-test-001",
    }


def gemini_engine(server: StubServer) -> GeminiEngine:
    return GeminiEngine(
        "gemini-test",
        api_key="AIzaTEST0123456789SECRET",
        base_url=server.url,
        retry=FAST_RETRY,
        cache=False,
    )


def test_gemini_request_and_response(server: StubServer) -> None:
    server.queue(json_reply(gemini_reply("Paris.")))
    engine = gemini_engine(server)
    request = Request.chat(
        "Capital?",
        system_prompt="Be brief.",
        max_tokens=20,
        seed=3,
        stop=["END"],
        response_format=ResponseFormat("json_schema", schema=SCHEMA),
    )

    response = engine.send(request)
    engine.close()

    assert response.text == "Paris."
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (7, 2)
    assert response.model == "gemini-test-001"
    sent = server.received[0]
    assert sent.path.endswith("/models/gemini-test:generateContent")
    assert sent.headers["x-goog-api-key"] == "AIzaTEST0123456789SECRET"
    body = sent.json
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Capital?"}]}]
    assert body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert body["generationConfig"] == {
        "temperature": 0.0,
        "maxOutputTokens": 20,
        "seed": 3,
        "stopSequences": ["END"],
        "responseMimeType": "application/json",
        "responseJsonSchema": SCHEMA,
    }


def test_gemini_errors_are_classified(server: StubServer) -> None:
    server.queue(
        json_reply({"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}}, 503),
        json_reply(gemini_reply("ok")),
    )
    engine = gemini_engine(server)
    assert engine.generate("x") == "ok"
    assert len(server.received) == 2

    server.default = json_reply(
        {"error": {"code": 429, "message": "slow", "status": "RESOURCE_EXHAUSTED"}},
        429,
        {"retry-after": "0"},
    )
    with pytest.raises(RateLimitError) as caught:
        engine.generate("y")
    assert caught.value.retry_after == 0
    assert len(server.received) == 2 + FAST_RETRY.max_attempts

    server.default = json_reply(
        {"error": {"code": 401, "message": "bad key AIzaTEST0123456789SECRET"}}, 401
    )
    with pytest.raises(AuthenticationError) as auth:
        engine.generate("z")
    assert "SECRET" not in str(auth.value)

    server.default = Reply(200, b'{"cand', {"content-type": "application/json"})
    with pytest.raises(ResponseFormatError):
        engine.generate("w")
    engine.close()


def test_gemini_without_a_key_says_what_to_set() -> None:
    with pytest.raises(ConfigurationError, match="GOOGLE_API_KEY"):
        get_engine("gemini-2.0-flash")


# --------------------------------------------------------------------------- LiteLLM


def litellm_engine(server: StubServer) -> LiteLLMEngine:
    return LiteLLMEngine(
        "openai/my-model",
        api_key="sk-lite-0123456789SECRET",
        base_url=server.url + "/v1",
        retry=FAST_RETRY,
        cache=False,
    )


def test_litellm_sends_sampling_parameters_and_the_response_format(server: StubServer) -> None:
    server.queue(json_reply(completion('{"answer": "x"}', prompt_tokens=9, completion_tokens=5)))
    request = Request.chat(
        "q",
        system_prompt="sys",
        max_tokens=30,
        seed=1,
        response_format=ResponseFormat("json_schema", schema=SCHEMA),
    )

    response = litellm_engine(server).send(request)

    assert response.text == '{"answer": "x"}'
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (9, 5)
    sent = server.received[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-lite-0123456789SECRET"
    body = sent.json
    assert body["model"] == "my-model"
    assert body["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "q"},
    ]
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.0, 30, 1)
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA


def test_litellm_errors_are_classified_and_retried_only_by_us(server: StubServer) -> None:
    server.default = json_reply({"error": {"message": "slow"}}, 429, {"retry-after": "0"})
    with pytest.raises(RateLimitError):
        litellm_engine(server).generate("x")
    assert len(server.received) == FAST_RETRY.max_attempts

    server.received.clear()
    server.default = json_reply({"error": {"message": "bad key sk-lite-0123456789SECRET"}}, 401)
    with pytest.raises(AuthenticationError) as caught:
        litellm_engine(server).generate("y")
    assert len(server.received) == 1
    assert "SECRET" not in str(caught.value)

    server.received.clear()
    server.default = Reply(500, b"oops")
    with pytest.raises(ServerError):
        litellm_engine(server).generate("z")
    assert len(server.received) == FAST_RETRY.max_attempts


def test_upstream_experimental_names_route_to_litellm() -> None:
    engine = get_engine("experimental:openai/gpt-4o-mini", api_key="x")
    assert isinstance(engine, LiteLLMEngine)
    assert engine.model_string == "openai/gpt-4o-mini"


def test_litellm_steps_down_when_the_server_rejects_the_response_format(
    server: StubServer,
) -> None:
    server.queue(
        json_reply({"error": {"message": "response_format json_schema is not supported"}}, 400),
        json_reply(completion('{"answer": "x"}')),
        json_reply(completion('{"answer": "y"}')),
    )
    engine = litellm_engine(server)
    fmt = ResponseFormat("json_schema", schema=SCHEMA)

    assert engine.send(Request.chat("q1", response_format=fmt)).text == '{"answer": "x"}'
    assert engine.send(Request.chat("q2", response_format=fmt)).text == '{"answer": "y"}'

    kinds = [r.json["response_format"]["type"] for r in server.received]
    assert kinds == ["json_schema", "json_object", "json_object"]


def _printed_chain(error: BaseException) -> str:
    """Everything a traceback of ``error`` would print, chained exceptions included."""
    import traceback

    return "".join(traceback.format_exception(error))


@pytest.mark.parametrize("provider", ["anthropic", "gemini", "litellm"])
def test_a_key_echoed_by_the_provider_is_in_no_chained_exception(
    server: StubServer, provider: str
) -> None:
    engine: Any
    if provider == "anthropic":
        engine, key = anthropic_engine(server), "sk-ant-test-0123456789SECRET"
    elif provider == "gemini":
        engine, key = gemini_engine(server), "AIzaTEST0123456789SECRET"
    else:
        engine, key = litellm_engine(server), "sk-lite-0123456789SECRET"
    server.default = json_reply(
        {"error": {"code": 401, "type": "authentication_error", "message": f"bad key {key}"}}, 401
    )

    with pytest.raises(AuthenticationError) as caught:
        engine.generate("x")

    assert key not in _printed_chain(caught.value)
