"""``EngineLM``'s pipeline: users' own engines, concurrency and rate limits, defaults, context."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import wordgrad.engine.base as base
from tests import imaging
from wordgrad import executor
from wordgrad.engine import EngineLM, RateLimiter, ScriptedEngine, track
from wordgrad.errors import ConfigurationError, ContextLengthError, ServerError
from wordgrad.executor import EXECUTOR, resolve
from wordgrad.llm import Capabilities, Request, Response


class UpstreamStyle(EngineLM):
    """What an upstream user writes: only ``generate``, returning a string."""

    def __init__(self) -> None:  # deliberately does not call EngineLM.__init__
        self.model_string = "my-own"
        self.calls: list[tuple[Any, str | None, dict[str, Any]]] = []

    def generate(self, prompt: Any, system_prompt: str | None = None, **kwargs: Any) -> str:
        self.calls.append((prompt, system_prompt, kwargs))
        return f"echo: {prompt}"

    def __call__(self, prompt: Any, **kwargs: Any) -> str:
        return self.generate(prompt, **kwargs)


def test_an_upstream_style_engine_gets_the_cache_and_usage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORDGRAD_CACHE_DIR", str(tmp_path))
    engine = UpstreamStyle()
    request = Request.chat("hi", system_prompt="sys", temperature=0.5)

    with track() as meter:
        first = engine.send(request, purpose="backward")
        second = engine.send(request, purpose="backward")

    assert first.text == second.text == "echo: hi"
    assert engine.calls == [("hi", "sys", {"temperature": 0.5})]  # the second came from the cache
    assert second.cached
    assert meter.by_engine["custom/my-own"].calls == 2
    assert meter.by_purpose["backward"].cached_calls == 1
    assert first.usage.estimated


def test_an_upstream_style_engine_runs_through_the_executor() -> None:
    engine = UpstreamStyle()
    engine.configure(cache=False)
    future = EXECUTOR.submit(engine, lambda: Request.chat("x").about("forward", "test"))
    assert resolve(future).text == "echo: x"


def test_an_upstream_style_engine_receives_images_as_bytes() -> None:
    engine = UpstreamStyle()
    engine.is_multimodal = True  # upstream's flag on a user's engine that takes images
    engine.configure(cache=False)
    engine.send(Request.chat(["look", imaging.PNG]))
    assert engine.calls[0][0] == ["look", imaging.PNG]


def test_an_image_to_an_engine_without_image_input_is_refused_before_sending() -> None:
    engine = UpstreamStyle()
    engine.configure(cache=False)

    with pytest.raises(ConfigurationError, match="not marked as taking images"):
        engine.generate(["look", imaging.PNG])
    with pytest.raises(ConfigurationError, match="is_multimodal=True"):
        engine.send(Request.chat(["look", imaging.PNG]))
    assert engine.calls == []

    text_only = ScriptedEngine(["never sent"], model_string="gpt-3.5-turbo")
    with pytest.raises(ConfigurationError, match="not marked as taking images"):
        text_only.generate(["what is this?", imaging.PNG])
    assert text_only.requests == []


def test_generate_must_return_text() -> None:
    class Broken(EngineLM):
        def generate(self, prompt: Any, system_prompt: str | None = None, **kw: Any) -> str:
            return 42  # type: ignore[return-value]

    with pytest.raises(TypeError, match="must return a str"):
        Broken(cache=False).send(Request.chat("x"))


def test_an_engine_with_neither_method_says_what_to_implement() -> None:
    with pytest.raises(NotImplementedError, match="complete"):
        EngineLM(cache=False).send(Request.chat("x"))


class Gauge(EngineLM):
    """Records how many calls run at once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("gauge", cache=False, **kwargs)
        self.running = 0
        self.peak = 0
        self.lock = threading.Lock()

    def generate(self, prompt: Any, system_prompt: str | None = None, **kw: Any) -> str:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        return "ok"


