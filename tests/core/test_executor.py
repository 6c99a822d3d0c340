"""The executor: calls from a plain loop overlap, limits hold, duplicates are sent once,
failures name their node, and usage is counted across worker threads."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import wordgrad as tg
from wordgrad.errors import NodeError, ServerError
from wordgrad.llm import Request
from wordgrad.variable import Variable


class InFlight:
    """A script that records how many calls were running at once."""

    def __init__(self, hold_s: float = 0.05) -> None:
        self.hold_s = hold_s
        self.current = 0
        self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> str:
        with self.lock:
            self.current += 1
            self.peak = max(self.peak, self.current)
        time.sleep(self.hold_s)
        with self.lock:
            self.current -= 1
        return f"reply to {request.prompt}"


def questions(n: int) -> list[Variable]:
    return [
        Variable(f"question {i}", requires_grad=False, role_description="question")
        for i in range(n)
    ]


def test_a_plain_loop_sends_its_calls_side_by_side() -> None:
    script = InFlight()
    model = tg.BlackboxLLM(tg.ScriptedEngine(script))
    answers = [model(q) for q in questions(6)]
    assert [a.value for a in answers] == [f"reply to question {i}" for i in range(6)]
    assert script.peak > 1


def test_max_concurrency_one_runs_calls_one_by_one() -> None:
    script = InFlight(hold_s=0.01)
    model = tg.BlackboxLLM(tg.ScriptedEngine(script))
    with tg.max_concurrency(1):
        answers = [model(q) for q in questions(5)]
        assert [a.value for a in answers][-1] == "reply to question 4"
    assert script.peak == 1


def test_per_engine_limit_holds_under_a_higher_global_limit() -> None:
    script = InFlight(hold_s=0.01)
    model = tg.BlackboxLLM(tg.ScriptedEngine(script, max_concurrency=2))
    for answer in [model(q) for q in questions(8)]:
        answer.get_value()
    assert script.peak <= 2


def test_identical_requests_in_flight_are_sent_once() -> None:
    gate = threading.Event()
    engine = tg.ScriptedEngine(lambda r: (gate.wait(5), "same")[1])
    model = tg.BlackboxLLM(engine)
    question = Variable("the same question", requires_grad=False, role_description="question")
    first, second = model(question), model(question)
    time.sleep(0.05)
    gate.set()
    assert first.value == second.value == "same"
    assert len(engine.requests) == 1


def test_a_failure_names_the_node_and_keeps_what_finished() -> None:
    def script(request: Request) -> str:
        if "bad" in request.prompt:
            raise ServerError("upstream exploded", status=500)
        return "fine"

    engine = tg.ScriptedEngine(script, retry=tg.engine.RetryPolicy(max_attempts=1))
    good = tg.BlackboxLLM(engine)(Variable("good", requires_grad=False, role_description="q"))
    prompt = Variable("Summarize.", role_description="system prompt")
    failing = tg.autograd.LLMCall(engine, prompt)(
        Variable("bad", requires_grad=False, role_description="q"),
        response_role_description="summary of the bad input",
    )
    downstream = tg.autograd.LLMCall(engine)(failing, response_role_description="final report")
    with pytest.raises(NodeError, match="summary of the bad input") as caught:
        failing.get_value()
    assert isinstance(caught.value.cause, ServerError)
    with pytest.raises(NodeError, match="summary of the bad input"):
        downstream.get_value()  # the error of the node that failed, not a vague one
    assert good.value == "fine"
    loss = tg.TextLoss("Evaluate.", engine=engine)(downstream)
    with pytest.raises(NodeError, match="summary of the bad input"):
        loss.backward(engine)


def test_usage_meter_counts_calls_made_on_worker_threads() -> None:
    engine = tg.ScriptedEngine(lambda r: "four words in reply")
    model = tg.BlackboxLLM(engine)
    with tg.track() as meter:
        answers = [model(q) for q in questions(3)]
        for answer in answers:
            answer.get_value()
    assert meter.calls == 3
    assert meter.by_purpose["forward"].calls == 3
    assert meter.total_tokens > 0
    outside = model(Variable("later", requires_grad=False, role_description="q"))
    outside.get_value()
    assert meter.calls == 3


def test_users_own_thread_pool_around_the_model_still_works() -> None:
    model = tg.BlackboxLLM(tg.ScriptedEngine(InFlight(hold_s=0.01)))
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda q: model(q).value, questions(8)))
    assert answers == [f"reply to question {i}" for i in range(8)]


def test_async_backward_and_step() -> None:
    import asyncio

    def script(request: Request) -> str:
        if request.purpose == "optimizer":
            return "<IMPROVED_VARIABLE>new</IMPROVED_VARIABLE>"
        return "feedback"

    engine = tg.ScriptedEngine(script)
    prompt = Variable("old", role_description="system prompt")
    answer = tg.BlackboxLLM(engine, prompt)(
        Variable("q", requires_grad=False, role_description="q")
    )
    loss = tg.TextLoss("Evaluate.", engine=engine)(answer)

    async def main() -> None:
        await loss.abackward(engine)
        await tg.TGD([prompt], engine=engine).astep()

    asyncio.run(main())
    assert prompt.value == "new"


def test_invalid_concurrency_limits_are_rejected() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_concurrency"):
            tg.set_max_concurrency(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- one send pipeline


def test_a_call_to_an_idle_engine_starts_at_once_while_another_engine_has_a_queue() -> None:
    slow_gate = threading.Event()
    slow = tg.ScriptedEngine(lambda r: str(slow_gate.wait(10)), max_concurrency=1)
    started: list[float] = []
    idle = tg.ScriptedEngine(lambda r: str(started.append(time.monotonic())))
    tg.set_max_concurrency(4)
    slow_model = tg.BlackboxLLM(slow)
    waiting = [slow_model(Variable(f"q{i}", role_description="q")) for i in range(12)]
    time.sleep(0.05)  # one slow call runs, eleven wait in the slow engine's queue
    try:
        asked = time.monotonic()
        answer = tg.BlackboxLLM(idle)(Variable("now", role_description="q"))
        assert answer.value == "None"
        assert started[0] - asked < 0.1  # with parked threads it waited for the slow queue
    finally:
        slow_gate.set()
    assert all(w.value == "True" for w in waiting)


def test_max_concurrency_block_is_local_to_its_context() -> None:
    gate = threading.Event()
    running = [0]
    lock = threading.Lock()

    def hold(request: Request) -> str:
        with lock:
            running[0] += 1
        gate.wait(10)
        return "ok"

    tg.set_max_concurrency(8)
    entered, release = threading.Event(), threading.Event()
    inside_limit: list[int] = []

    def block() -> None:
        with tg.max_concurrency(1):
            inside_limit.append(tg.get_max_concurrency())
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=block)
    thread.start()
    entered.wait(10)
    try:
        assert tg.get_max_concurrency() == 8  # another thread's block does not change ours
        model = tg.BlackboxLLM(tg.ScriptedEngine(hold))
        outside = [model(Variable(f"q{i}", role_description="q")) for i in range(4)]
        deadline = time.monotonic() + 2
        while running[0] < 4 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert running[0] == 4  # all four run while the other thread's block is open
    finally:
        gate.set()
        release.set()
        thread.join()
    assert inside_limit == [1]
    assert [v.value for v in outside] == ["ok"] * 4


def test_a_block_limit_bounds_only_the_calls_made_inside_it() -> None:
    running = [0]
    peak = [0]
    lock = threading.Lock()

    def slow(request: Request) -> str:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return "ok"

    model = tg.BlackboxLLM(tg.ScriptedEngine(slow))
    with tg.max_concurrency(1):
        answers = [model(Variable(f"q{i}", role_description="q")) for i in range(4)]
        assert [a.value for a in answers] == ["ok"] * 4
    assert peak[0] == 1


def test_a_response_carries_the_request_it_answers() -> None:
    engine = tg.ScriptedEngine(temperature=0.3)
    response = engine.send(Request.chat("hello", system_prompt="be brief").about("forward", "x"))
    assert response.request is not None
    assert response.request.prompt == "hello"
    assert response.request.temperature == 0.3  # as sent: with the engine's defaults
    assert response.request.purpose == "forward"


def test_engine_errors_name_the_role_purpose_and_model() -> None:
    engine = tg.ScriptedEngine(
        [ServerError("down", status=503)],
        model_string="judge-model",
        retry=tg.engine.RetryPolicy(max_attempts=1),
    )
    with pytest.raises(ServerError) as caught:
        engine.send(Request.chat("x").about("evaluation", "score of the answer"))
    error = caught.value
    assert (error.role, error.purpose, error.model) == (
        "score of the answer",
        "evaluation",
        "scripted/judge-model",
    )
    assert "score of the answer" in str(error) and "judge-model" in str(error)


def test_a_variable_cannot_be_built_from_a_future() -> None:
    from concurrent.futures import Future

    from wordgrad.errors import InvalidInputError

    future: Future[str] = Future()
    future.set_result("x")
    with pytest.raises(InvalidInputError):
        Variable(future, role_description="x")  # type: ignore[arg-type]


def test_tg_map_runs_on_the_executor_not_its_own_pool() -> None:
    names: list[str] = []
    tg.map(lambda i: names.append(threading.current_thread().name), range(4))
    assert names and all(name == "wordgrad-worker" for name in names)


def test_an_engine_collected_while_the_executor_holds_its_lock_does_not_deadlock() -> None:
    # The garbage collector can run at any allocation, also inside the executor's own critical
    # sections, and finalizes a collected engine there: forgetting its lane must not wait for
    # the lock (it did, and a training loop hung).
    from wordgrad.executor import Executor
    from wordgrad.llm import Request

    executor = Executor()
    engine = tg.ScriptedEngine(lambda request: "ok")
    assert executor.send(engine, Request.chat("hello")).text == "ok"
    lane = executor._lanes[id(engine)]

    def finalize_under_lock() -> None:
        with executor._lock:
            executor._drop_lane(id(engine), lane)  # what the engine's finalizer calls

    worker = threading.Thread(target=finalize_under_lock, daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "dropping a lane under the executor's lock deadlocked"
    other = tg.ScriptedEngine(lambda r: "again")
    assert executor.send(other, Request.chat("x")).text == "again"
    assert list(executor._lanes) == [id(other)]  # the dropped lane is gone


def test_an_error_while_recording_a_reply_reaches_the_caller() -> None:
    # Usage is recorded after the reply arrives (a run's ledger writes it to disk); a full disk
    # there must fail the call, not leave the caller waiting for a reply that never comes.
    from wordgrad.engine.usage import UsageMeter, track
    from wordgrad.executor import EXECUTOR

    class FullDisk(UsageMeter):
        def record(self, *args: object, **kwargs: object) -> None:
            raise OSError(28, "No space left on device")

    engine = tg.ScriptedEngine(lambda request: "ok")
    with track(FullDisk(), scope="context"):
        future = EXECUTOR.submit(engine, Request.chat("a question"))
    error = future.exception(timeout=5)
    assert isinstance(error, NodeError)
    assert isinstance(error.cause, OSError) and error.cause.errno == 28
