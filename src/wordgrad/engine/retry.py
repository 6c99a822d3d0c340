"""The one retry layer: classified errors, exponential backoff with jitter, ``Retry-After``.

Only errors marked ``retryable`` in :mod:`wordgrad.errors` are retried: rate limits (429),
server errors (5xx, 408, 409), time-outs and connection errors. Authentication and validation
errors (400, 401, 403, 404, 422) fail at once: asking again cannot help.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from wordgrad.errors import (
    AuthenticationError,
    DeadlineExceededError,
    EngineError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
)

logger = logging.getLogger("wordgrad.engine")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    ``max_attempts`` counts the first try. The wait before attempt k+1 is a random value in
    ``[0, min(max_backoff_s, initial_backoff_s * 2**k)]`` ("full jitter"), or the server's
    ``Retry-After`` when it gave one (capped at ``max_retry_after_s``). ``timeout_s`` is the
    time-out of one request (passed to the provider); ``deadline_s`` bounds all attempts and waits
    together.
    """

    max_attempts: int = 5
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 120.0
    timeout_s: float | None = 120.0
    deadline_s: float | None = 600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    def backoff(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after the given (0-based) failed attempt."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after_s)
        return rng.uniform(0, min(self.max_backoff_s, self.initial_backoff_s * 2**attempt))


NO_RETRY = RetryPolicy(max_attempts=1)


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> T:
    """Run ``call`` until it succeeds, a non-retryable error occurs, or attempts or time run out.

    The last error is re-raised as it is; when the total deadline cuts the retries short, a
    :class:`DeadlineExceededError` wraps it.
    """
    rng = rng or random.Random()
    started = clock()
    for attempt in range(policy.max_attempts):
        try:
            return call()
        except EngineError as error:
            if not error.retryable or attempt + 1 >= policy.max_attempts:
                raise
            wait = policy.backoff(attempt, getattr(error, "retry_after", None), rng)
            if policy.deadline_s is not None and clock() - started + wait > policy.deadline_s:
                raise DeadlineExceededError(
                    f"gave up after {attempt + 1} attempts: the next retry would pass the "
                    f"{policy.deadline_s:g} s deadline (last error: {error}); raise "
                    "RetryPolicy.deadline_s or check the provider",
                    last_error=error,
                ) from error
            logger.info(
                "attempt %d failed (%s: %s); retrying in %.2f s",
                attempt + 1,
                type(error).__name__,
                error,
                wait,
            )
            sleep(wait)
    raise AssertionError("unreachable: the loop returns or raises")


def error_for_status(status: int, message: str, *, retry_after: float | None = None) -> EngineError:
    """The :mod:`wordgrad.errors` class for an HTTP error status, carrying ``retry_after``.

    This is the one table of which statuses are retried: 408, 409, 429 and 5xx are; 401 and 403
    are credential errors; any other 4xx is a rejected request.
    """
    if status == 429:
        return RateLimitError(message, status=status, retry_after=retry_after)
    if status in (408, 409) or status >= 500:
        return ServerError(message, status=status, retry_after=retry_after)
    if status in (401, 403):
        return AuthenticationError(message, status=status)
    if 400 <= status < 500:
        return InvalidRequestError(message, status=status)
    return EngineError(message, status=status)


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    Header names are matched case-insensitively; a missing or unreadable value gives None.
    """
    if not headers:
        return None
    lowered = {name.lower(): value for name, value in headers.items()}
    milliseconds = lowered.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(float(milliseconds) / 1000.0, 0.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)