def send_at_once(engine: EngineLM, count: int) -> None:
    """Send ``count`` different requests from as many threads at once."""
    threads = [
        threading.Thread(target=engine.send, args=(Request.chat(f"q{i}"),)) for i in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.parametrize("limit", [1, 3])
def test_max_concurrency_bounds_calls_in_flight(limit: int) -> None:
    engine = Gauge(max_concurrency=limit)
    send_at_once(engine, 8)
    assert engine.peak == limit


def test_without_a_limit_calls_overlap() -> None:
    engine = Gauge()
    send_at_once(engine, 4)
    assert engine.peak > 1


def test_max_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Gauge(max_concurrency=0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_requests_per_minute_waits_for_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(base.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(base.time, "sleep", clock.sleep)
    limiter = RateLimiter(requests_per_minute=3)

    for _ in range(3):
        limiter.acquire()
    assert clock.sleeps == []  # three fit in the first minute
    clock.now += 20
    limiter.acquire()  # the fourth waits until the first leaves the window

    assert sum(clock.sleeps) == pytest.approx(40)


def test_engines_apply_their_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executor, "RATE_WINDOW_S", 0.4)  # a "minute" of 0.4 s
    started: list[float] = []
    engine = ScriptedEngine(lambda r: str(started.append(time.monotonic())), requests_per_minute=2)
    begin = time.monotonic()
    send_at_once(engine, 3)
    _, second, third = sorted(t - begin for t in started)
    assert second < 0.2 and third >= 0.4  # the third waited for the window, in the queue
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_retries_happen_inside_send() -> None:
    replies: list[str | BaseException] = [ServerError("down", status=503), "ok"]
    engine = ScriptedEngine(replies)
    engine.retry = base.RetryPolicy(max_attempts=2, initial_backoff_s=0, max_backoff_s=0)
    assert engine.send(Request.chat("x")).text == "ok"
    assert len(engine.requests) == 2


def test_engine_defaults_fill_what_the_request_leaves_unset() -> None:
    engine = ScriptedEngine(temperature=0.0, max_tokens=64, logprobs=True)
    engine.send(Request.chat("a"))
    engine.send(Request.chat("b", temperature=0.9, logprobs=False))

    first, second = engine.requests
    assert (first.temperature, first.max_tokens, dict(first.extra)) == (0.0, 64, {"logprobs": True})
    assert (second.temperature, second.max_tokens) == (0.9, 64)
    assert dict(second.extra) == {"logprobs": False}


def test_a_prompt_too_long_for_the_window_fails_before_sending() -> None:
    engine = ScriptedEngine(capabilities=Capabilities(max_context_tokens=10))
    with pytest.raises(ContextLengthError, match="about 26 tokens"):
        engine.send(Request.chat("x" * 100))
    assert engine.requests == []


def test_capabilities_can_be_set_by_the_user() -> None:
    engine = ScriptedEngine()
    engine.capabilities = Capabilities(structured_output=True, images=True)
    assert engine.capabilities.images


def test_agenerate_and_call() -> None:
    engine = ScriptedEngine(lambda request: request.prompt.upper())
    assert asyncio.run(engine.agenerate("abc")) == "ABC"
    assert engine("def") == "DEF"
    assert engine.requests[0].system_prompt == base.DEFAULT_SYSTEM_PROMPT


def test_a_users_direct_generate_call_gets_the_cache_and_usage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORDGRAD_CACHE_DIR", str(tmp_path))
    engine = UpstreamStyle()

    with track() as meter:
        first = engine.generate("hi", system_prompt="sys")
        second = engine("hi", system_prompt="sys")

    assert first == second == "echo: hi"
    assert len(engine.calls) == 1  # the second call came from the cache
    assert meter.calls == 2 and meter.total.cached_calls == 1


def test_a_subclass_that_never_calls_our_init_works_everywhere() -> None:
    import wordgrad as tg

    class Bare(EngineLM):
        def __init__(self, name: str) -> None:  # sets its own attributes only
            self.model_string = name
            self.cache_setting = False

        def generate(self, prompt: Any, system_prompt: str | None = None, **kw: Any) -> str:
            return f"{self.model_string}: {prompt}"

    class BareTransport(EngineLM):
        def __init__(self) -> None:
            self.model_string = "bare-transport"

        def complete(self, request: Request) -> Response:
            return Response((request.prompt[::-1],))

    assert BareTransport().generate("abc") == "cba"  # was AttributeError: default_params

    engine = Bare("bare")
    assert engine.generate("a") == "bare: a"
    assert engine.send(Request.chat("b")).text == "bare: b"
    answer = tg.BlackboxLLM(engine)(tg.Variable("c", role_description="question"))
    assert answer.value == "bare: c"
    assert engine.capabilities == Capabilities()


def test_is_multimodal_on_a_users_engine_is_honoured() -> None:
    import wordgrad as tg

    class Vision(EngineLM):
        def __init__(self) -> None:
            self.model_string = "my-vision-model"
            self.is_multimodal = True
            self.cache_setting = False
            self.seen: list[Any] = []

        def generate(self, prompt: Any, system_prompt: str | None = None, **kw: Any) -> str:
            self.seen.append(prompt)
            return "a cat"

    engine = Vision()
    assert engine.capabilities.images
    image = tg.Variable(imaging.PNG, requires_grad=False, role_description="photo")
    question = tg.Variable("What is it?", requires_grad=False, role_description="question")
    assert tg.autograd.MultimodalLLMCall(engine)([image, question]).value == "a cat"
    assert engine.seen == [[imaging.PNG, "What is it?"]]


def test_a_subclass_overriding_generate_of_a_provider_engine_is_what_runs() -> None:
    class Shouting(ScriptedEngine):
        def generate(self, prompt: Any, system_prompt: str | None = None, **kw: Any) -> str:
            return str(prompt).upper()

    engine = Shouting(cache=False)
    assert engine.generate("quiet") == "QUIET"
    assert engine.send(Request.chat("also")).text == "ALSO"
