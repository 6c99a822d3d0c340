"""Integration with a real model: the embedded one in-process, and the same model behind
llama.cpp's OpenAI-compatible server on 127.0.0.1 (started for these tests)."""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections.abc import Callable, Iterator

import pytest

import wordgrad as tg
import wordgrad.engine.registry as registry
from wordgrad.engine import EngineLM, LocalEngine, OpenAICompatibleEngine, RetryPolicy, get_engine
from wordgrad.errors import ContextLengthError
from wordgrad.llm import Request, ResponseFormat

pytestmark = pytest.mark.local

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
}
YES_NO = 'root ::= "yes" | "no"'


@pytest.fixture(scope="module")
def local_engine() -> LocalEngine:
    engine = get_engine("local", cache=False, max_tokens=200)
    assert isinstance(engine, LocalEngine)
    return engine


def test_the_embedded_model_answers(local_engine: LocalEngine) -> None:
    response = local_engine.send(Request.chat("What is the capital of France?"))

    assert "Paris" in response.text
    assert response.usage.prompt_tokens > 5 and response.usage.completion_tokens > 0
    assert not response.usage.estimated
    assert response.model.endswith(".gguf")
    assert local_engine.capabilities.structured_output and local_engine.capabilities.grammar
    assert local_engine.capabilities.max_context_tokens == 4096


def test_greedy_decoding_repeats_itself(local_engine: LocalEngine) -> None:
    request = Request.chat("Name a colour.", max_tokens=12)
    assert local_engine.send(request).text == local_engine.send(request).text


def test_a_json_schema_constrains_the_reply(local_engine: LocalEngine) -> None:
    request = Request.chat(
        "Which city is the capital of Italy? Reply in JSON.",
        response_format=ResponseFormat("json_schema", schema=SCHEMA),
    )
    reply = json.loads(local_engine.send(request).text)
    assert set(SCHEMA["required"]) <= set(reply)  # type: ignore[arg-type]


def test_a_grammar_constrains_the_reply(local_engine: LocalEngine) -> None:
    request = Request.chat(
        "Is water wet?", response_format=ResponseFormat("grammar", grammar=YES_NO)
    )
    assert local_engine.send(request).text in ("yes", "no")


def test_tokens_are_counted_by_the_models_tokenizer(local_engine: LocalEngine) -> None:
    assert local_engine.count_tokens("") == 0
    assert local_engine.count_tokens("hello " * 100) == 101  # not the 150 a 4-chars estimate gives


def test_a_prompt_longer_than_the_window_fails_before_decoding(local_engine: LocalEngine) -> None:
    with pytest.raises(ContextLengthError, match="4096"):
        local_engine.send(Request.chat("word " * 5000))


def test_concurrent_calls_are_serialized_and_give_the_sequential_answers(
    local_engine: LocalEngine,
) -> None:
    prompts = [f"Say the number {n}." for n in range(3)]
    sequential = [local_engine.send(Request.chat(p, max_tokens=10)).text for p in prompts]
    results: dict[int, str] = {}

    def ask(i: int) -> None:
        results[i] = local_engine.send(Request.chat(prompts[i], max_tokens=10)).text

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [results[i] for i in range(3)] == sequential


def test_the_default_engine_is_the_embedded_model(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(registry, "_default", None)
    with caplog.at_level(logging.INFO, logger="wordgrad"):
        engine = registry.default_engine()
        assert registry.default_engine() is engine
    assert isinstance(engine, LocalEngine)
    assert len([r for r in caplog.records if r.name == "wordgrad"]) == 1


# --------------------------------------------------------------------------- the server


@pytest.fixture(scope="module")
def server_engine(llama_server: str) -> Iterator[OpenAICompatibleEngine]:
    # The server decodes one request at a time: queue them here, not in its socket, so that a
    # slow machine never turns waiting into time-outs.
    engine = get_engine(
        "llamacpp/smollm2",  # llama.cpp's server: structured output starts at json_object
        base_url=llama_server,
        cache=False,
        max_tokens=200,
        max_concurrency=1,
        retry=RetryPolicy(max_attempts=2, timeout_s=600, deadline_s=1800),
    )
    assert isinstance(engine, OpenAICompatibleEngine)
    yield engine
    engine.close()  # its connections to the server close here, not at some later collection


def test_the_openai_compatible_engine_talks_to_a_real_server(
    server_engine: OpenAICompatibleEngine,
) -> None:
    response = server_engine.send(Request.chat("What is the capital of France?"))
    assert "Paris" in response.text
    assert response.usage.prompt_tokens > 5 and not response.usage.estimated


def test_a_json_schema_request_works_on_a_real_llama_cpp_server(llama_server: str) -> None:
    # llama-cpp-python's server answers 500 to the json_schema form, and a 500 is retried, never
    # a reason to step down: the llamacpp service sends json_object with the schema from the start.
    engine = get_engine("llamacpp/smollm2", base_url=llama_server, cache=False)
    request = Request.chat(
        "Which city is the capital of Italy? Reply in JSON.",
        max_tokens=60,
        response_format=ResponseFormat("json_schema", schema=SCHEMA),
    )
    reply = json.loads(engine.send(request).text)
    assert set(SCHEMA["required"]) <= set(reply)  # type: ignore[arg-type]


def test_a_grammar_through_the_llama_cpp_server(llama_server: str) -> None:
    engine = get_engine("llamacpp/smollm2", base_url=llama_server, cache=False)
    request = Request.chat(
        "Is water wet?", response_format=ResponseFormat("grammar", grammar=YES_NO)
    )
    assert engine.send(request).text in ("yes", "no")


# --------------------------------------------------------------------------- a full step


def one_training_step(engine: EngineLM) -> tuple[str, str]:
    """forward → loss → backward → TGD step; returns (old, new) value of the system prompt."""
    tg.set_backward_engine(engine, override=True)
    old = "Answer the question."
    system_prompt = tg.Variable(
        old, requires_grad=True, role_description="system prompt to the language model"
    )
    question = tg.Variable(
        "What is 7 + 5?", requires_grad=False, role_description="question to the language model"
    )
    model = tg.BlackboxLLM(engine, system_prompt=system_prompt)
    answer = model(question)
    answer.set_role_description("concise answer to the question")
    loss_fn = tg.TextLoss(
        "Evaluate the answer to the question. The correct answer is 12. Be brief.", engine=engine
    )
    loss = loss_fn(answer)
    loss.backward(engine)
    optimizer = tg.TGD(parameters=[system_prompt], engine=engine)
    with warnings.catch_warnings():
        # This tiny model's updates are often poor; the optimizer's warnings about their quality
        # (leaked tags, copied inputs) are not what this test is about.
        warnings.simplefilter("ignore")
        optimizer.step()
    assert system_prompt.gradients, "the system prompt received no feedback"
    return old, system_prompt.value


@pytest.mark.parametrize("which", ["in-process", "server"])
def test_a_full_training_step_runs_and_the_update_parses(
    which: str, request: pytest.FixtureRequest
) -> None:
    make: dict[str, Callable[[], EngineLM]] = {
        "in-process": lambda: request.getfixturevalue("local_engine"),
        "server": lambda: request.getfixturevalue("server_engine"),
    }
    old, new = one_training_step(make[which]())
    assert isinstance(new, str) and new.strip()
    assert new != old
