"""The Bedrock (boto3) and Cohere (cohere SDK) adapters against their wire formats on 127.0.0.1."""

from __future__ import annotations

import base64
import urllib.parse

import pytest

import wordgrad as tg
from tests import imaging
from tests.engine.conftest import FAST_RETRY, StubServer, json_reply
from wordgrad.engine.bedrock import BedrockEngine, ChatBedrockEngine
from wordgrad.engine.cohere import ChatCohere, CohereEngine
from wordgrad.errors import AuthenticationError, InvalidRequestError, RateLimitError
from wordgrad.llm import ImagePart, Request, ResponseFormat

pytest.importorskip("boto3")
pytest.importorskip("cohere")

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
SECRET = "co-test-0123456789abcdefSECRET"


@pytest.fixture(autouse=True)
def _no_aws_profile(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "COHERE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def converse_reply(text: str = "Paris.") -> dict[str, object]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 21, "outputTokens": 3, "totalTokens": 24},
        "metrics": {"latencyMs": 5},
    }


def bedrock(server: StubServer, **kwargs: object) -> BedrockEngine:
    return BedrockEngine(
        MODEL,
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDTESTTESTTEST",
        aws_secret_access_key="secret-test",
        retry=FAST_RETRY,
        cache=False,
        **kwargs,  # type: ignore[arg-type]
    )


def test_bedrock_converse_request_and_response(server: StubServer) -> None:
    server.queue(json_reply(converse_reply()))
    png = imaging.png()
    request = Request.chat(
        ["Capital of France?", ImagePart(png)],
        system_prompt="Be brief.",
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        stop=["END"],
        top_k=5,
    )
    response = bedrock(server).send(request)

    assert response.text == "Paris."
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (21, 3)
    sent = server.received[0]
    assert urllib.parse.unquote(sent.path) == f"/model/{MODEL}/converse"
    assert sent.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDTESTTESTTEST/")
    body = sent.json
    assert body["system"] == [{"text": "Be brief."}]
    assert body["inferenceConfig"] == {
        "maxTokens": 50,
        "temperature": 0.2,
        "topP": 0.9,
        "stopSequences": ["END"],
    }
    assert body["additionalModelRequestFields"] == {"top_k": 5}
    (message,) = body["messages"]
    assert message["role"] == "user"
    assert message["content"][0] == {"text": "Capital of France?"}
    image = message["content"][1]["image"]
    assert image["format"] == "png"
    assert base64.b64decode(image["source"]["bytes"]) == png


def test_bedrock_errors_by_status_and_upstream_signature(server: StubServer) -> None:
    throttled = json_reply({"message": "slow down"}, status=429)
    throttled.headers["x-amzn-ErrorType"] = "ThrottlingException"
    denied = json_reply({"message": "no access"}, status=403)
    denied.headers["x-amzn-ErrorType"] = "AccessDeniedException"
    invalid = json_reply({"message": "bad input"}, status=400)
    invalid.headers["x-amzn-ErrorType"] = "ValidationException"
    server.queue(throttled, throttled, throttled, denied, invalid)
    engine = bedrock(server)
    with pytest.raises(RateLimitError, match="ThrottlingException"):
        engine.generate("hi")
    assert len(server.received) == 3  # our retries only: boto3's own are off
    with pytest.raises(AuthenticationError):
        engine.generate("hi again")
    with pytest.raises(InvalidRequestError, match="bad input"):
        engine.generate("and again")

    client = engine._client
    upstream = ChatBedrockEngine(client, MODEL, "You are terse.", cache=False)
    server.queue(json_reply(converse_reply("ok")))
    assert upstream("hello") == "ok"
    assert server.received[-1].json["system"] == [{"text": "You are terse."}]


def test_bedrock_by_name_and_capabilities() -> None:
    engine = tg.get_engine(
        "bedrock/us.amazon.nova-micro-v1:0",
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )
    assert isinstance(engine, BedrockEngine)
    assert engine.capabilities.images is False
    assert engine.capabilities.max_context_tokens == 128_000


def cohere_reply(text: str = "Paris.") -> dict[str, object]:
    return {
        "id": "c1",
        "finish_reason": "COMPLETE",
        "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
        "usage": {
            "billed_units": {"input_tokens": 12, "output_tokens": 2},
            "tokens": {"input_tokens": 30, "output_tokens": 4},
        },
    }


def cohere(server: StubServer, model: str = "command-r-plus") -> CohereEngine:
    return CohereEngine(model, api_key=SECRET, base_url=server.url, retry=FAST_RETRY, cache=False)


def test_cohere_chat_request_and_response(server: StubServer) -> None:
    server.queue(json_reply(cohere_reply('{"improved_variable": "x"}')))
    schema = {"type": "object", "properties": {"improved_variable": {"type": "string"}}}
    request = Request.chat(
        "Improve it.",
        system_prompt="You revise.",
        top_p=0.5,
        max_tokens=40,
        seed=7,
        stop=["END"],
        response_format=ResponseFormat("json_schema", schema=schema),
    )
    response = cohere(server).send(request)

    assert response.text == '{"improved_variable": "x"}'
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (30, 4)
    sent = server.received[0]
    assert sent.path == "/v2/chat"
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    body = sent.json
    assert body["model"] == "command-r-plus"
    assert body["messages"] == [
        {"role": "system", "content": "You revise."},
        {"role": "user", "content": "Improve it."},
    ]
    assert (body["p"], body["max_tokens"], body["seed"], body["temperature"]) == (0.5, 40, 7, 0.0)
    assert body["stop_sequences"] == ["END"]
    assert body["response_format"] == {"type": "json_object", "json_schema": schema}


def test_cohere_images_errors_and_upstream_names(server: StubServer) -> None:
    png = imaging.png()
    server.queue(json_reply(cohere_reply("a red square")))
    vision = cohere(server, "command-a-vision-07-2025")
    assert vision.capabilities.images
    assert vision.generate(["What is it?", png]) == "a red square"
    parts = server.received[0].json["messages"][-1]["content"]
    assert parts[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(png).decode()

    server.queue(json_reply({"message": f"invalid api token {SECRET}"}, status=401))
    with pytest.raises(AuthenticationError) as caught:
        cohere(server).generate("hi")
    assert SECRET not in str(caught.value)
    server.queue(*[json_reply({"message": "too many"}, status=429)] * 3)
    with pytest.raises(RateLimitError):
        cohere(server).generate("again")

    assert ChatCohere is CohereEngine
    assert isinstance(tg.get_engine("command-r", api_key=SECRET), CohereEngine)
    assert not tg.get_engine("command-r", api_key=SECRET).capabilities.images
