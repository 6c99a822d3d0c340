"""Cost: each thing said once, shared parts first, prefix-cache warming, cached-token pricing,
``tg.map``'s own concurrency and ``tg.track()`` across a user's threads."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import wordgrad as tg
from wordgrad.engine.usage import Price, UsageMeter
from wordgrad.executor import EXECUTOR
from wordgrad.llm import Capabilities, Message, Request, Response, Usage

from .scripts import TAGGED_UPDATE, kind_of

LONG_PROMPT = " ".join(f"Rule {n}: count every item of kind {n} once." for n in range(60))


def minibatch_script(request: Request) -> str:
    kind = kind_of(request)
    if kind == "update":
        return TAGGED_UPDATE.format("Count carefully.")
    if kind == "gradient":
        return "be more explicit"
    if kind == "evaluation":
        return "the count is wrong"
    return "There are some."


def one_step(engine: tg.ScriptedEngine, prompt_text: str, batch: int = 3) -> tg.Variable:
    prompt = tg.Variable(prompt_text, role_description="system prompt of a counting assistant")
    model = tg.BlackboxLLM(engine, system_prompt=prompt)
    optimizer = tg.TGD([prompt], engine=engine)
    losses = []
    for i in range(batch):
        question = tg.Variable(f"question {i}", requires_grad=False, role_description="question")
        losses.append(tg.TextLoss(f"Check answer {i}.", engine=engine)(model(question)))
    tg.sum(losses).backward(engine)
    optimizer.step()
    return prompt


def test_the_optimizer_request_shows_the_variable_once_and_calls_refer_to_it() -> None:
    engine = tg.ScriptedEngine(minibatch_script)
    one_step(engine, LONG_PROMPT)
    update = next(r for r in engine.requests if r.purpose == "optimizer")
    assert update.prompt.count(LONG_PROMPT) == 1
    assert update.prompt.count("<CALL>") == 3  # every call is still shown
    assert update.prompt.count("[the variable]") == 3
    assert "question 2" in update.prompt  # ... with what differs between them


def test_a_short_variable_is_replaced_only_where_it_fills_a_block() -> None:
    engine = tg.ScriptedEngine(minibatch_script)
    one_step(engine, "Count.")
    update = next(r for r in engine.requests if r.purpose == "optimizer")
    assert update.prompt.count("<SYSTEM_PROMPT>\n[the variable]\n</SYSTEM_PROMPT>") == 3
    assert update.prompt.count("Count.") == 1


def test_feedback_requests_about_one_prompt_share_their_beginning() -> None:
    engine = tg.ScriptedEngine(minibatch_script)
    one_step(engine, LONG_PROMPT)
    about_prompt = [
        r
        for r in engine.requests
        if r.purpose == "backward" and r.role.endswith("counting assistant")
    ]
    assert len(about_prompt) == 3
    # The shared part (the feedback system prompt, then the call's system prompt) comes first;
    # the question, output and criticism that differ come after it.
    for request in about_prompt:
        assert request.shared_prefix is not None
        prefix = request.prefix_text()
        assert prefix is not None and prefix.endswith(LONG_PROMPT + "\n</SYSTEM_PROMPT>")
        assert request.prompt.count(LONG_PROMPT) == 1  # named by its block, not repeated
        user = request.messages[1].text
        assert user.index("</SYSTEM_PROMPT>") < user.index("<INPUT>") < user.index("<CRITICISM>")
    prefixes = {r.prefix_text() for r in about_prompt}
    assert len(prefixes) == 1


def test_forward_calls_share_their_system_prompt() -> None:
    engine = tg.ScriptedEngine(minibatch_script)
    one_step(engine, LONG_PROMPT)
    forward = [r for r in engine.requests if r.purpose == "forward"]
    assert len(forward) == 3
    assert all(r.shared_prefix == (0, len(LONG_PROMPT)) for r in forward)


class Gate:
    """A script whose calls wait until released, recording which prompts have started."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> str:
        with self._lock:
            self.started.append(request.messages[-1].text)
        self.release.wait(5)
        return "ok"


def caching_engine(script: object, min_tokens: int = 100) -> tg.ScriptedEngine:
    return tg.ScriptedEngine(
        script,  # type: ignore[arg-type]
        capabilities=Capabilities(prefix_cache=True, min_cached_prefix_tokens=min_tokens),
    )


def shared_requests(n: int, system: str) -> list[Request]:
    return [Request.chat(f"question {i}", system).sharing(0) for i in range(n)]


def test_the_first_request_of_a_long_shared_prefix_goes_alone_then_the_rest() -> None:
    gate = Gate()
    engine = caching_engine(gate)
    futures = [EXECUTOR.submit(engine, r) for r in shared_requests(4, LONG_PROMPT)]
    time.sleep(0.2)
    assert gate.started == ["question 0"]  # the others wait for it to warm the cache
    gate.release.set()
    assert [f.result(5).text for f in futures] == ["ok"] * 4
    assert sorted(gate.started) == [f"question {i}" for i in range(4)]
    # Once warmed, the prefix is not held again.
    gate.started.clear()
    later = [EXECUTOR.submit(engine, r) for r in shared_requests(6, LONG_PROMPT)[4:]]
    assert [f.result(5).text for f in later] == ["ok", "ok"]


