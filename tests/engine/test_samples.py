"""Distinct samples at temperature > 0: a sample index is part of the cache key, never sent."""

from __future__ import annotations

import itertools

import pytest

import wordgrad as tg
from tests.engine.conftest import StubServer, completion, json_reply
from wordgrad.engine import OpenAICompatibleEngine
from wordgrad.errors import InvalidInputError
from wordgrad.llm import Request


def test_repeats_of_one_request_share_a_reply_but_samples_do_not(tmp_path) -> None:  # type: ignore[no-untyped-def]
    counter = itertools.count(1)
    engine = tg.ScriptedEngine(
        lambda r: f"draw {next(counter)}", cache=str(tmp_path / "c.sqlite3"), temperature=0.8
    )
    assert engine.generate("Pick a number") == engine.generate("Pick a number") == "draw 1"
    votes = [engine.generate("Pick a number", sample=i) for i in range(3)]
    assert votes == ["draw 2", "draw 3", "draw 4"]
    # ... and each sample is itself cached: a rerun of the vote costs nothing
    assert [engine.generate("Pick a number", sample=i) for i in range(3)] == votes
    assert len(engine.requests) == 4


def test_an_engine_built_with_a_sample_index_gives_ops_distinct_samples() -> None:
    counter = itertools.count(1)
    base = tg.ScriptedEngine(lambda r: f"answer {next(counter)}", temperature=0.7)
    question = tg.Variable("Is 91 prime?", requires_grad=False, role_description="question")
    answers = [tg.BlackboxLLM(tg.engine.sampled(base, i))(question).value for i in range(3)]
    assert sorted(answers) == ["answer 1", "answer 2", "answer 3"]
    assert sorted(r.sample for r in base.requests) == [0, 1, 2]  # type: ignore[type-var]


def test_the_sample_index_changes_the_fingerprint_only() -> None:
    plain = Request.chat("q", temperature=0.5)
    assert plain.fingerprint() == Request.chat("q", temperature=0.5).fingerprint()
    assert Request.chat("q", temperature=0.5, sample=1).fingerprint() != plain.fingerprint()
    assert plain.sampling_params() == Request.chat("q", temperature=0.5, sample=1).sampling_params()
    with pytest.raises(InvalidInputError, match="sample must be"):
        Request.chat("q", sample=-1)


def test_the_sample_index_is_never_sent_to_the_provider(server: StubServer) -> None:
    server.queue(json_reply(completion("one")))
    engine = OpenAICompatibleEngine(
        "my-model", base_url=server.url, api_key="sk-test-0123456789abcdef", cache=False
    )
    engine.generate("Pick", sample=5, temperature=0.9)
    body = server.received[0].json
    assert "sample" not in body and "sample" not in str(body.get("extra_body", ""))
    assert body["temperature"] == 0.9


def test_sampled_views_share_the_engines_concurrency_limit() -> None:
    import threading
    import time

    lock = threading.Lock()
    running = [0, 0]  # now, peak

    def slow(request: Request) -> str:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return f"sample {request.sample}"

    base = tg.ScriptedEngine(slow, temperature=0.7, max_concurrency=1)
    question = tg.Variable("Is 91 prime?", requires_grad=False, role_description="question")
    answers = [tg.BlackboxLLM(tg.engine.sampled(base, i))(question) for i in range(3)]
    assert sorted(a.value for a in answers) == ["sample 0", "sample 1", "sample 2"]
    assert running[1] == 1  # the views queued behind the one limit of their engine
