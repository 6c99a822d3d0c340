"""``tg.map``: results in input order, errors naming the item, the caller's context, limits."""

from __future__ import annotations

import time

import pytest

import wordgrad as tg
from tests.speed.conftest import InFlight, shuffled_script
from wordgrad.batch import MapError


def question(i: int) -> tg.Variable:
    return tg.Variable(f"question {i}", requires_grad=False, role_description="question")


def test_results_come_back_computed_and_in_input_order(engine: tg.ScriptedEngine) -> None:
    model = tg.BlackboxLLM(engine)
    answers = tg.map(lambda i: model(question(i)), range(20))
    assert all(not a._is_pending() for a in answers)
    expected = [tg.BlackboxLLM(engine)(question(i)).value for i in range(20)]
    assert [a.value for a in answers] == expected


def test_a_function_that_reads_values_still_runs_items_side_by_side() -> None:
    script = InFlight(lambda: time.sleep(0.02), shuffled_script)
    model = tg.BlackboxLLM(tg.ScriptedEngine(script))
    scores = tg.map(lambda i: len(model(question(i)).value), range(8), max_concurrency=4)
    assert len(scores) == 8
    assert 1 < script.peak <= 4


def test_max_concurrency_one_runs_items_one_by_one() -> None:
    order: list[int] = []
    tg.map(order.append, range(10), max_concurrency=1)
    assert order == list(range(10))


def test_a_failure_names_the_item_index_after_every_item_finished() -> None:
    finished: list[int] = []

    def fn(i: int) -> int:
        if i in (3, 7):
            raise ValueError(f"bad item {i}")
        finished.append(i)
        return i

    with pytest.raises(
        MapError, match=r"item 3 of 10 failed: ValueError: bad item 3 \(1 more"
    ) as caught:
        tg.map(fn, range(10))
    assert caught.value.index == 3
    assert [i for i, _ in caught.value.failures] == [3, 7]
    assert isinstance(caught.value.__cause__, ValueError)
    assert sorted(finished) == [0, 1, 2, 4, 5, 6, 8, 9]

    results = tg.map(fn, range(10), return_exceptions=True)
    assert isinstance(results[7], ValueError) and results[8] == 8


def test_a_failed_llm_call_inside_an_item_names_item_and_node() -> None:
    def script(request: tg.llm.Request) -> str:
        if "question 2" in request.prompt:
            raise tg.errors.ServerError("down", status=500)
        return "ok"

    model = tg.BlackboxLLM(tg.ScriptedEngine(script, retry=tg.engine.RetryPolicy(max_attempts=1)))
    with pytest.raises(
        MapError, match=r"item 2 of 4 failed: NodeError: .*output of the language model"
    ):
        tg.map(lambda i: [model(question(i))], range(4))


def test_items_run_in_the_callers_context(engine: tg.ScriptedEngine) -> None:
    model = tg.BlackboxLLM(engine)
    with tg.no_grad(), tg.track() as meter:
        answers = tg.map(lambda i: model(question(i)), range(5))
    assert [a.predecessors for a in answers] == [[]] * 5
    assert meter.calls == 5


def test_progress_bar_is_drawn_on_request_and_never_on_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert tg.map(str, range(3), progress=True, description="scoring") == ["0", "1", "2"]
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "scoring" in captured.err
    assert tg.map(str, [], progress=True) == []


def test_invalid_limits_are_rejected() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        tg.map(str, range(3), max_concurrency=0)