@pytest.mark.parametrize(
    ("capabilities", "warming"),
    [
        (Capabilities(prefix_cache=False), True),  # the provider caches nothing
        (Capabilities(prefix_cache=True, min_cached_prefix_tokens=100_000), True),  # too short
        (Capabilities(prefix_cache=True, min_cached_prefix_tokens=100), False),  # switched off
    ],
)
def test_no_waiting_where_nothing_would_be_saved(capabilities: Capabilities, warming: bool) -> None:
    gate = Gate()
    engine = tg.ScriptedEngine(gate, capabilities=capabilities)
    tg.set_prefix_warming(warming)
    try:
        futures = [EXECUTOR.submit(engine, r) for r in shared_requests(3, LONG_PROMPT)]
        deadline = time.monotonic() + 5
        while len(gate.started) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(gate.started) == 3
        gate.release.set()
        assert [f.result(5).text for f in futures] == ["ok"] * 3
    finally:
        tg.set_prefix_warming(True)


def test_cached_prompt_tokens_are_counted_and_priced_at_the_cached_rate() -> None:
    meter = UsageMeter()
    usage = Usage(prompt_tokens=2_000, completion_tokens=100, cached_prompt_tokens=1_024)
    response = Response(texts=("x",), usage=usage, model="priced-model")
    tg.engine.set_price("priced-model", 1.0, 2.0)
    meter.record("openai/priced-model", "forward", response)
    assert meter.total.cached_prompt_tokens == 1_024
    expected = ((2_000 - 1_024) * 1.0 + 1_024 * 0.5 + 100 * 2.0) / 1_000_000
    assert meter.cost_usd == pytest.approx(expected)
    assert Price(3.0, 15.0, cached_per_million=0.3).cost(usage) == pytest.approx(
        ((2_000 - 1_024) * 3.0 + 1_024 * 0.3 + 100 * 15.0) / 1_000_000
    )


def test_anthropic_marks_the_shared_prefix_for_its_cache() -> None:
    from wordgrad.engine.anthropic import AnthropicEngine

    engine = AnthropicEngine("claude-sonnet-4-5", api_key="test-key")
    user = "<SYSTEM_PROMPT>\nshared\n</SYSTEM_PROMPT>\n<INPUT>\nmine\n</INPUT>"
    request = Request((Message("system", "sys"), Message("user", user))).sharing(1, 34)
    arguments = engine.call_arguments(request)
    blocks = arguments["messages"][0]["content"]
    assert blocks[0] == {
        "type": "text",
        "text": user[:34],
        "cache_control": {"type": "ephemeral"},
    }
    assert blocks[1] == {"type": "text", "text": user[34:]}
    forward = Request.chat("question", "a long system prompt").sharing(0)
    system = engine.call_arguments(forward)["system"]
    assert system[0]["cache_control"] == {"type": "ephemeral"}


def test_map_gives_its_own_calls_up_to_max_concurrency_in_flight() -> None:
    from tests.speed.conftest import InFlight

    release = threading.Event()
    counter = InFlight(lambda: release.wait(0.3), lambda request: "ok")
    engine = tg.ScriptedEngine(counter)
    model = tg.BlackboxLLM(engine)
    with tg.max_concurrency(4):  # the surrounding bound does not cap tg.map's own
        answers = tg.map(
            lambda i: model(tg.Variable(f"q{i}", requires_grad=False, role_description="q")),
            range(40),
            max_concurrency=40,
        )
    assert len(answers) == 40
    assert counter.peak > 16  # the process-wide default would have held it at 16


def test_map_under_no_grad_counts_its_calls_as_evaluation() -> None:
    engine = tg.ScriptedEngine(lambda request: "ok")
    model = tg.BlackboxLLM(engine)
    with tg.track() as meter, tg.no_grad():
        tg.map(
            lambda i: model(tg.Variable(f"q{i}", requires_grad=False, role_description="q")),
            range(5),
        )
    assert meter.by_purpose["evaluation"].calls == 5
    assert "forward" not in meter.by_purpose


def test_track_counts_calls_made_in_a_users_own_thread_pool() -> None:
    engine = tg.ScriptedEngine(lambda request: "ok")
    model = tg.BlackboxLLM(engine)

    def answer(i: int) -> str:
        return model(tg.Variable(f"q{i}", requires_grad=False, role_description="q")).value

    with tg.track() as meter, ThreadPoolExecutor(4) as pool:
        assert list(pool.map(answer, range(12))) == ["ok"] * 12
    assert meter.calls == 12
