"""The sync API inside a running event loop (as in Jupyter), the async API, per-engine rate
limits, and changing the concurrency limit while calls wait."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from benchmarks.workloads import prompt_optimization

import wordgrad as tg
from tests.speed.conftest import InFlight, shuffled_script
from wordgrad import executor
from wordgrad.executor import EXECUTOR


def finishes(fn: object, timeout_s: float = 60.0) -> None:
    """Run ``fn`` on a thread; fail (instead of hanging the suite) if it deadlocks."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()  # type: ignore[operator]
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout_s)
    assert not thread.is_alive(), "deadlocked"
    if errors:
        raise errors[0]


def test_the_sync_api_works_inside_a_running_event_loop(engine: tg.ScriptedEngine) -> None:
    async def notebook_cell() -> list[str]:
        workload = prompt_optimization(tg, engine)
        workload.step()  # plain sync calls: forward, backward, step
        answers = tg.map(lambda i: tg.BlackboxLLM(engine)(question(i)), range(3))
        return [str(workload.parameters[0].value), *(a.value for a in answers)]

    values: list[list[str]] = []
    finishes(lambda: values.append(asyncio.run(notebook_cell())))
    assert values[0][0].startswith("Revised instruction")


def test_the_async_api_runs_backward_and_step(engine: tg.ScriptedEngine) -> None:
    async def main() -> str:
        tg.set_backward_engine(engine, override=True)
        prompt = tg.Variable("Answer.", role_description="system prompt")
        answers = [tg.BlackboxLLM(engine, prompt)(question(i)) for i in range(4)]
        loss = tg.sum([tg.TextLoss("Judge.")(a) for a in answers])
        await loss.abackward()
        await tg.TGD([prompt]).astep()
        return str(prompt.value)

    result: list[str] = []
    finishes(lambda: result.append(asyncio.run(main())))
    assert result[0].startswith("Revised instruction")


def question(i: int) -> tg.Variable:
    return tg.Variable(f"question {i}", requires_grad=False, role_description="question")


def test_requests_per_minute_is_honoured_under_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    window = 0.3
    monkeypatch.setattr(executor, "RATE_WINDOW_S", window)  # a "minute" of 0.3 s
    sent_at: list[float] = []

    def script(request: tg.llm.Request) -> str:
        sent_at.append(time.monotonic())
        return shuffled_script(request)

    engine = tg.ScriptedEngine(script, requests_per_minute=5)
    model = tg.BlackboxLLM(engine)
    answers = [model(question(i)) for i in range(12)]
    assert len({a.value for a in answers}) == 12
    sent_at.sort()
    for i, start in enumerate(sent_at):
        in_window = [t for t in sent_at[i:] if t - start < window * 0.95]
        assert len(in_window) <= 5
    # 12 calls at 5 a window span two windows (less a little: the script reads the clock late)
    assert sent_at[-1] - sent_at[0] >= 2 * window * 0.95


def test_raising_the_limit_starts_calls_that_were_waiting() -> None:
    gate = threading.Event()
    script = InFlight(lambda: gate.wait(10), lambda request: request.prompt)
    model = tg.BlackboxLLM(tg.ScriptedEngine(script))
    tg.set_max_concurrency(1)
    answers = [model(question(i)) for i in range(4)]
    deadline = time.monotonic() + 10
    while script.running < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert script.peak == 1
    tg.set_max_concurrency(4)
    while script.running < 4 and time.monotonic() < deadline:
        time.sleep(0.005)
    gate.set()
    assert [a.value for a in answers] == [f"question {i}" for i in range(4)]
    assert script.peak == 4
    assert EXECUTOR.max_concurrency == 4
