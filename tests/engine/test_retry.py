"""The retry layer: which errors are retried, how long it waits, when it gives up."""

from __future__ import annotations

import email.utils
import random

import pytest

from wordgrad.engine.retry import (
    RetryPolicy,
    call_with_retries,
    error_for_status,
    parse_retry_after,
)
from wordgrad.errors import (
    AuthenticationError,
    DeadlineExceededError,
    EngineConnectionError,
    EngineError,
    EngineTimeoutError,
    InvalidRequestError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
)


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (408, ServerError, True),
        (409, ServerError, True),
        (429, RateLimitError, True),
        (500, ServerError, True),
        (503, ServerError, True),
        (529, ServerError, True),
        (400, InvalidRequestError, False),
        (401, AuthenticationError, False),
        (403, AuthenticationError, False),
        (404, InvalidRequestError, False),
        (422, InvalidRequestError, False),
    ],
)
def test_status_classification(status: int, kind: type[EngineError], retryable: bool) -> None:
    error = error_for_status(status, "m", retry_after=2.0)
    assert type(error) is kind
    assert error.retryable is retryable
    assert error.status == status


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str] | None, seconds: float | None) -> None:
    assert parse_retry_after(headers) == seconds


def test_parse_retry_after_http_date() -> None:
    now = 1_800_000_000.0
    header = email.utils.formatdate(now + 42, usegmt=True)
    assert parse_retry_after({"Retry-After": header}, now=now) == pytest.approx(42)


class Flaky:
    """Fails with the given errors in turn, then returns "done"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def run(call: Flaky, policy: RetryPolicy, clock_step: float = 0.0) -> tuple[str, list[float]]:
    waits: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    def clock() -> float:
        now[0] += clock_step
        return now[0]

    result = call_with_retries(call, policy, sleep=sleep, clock=clock, rng=random.Random(0))
    return result, waits


@pytest.mark.parametrize(
    "error",
    [
        RateLimitError("429"),
        ServerError("500", status=500),
        EngineTimeoutError("slow"),
        EngineConnectionError("down"),
    ],
)
def test_transient_errors_are_retried(error: EngineError) -> None:
    call = Flaky(error, error)
    result, waits = run(call, RetryPolicy(max_attempts=3))
    assert result == "done"
    assert call.calls == 3
    assert len(waits) == 2


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError("401", status=401),
        InvalidRequestError("400", status=400),
        ResponseFormatError("bad json"),
    ],
)
def test_permanent_errors_fail_at_once(error: EngineError) -> None:
    call = Flaky(error)
    with pytest.raises(type(error)):
        run(call, RetryPolicy(max_attempts=5))
    assert call.calls == 1


def test_other_exceptions_are_not_retried() -> None:
    call = Flaky(KeyError("bug"))
    with pytest.raises(KeyError):
        run(call, RetryPolicy(max_attempts=5))
    assert call.calls == 1


def test_the_last_error_is_raised_when_attempts_run_out() -> None:
    call = Flaky(*(ServerError(f"try {i}", status=500) for i in range(4)))
    with pytest.raises(ServerError, match="try 2"):
        run(call, RetryPolicy(max_attempts=3))
    assert call.calls == 3


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    policy = RetryPolicy(max_attempts=8, initial_backoff_s=1.0, max_backoff_s=5.0)
    call = Flaky(*(ServerError("x") for _ in range(7)))
    _, waits = run(call, policy)
    for attempt, wait in enumerate(waits):
        assert 0 <= wait <= min(5.0, 2**attempt)
    assert len(set(waits)) == len(waits)  # jittered, not fixed


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_attempts=3, max_retry_after_s=10.0)
    call = Flaky(RateLimitError("a", retry_after=4.0), RateLimitError("b", retry_after=99.0))
    _, waits = run(call, policy)
    assert waits == [4.0, 10.0]


def test_deadline_stops_retries_and_keeps_the_last_error() -> None:
    policy = RetryPolicy(max_attempts=10, deadline_s=5.0)
    last = RateLimitError("slow", retry_after=6.0)
    call = Flaky(last)
    with pytest.raises(DeadlineExceededError) as caught:
        run(call, policy)
    assert caught.value.last_error is last
    assert call.calls == 1


def test_policy_rejects_zero_attempts() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
