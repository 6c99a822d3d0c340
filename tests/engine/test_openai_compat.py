"""The OpenAI-compatible engine against a real HTTP server on 127.0.0.1.

Each failure class is provoked on the wire; the tests count the attempts the server saw and check
the exception that comes out.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
import time
from pathlib import Path

import openai
import pytest

from tests import imaging
from tests.engine.conftest import (
    FAST_RETRY,
    Reply,
    StubServer,
    completion,
    free_port,
    json_reply,
)
from wordgrad.engine import ChatExternalClient, OpenAICompatibleEngine, get_engine
from wordgrad.engine.retry import RetryPolicy
from wordgrad.errors import (
    AuthenticationError,
    ConfigurationError,
    EngineConnectionError,
    EngineError,
    EngineTimeoutError,
    InvalidRequestError,
    MalformedResponseError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
)
from wordgrad.llm import ImagePart, Request, ResponseFormat

SECRET = "sk-test-0123456789abcdefSECRET"


def engine_for(server: StubServer, **kwargs: object) -> OpenAICompatibleEngine:
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("cache", False)
    return OpenAICompatibleEngine("my-model", base_url=server.url + "/v1", api_key=SECRET, **kwargs)


def test_sends_the_request_and_parses_text_usage_and_model(server: StubServer) -> None:
    server.queue(json_reply(completion("Paris.", prompt_tokens=21, completion_tokens=3)))
    engine = engine_for(server)
    request = Request.chat(
        "Capital of France?",
        system_prompt="Be brief.",
        temperature=0.3,
        max_tokens=50,
        top_p=0.9,
        seed=7,
        stop=["\n\n"],
        logprobs=True,
    )

    response = engine.send(request)

    assert response.text == "Paris."
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (21, 3)
    assert not response.usage.estimated
    assert response.model == "m"
    assert response.latency_s > 0
    assert not response.cached
    sent = server.received[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert sent.json == {
        "model": "my-model",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"},
        ],
        "temperature": 0.3,
        "max_tokens": 50,
        "top_p": 0.9,
        "seed": 7,
        "stop": ["\n\n"],
        "logprobs": True,
    }


def test_generate_and_call_use_the_default_system_prompt_and_greedy_decoding(
    server: StubServer,
) -> None:
    server.queue(json_reply(completion("a")), json_reply(completion("b")))
    engine = engine_for(server, system_prompt="You are terse.")

    assert engine.generate("q1") == "a"
    assert engine("q2", system_prompt="Other.") == "b"

    first, second = (r.json for r in server.received)
    assert first["messages"][0] == {"role": "system", "content": "You are terse."}
    assert first["temperature"] == 0.0
    assert second["messages"][0] == {"role": "system", "content": "Other."}


def test_images_are_sent_as_data_urls(server: StubServer) -> None:
    server.queue(json_reply(completion("a cat")))
    engine = engine_for(server, is_multimodal=True)  # "my-model" is not known to take images

    engine.generate(["What is this?", ImagePart(imaging.PNG, "image/png")])

    content = server.received[0].json["messages"][1]["content"]
    assert content[0] == {"type": "text", "text": "What is this?"}
    assert content[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(
        imaging.PNG
    ).decode("ascii")


def test_n_choices_come_back_in_order(server: StubServer) -> None:
    body = completion("one")
    body["choices"].append({"index": 1, "message": {"role": "assistant", "content": "two"}})
    server.queue(json_reply(body))

    response = engine_for(server).send(Request.chat("x", n=2))

    assert response.texts == ("one", "two")
    assert server.received[0].json["n"] == 2


def test_missing_usage_is_estimated(server: StubServer) -> None:
    body = completion("four")
    del body["usage"]
    server.queue(json_reply(body))

    response = engine_for(server).send(Request.chat("x" * 40))

    assert response.usage.estimated
    assert response.usage.prompt_tokens == 10


# --------------------------------------------------------------------------- failure classes


def test_429_waits_for_retry_after_then_succeeds(server: StubServer) -> None:
    server.queue(
        json_reply({"error": {"message": "slow down"}}, 429, {"retry-after": "1"}),
        json_reply(completion("ok")),
    )

    assert engine_for(server).generate("x") == "ok"

    first, second = server.received
    assert second.at - first.at >= 0.9  # the server's Retry-After was honoured


def test_429_until_attempts_run_out_raises_rate_limit_error(server: StubServer) -> None:
    server.default = json_reply({"error": {"message": "slow"}}, 429, {"retry-after-ms": "10"})

    with pytest.raises(RateLimitError) as caught:
        engine_for(server).generate("x")

    assert len(server.received) == FAST_RETRY.max_attempts
    assert caught.value.retry_after == pytest.approx(0.01)
    assert caught.value.status == 429


@pytest.mark.parametrize("status", [500, 502, 503, 408, 409])
def test_server_errors_are_retried_until_attempts_run_out(server: StubServer, status: int) -> None:
    server.default = Reply(status, b"oops")

    with pytest.raises(ServerError) as caught:
        engine_for(server).generate("x")

    assert caught.value.status == status
    assert len(server.received) == FAST_RETRY.max_attempts  # the SDK itself never retried


def test_a_500_then_success_is_one_answer(server: StubServer) -> None:
    server.queue(Reply(500, b"oops"), json_reply(completion("fine")))

    assert engine_for(server).generate("x") == "fine"
    assert len(server.received) == 2


def test_time_out_is_retried_then_raised(server: StubServer) -> None:
    server.default = dataclasses.replace(json_reply(completion()), delay_s=1.0)
    policy = dataclasses.replace(FAST_RETRY, max_attempts=2, timeout_s=0.2)

    with pytest.raises(EngineTimeoutError):
        engine_for(server, retry=policy).generate("x")

    assert len(server.received) == 2


def test_a_malformed_200_is_retried(server: StubServer) -> None:
    server.queue(Reply(200, b'{"id": "x", "choi', {"content-type": "application/json"}))
    server.queue(json_reply(completion("fine")))

    assert engine_for(server).generate("x") == "fine"
    assert len(server.received) == 2


def test_malformed_json_every_time_is_a_response_format_error(server: StubServer) -> None:
    server.default = Reply(200, b'{"id": "x", "choi', {"content-type": "application/json"})

    with pytest.raises(MalformedResponseError):
        engine_for(server).generate("x")

    assert len(server.received) == FAST_RETRY.max_attempts


def test_a_reply_without_choices_is_a_response_format_error(server: StubServer) -> None:
    server.default = json_reply({"id": "x", "object": "chat.completion"})

    with pytest.raises(ResponseFormatError, match="choices"):
        engine_for(server).generate("x")


def test_a_body_that_is_not_utf8_is_a_clear_error_and_not_retried(server: StubServer) -> None:
    body = json.dumps(completion("caf\u00e9")).encode("utf-8").replace(b"\\u00e9", b"\xe9")
    server.default = Reply(200, body, {"content-type": "application/json"})

    with pytest.raises(ResponseFormatError, match="UTF-8") as caught:
        engine_for(server).generate("x")

    assert not isinstance(caught.value, MalformedResponseError)
    assert len(server.received) == 1


def test_null_content_is_a_clear_error_not_an_empty_reply(server: StubServer) -> None:
    reply = completion()
    reply["choices"][0]["message"]["content"] = None
    server.default = json_reply(reply)

    with pytest.raises(ResponseFormatError, match="null"):
        engine_for(server).generate("x")

    assert len(server.received) == 1


def test_a_lone_surrogate_in_a_reply_never_gets_past_the_engine(
    server: StubServer, tmp_path: Path
) -> None:
    body = json.dumps(completion("half \ud83d of a pair")).encode("ascii")
    server.queue(Reply(200, body, {"content-type": "application/json"}))
    engine = engine_for(server, cache=str(tmp_path / "c.sqlite3"))

    text = engine.generate("x")

    assert text == "half \ufffd of a pair"
    text.encode("utf-8")  # writable anywhere: logs, checkpoints, the cache
    assert engine.generate("x") == text  # and the cache stored it
    assert len(server.received) == 1


def test_401_is_not_retried_and_never_shows_the_key(server: StubServer) -> None:
    server.default = json_reply(
        {"error": {"message": f"Incorrect API key provided: {SECRET}"}}, 401
    )
    engine = engine_for(server)

    with pytest.raises(AuthenticationError) as caught:
        engine.generate("x")

    assert len(server.received) == 1
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(engine)


@pytest.mark.parametrize("status", [400, 404, 422])
def test_validation_errors_are_not_retried(server: StubServer, status: int) -> None:
    server.default = json_reply({"error": {"message": "bad request"}}, status)

    with pytest.raises(InvalidRequestError) as caught:
        engine_for(server).generate("x")

    assert caught.value.status == status
    assert len(server.received) == 1


def test_connection_refused_is_retried_over_the_window_then_raised(server: StubServer) -> None:
    url = server.url
    server.close()  # nothing listens there any more
    policy = dataclasses.replace(FAST_RETRY, reconnect_window_s=0.6)
    engine = OpenAICompatibleEngine(
        "m", base_url=url + "/v1", api_key="x", retry=policy, cache=False
    )

    started = time.monotonic()
    with pytest.raises(EngineConnectionError):
        engine.generate("x")

    assert 0.6 <= time.monotonic() - started < 5  # tried for the window, more than 3 attempts


def test_a_server_restart_is_ridden_out() -> None:
    port = free_port()
    engine = OpenAICompatibleEngine(
        "m", base_url=f"http://127.0.0.1:{port}/v1", api_key="x", retry=FAST_RETRY, cache=False
    )
    restarted: list[StubServer] = []

    def restart() -> None:
        time.sleep(1.5)  # longer than FAST_RETRY's three attempts would last
        stub = StubServer(port=port)
        stub.default = json_reply(completion("back"))
        restarted.append(stub)

    threading.Thread(target=restart).start()
    try:
        assert engine.generate("x") == "back"
    finally:
        time.sleep(0.01)
        for stub in restarted:
            stub.close()


def test_total_deadline_cuts_retries_short(server: StubServer) -> None:
    server.default = json_reply({"error": {"message": "slow"}}, 429, {"retry-after": "30"})
    policy = dataclasses.replace(FAST_RETRY, max_attempts=5, deadline_s=2.0)

    with pytest.raises(Exception) as caught:
        engine_for(server, retry=policy).generate("x")

    assert type(caught.value).__name__ == "DeadlineExceededError"
    assert isinstance(caught.value.__cause__, RateLimitError)
    assert len(server.received) == 1


# --------------------------------------------------------------------------- structured output


SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def test_json_schema_is_sent_in_openai_form(server: StubServer) -> None:
    server.queue(json_reply(completion('{"answer": "x"}')))
    request = Request.chat("q", response_format=ResponseFormat("json_schema", schema=SCHEMA))

    engine_for(server).send(request)

    assert server.received[0].json["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "reply", "schema": SCHEMA},
    }


def test_a_server_that_rejects_json_schema_gets_json_object_from_then_on(
    server: StubServer,
) -> None:
    server.queue(
        Reply(400, b"response_format.type: Input should be 'text' or 'json_object'"),
        json_reply(completion('{"answer": "a"}')),
        json_reply(completion('{"answer": "b"}')),
    )
    engine = engine_for(server)
    fmt = ResponseFormat("json_schema", schema=SCHEMA)

    assert engine.send(Request.chat("q1", response_format=fmt)).text == '{"answer": "a"}'
    assert engine.send(Request.chat("q2", response_format=fmt)).text == '{"answer": "b"}'

    formats = [r.json["response_format"] for r in server.received]
    assert formats[0]["type"] == "json_schema"
    assert formats[1] == {"type": "json_object", "schema": SCHEMA}
    assert formats[2] == {"type": "json_object", "schema": SCHEMA}  # remembered


def test_a_server_error_on_json_schema_is_retried_in_the_same_form(server: StubServer) -> None:
    server.queue(Reply(500, b"overloaded"), json_reply(completion('{"answer": "a"}')))
    engine = engine_for(server)
    fmt = ResponseFormat("json_schema", schema=SCHEMA)

    assert engine.send(Request.chat("q1", response_format=fmt)).text == '{"answer": "a"}'

    formats = [r.json["response_format"]["type"] for r in server.received]
    assert formats == ["json_schema", "json_schema"]  # a 500 never downgrades the engine


def test_a_server_that_rejects_json_object_too_ends_at_plain_text_with_tags(
    server: StubServer,
) -> None:
    server.queue(
        Reply(400, b'{"error": "response_format json_schema is not supported"}'),
        Reply(422, b"{\"error\": \"'response_format.type' must be 'json_schema'\"}"),
        json_reply(completion("<A>first</A>")),
        json_reply(completion("<A>second</A>")),
    )
    engine = engine_for(server)
    fmt = ResponseFormat("json_schema", schema=SCHEMA)

    def asking(question: str) -> Request:
        return dataclasses.replace(
            Request.chat(question + " (JSON)", response_format=fmt),
            fallback=Request.chat(question + " (tags)"),
        )

    assert engine.send(asking("q1")).text == "<A>first</A>"
    assert engine.send(asking("q2")).text == "<A>second</A>"

    sent = [
        (r.json.get("response_format", {}).get("type"), r.json["messages"][-1]["content"])
        for r in server.received
    ]
    assert sent == [
        ("json_schema", "q1 (JSON)"),
        ("json_object", "q1 (JSON)"),
        (None, "q1 (tags)"),
        (None, "q2 (tags)"),  # remembered
    ]


def test_plain_json_is_json_object(server: StubServer) -> None:
    server.queue(json_reply(completion("{}")))

    engine_for(server).send(Request.chat("q", response_format={"type": "json_object"}))

    assert server.received[0].json["response_format"] == {"type": "json_object"}


def test_grammar_goes_in_the_body_for_llama_cpp_servers(server: StubServer) -> None:
    server.queue(json_reply(completion("yes")))
    engine = get_engine("llamacpp/any", base_url=server.url + "/v1", retry=FAST_RETRY, cache=False)
    assert engine.capabilities.grammar

    engine.send(
        Request.chat("q", response_format=ResponseFormat("grammar", grammar='root ::= "yes"'))
    )

    assert server.received[0].json["grammar"] == 'root ::= "yes"'
    assert server.received[0].headers["authorization"] == "Bearer not-needed"


def test_grammar_on_a_server_without_grammars_fails_before_sending(server: StubServer) -> None:
    engine = engine_for(server)
    assert not engine.capabilities.grammar

    with pytest.raises(InvalidRequestError, match="grammar"):
        engine.send(Request.chat("q", response_format=ResponseFormat("grammar", grammar="x")))

    assert server.received == []


# --------------------------------------------------------------------------- setup


def test_openai_env_vars_are_honoured(server: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-0123456789")
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    server.queue(json_reply(completion("hi")))

    engine = get_engine("gpt-4o-mini", cache=False)

    assert engine.generate("x") == "hi"
    assert server.received[0].headers["authorization"] == "Bearer sk-from-env-0123456789"
    assert server.received[0].json["model"] == "gpt-4o-mini"


def test_official_openai_without_a_key_says_what_to_set() -> None:
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        get_engine("gpt-4o")


def test_a_hosted_service_needs_its_own_key() -> None:
    with pytest.raises(ConfigurationError, match="GROQ_API_KEY"):
        get_engine("groq/llama-3.1-8b-instant")


def test_openai_models_get_known_capabilities(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")

    engine = get_engine("gpt-4o-mini")

    assert engine.capabilities.max_context_tokens == 128_000
    assert engine.capabilities.images and engine.capabilities.structured_output
    assert engine.default_params == {"temperature": 0.0}
    reasoning = get_engine("o3-mini")
    assert "temperature" not in reasoning.default_params  # reasoning models refuse it


def test_a_users_own_client_is_wrapped_without_being_changed(server: StubServer) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="sk-user", max_retries=4)
    server.default = Reply(500, b"down")
    engine = ChatExternalClient(client, "their-model", retry=FAST_RETRY, cache=False)

    with pytest.raises(ServerError):
        engine.generate("x")

    assert client.max_retries == 4  # theirs is untouched
    assert len(server.received) == FAST_RETRY.max_attempts  # only our retry layer ran
    assert server.received[0].json["model"] == "their-model"
    client.close()


def test_servers_with_the_same_model_name_do_not_share_cache_entries(tmp_path: object) -> None:
    a = OpenAICompatibleEngine("m", base_url="http://127.0.0.1:1/v1", api_key="x")
    b = OpenAICompatibleEngine("m", base_url="http://127.0.0.1:2/v1", api_key="x")

    assert a.cache_namespace != b.cache_namespace


def test_default_deadline_policy_is_sane() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts >= 2 and policy.deadline_s and policy.timeout_s


def test_json_with_raw_newlines_in_strings_comes_back_strict(server: StubServer) -> None:
    lenient = '{"improved_variable": "line one\nline two"}'  # as llama.cpp's grammar allows
    server.queue(json_reply(completion(lenient)), json_reply(completion(lenient)))
    engine = engine_for(server)

    as_json = engine.send(Request.chat("q", response_format={"type": "json_object"})).text
    as_text = engine.send(Request.chat("q")).text

    assert json.loads(as_json) == {"improved_variable": "line one\nline two"}
    assert as_text == lenient  # free text is never touched


def test_a_second_identical_call_is_served_from_the_cache(
    server: StubServer, tmp_path: Path
) -> None:
    server.default = json_reply(completion("cached?"))
    engine = engine_for(server, cache=tmp_path / "c.sqlite3")
    request = Request.chat("same", temperature=0.0)

    first, second = engine.send(request), engine.send(request)
    engine.send(request.with_params(temperature=0.5))

    assert (first.cached, second.cached) == (False, True)
    assert second.text == "cached?"
    assert len(server.received) == 2  # the first call and the one with another temperature


def test_no_exception_in_the_chain_shows_the_key(server: StubServer) -> None:
    import traceback

    server.default = json_reply(
        {"error": {"message": f"Incorrect API key provided: {SECRET}"}}, 401
    )
    with pytest.raises(AuthenticationError) as caught:
        engine_for(server).generate("x")

    chain: list[BaseException] = []
    error: BaseException | None = caught.value
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    printed = "".join(traceback.format_exception(caught.value))
    assert SECRET not in printed
    assert all(SECRET not in str(e) and SECRET not in repr(e) for e in chain)


def test_a_trickled_reply_cannot_outlive_the_time_out(server: StubServer) -> None:
    server.default = dataclasses.replace(json_reply(completion("slow")), trickle_s=0.1)
    policy = dataclasses.replace(FAST_RETRY, max_attempts=1, timeout_s=0.5, deadline_s=1.0)

    started = time.monotonic()
    with pytest.raises(EngineTimeoutError):
        engine_for(server, retry=policy).generate("x")

    assert time.monotonic() - started < 1.5  # the body alone takes 30 s at this pace
    deadline = time.monotonic() + 2
    while not server.aborted and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.aborted == 1  # and the connection was closed, not left trickling


def test_the_deadline_bounds_a_trickled_reply_across_retries(server: StubServer) -> None:
    server.default = dataclasses.replace(json_reply(completion("slow")), trickle_s=0.1)
    policy = dataclasses.replace(FAST_RETRY, max_attempts=5, timeout_s=0.6, deadline_s=1.0)

    started = time.monotonic()
    with pytest.raises(EngineError):
        engine_for(server, retry=policy).generate("x")

    assert time.monotonic() - started < 1.6


def test_a_model_named_gpt_4o_takes_images_behind_any_base_url(
    server: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wordgrad as tg

    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-placeholder-key")
    server.default = json_reply(completion("a red square"))
    engine = get_engine("gpt-4o", cache=False)

    assert engine.capabilities.images
    assert engine.capabilities.max_context_tokens == 128_000
    image = tg.Variable(imaging.PNG, requires_grad=False, role_description="image")
    question = tg.Variable("What is this?", requires_grad=False, role_description="question")
    assert tg.autograd.MultimodalLLMCall(engine)([image, question]).value == "a red square"

    engine.capabilities = dataclasses.replace(engine.capabilities, images=False)  # overridable
    assert not engine.capabilities.images


def test_reasoning_models_get_max_completion_tokens_behind_any_base_url(
    server: StubServer,
) -> None:
    server.default = json_reply(completion("ok"))
    engine = OpenAICompatibleEngine(
        "o3-mini", base_url=server.url + "/v1", api_key="x", cache=False
    )
    engine.send(Request.chat("q", max_tokens=5))
    assert server.received[0].json["max_completion_tokens"] == 5


def test_close_shuts_an_engines_connections(server: StubServer) -> None:
    server.queue(json_reply(completion("two")))
    engine = engine_for(server)
    assert engine.send(Request.chat("second")).text == "two"
    assert not engine._client.is_closed()
    engine.close()
    assert engine._client.is_closed()
