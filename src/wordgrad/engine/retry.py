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
from dataclasses import dataclass, field
from typing import TypeVar

from wordgrad.errors import (
    AuthenticationError,
    DeadlineExceededError,
    EngineConnectionError,
    EngineError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
)

logger = logging.getLogger("wordgrad.engine")

T = TypeVar("T")


DEFAULT_RECONNECT_WINDOW_S = 30.0
_defaults = {"reconnect_window_s": DEFAULT_RECONNECT_WINDOW_S}


def set_default_reconnect_window(seconds: float) -> None:
    """Seconds a refused connection is retried for, in every :class:`RetryPolicy` built from now
    on without its own ``reconnect_window_s`` (the CLI's ``--reconnect-window``)."""
    if seconds < 0:
        raise ValueError(f"the reconnect window must be >= 0 seconds, got {seconds}")
    _defaults["reconnect_window_s"] = float(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry, and how long one call may take.

    ``max_attempts`` counts the first try. The wait before attempt k+1 is a random value in
    ``[0, min(max_backoff_s, initial_backoff_s * 2**k)]`` ("full jitter"), or the server's
    ``Retry-After`` when it gave one (capped at ``max_retry_after_s``).

    Time is wall-clock time, enforced by the executor whatever the engine does: ``timeout_s``
    bounds one attempt from its start to its last byte (a reply trickled byte by byte cannot
    outlive it), ``deadline_s`` bounds all attempts and waits together.

    A refused or dropped connection (the server is restarting) is retried for
    ``reconnect_window_s`` seconds from the first such failure (30 by default: long enough for a
    local server to restart), however many attempts that takes, with waits of at most
    ``reconnect_backoff_s``. :func:`set_default_reconnect_window` changes the default; the CLI's
    ``--reconnect-window`` calls it.
    """

    max_attempts: int = 5
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 120.0
    timeout_s: float | None = 120.0
    deadline_s: float | None = 600.0
    reconnect_window_s: float = field(default_factory=lambda: _defaults["reconnect_window_s"])
    reconnect_backoff_s: float = 1.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        for name in ("timeout_s", "deadline_s"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive or None, got {value}")
        if self.reconnect_window_s < 0:
            raise ValueError(f"reconnect_window_s must be >= 0, got {self.reconnect_window_s}")

    def backoff(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after the given (0-based) failed attempt."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after_s)
        ceiling = self.initial_backoff_s * 2 ** min(attempt, 30)
        return rng.uniform(0, min(self.max_backoff_s, ceiling))


NO_RETRY = RetryPolicy(max_attempts=1)


@dataclass
class Attempts:
    """The retry state of one call: attempts made, when it began, when connections first failed.

    :meth:`after_failure` is the one place that decides whether a failed attempt is tried again;
    the executor and :func:`call_with_retries` both ask it.
    """

    policy: RetryPolicy
    started: float
    made: int = 0
    unreachable_since: float | None = None

    def after_failure(self, error: BaseException, now: float, rng: random.Random) -> float:
        """Seconds to wait before the next attempt, or raise the error that ends the call."""
        self.made += 1
        policy = self.policy
        if not isinstance(error, EngineError) or not error.retryable:
            raise error
        if isinstance(error, EngineConnectionError):
            self.unreachable_since = self.unreachable_since or now
            if now - self.unreachable_since < policy.reconnect_window_s:
                # Doubling from 50 ms up to reconnect_backoff_s: a restarted server is found
                # soon after it listens again, without hammering it meanwhile.
                step = min(self.made - 1, 30)
                wait = min(0.05 * 2**step, policy.reconnect_backoff_s)
                return self._within_deadline(wait, error, now)
        else:
            self.unreachable_since = None
        if self.made >= policy.max_attempts:
            raise error
        wait = policy.backoff(self.made - 1, getattr(error, "retry_after", None), rng)
        return self._within_deadline(wait, error, now)

    def _within_deadline(self, wait: float, error: EngineError, now: float) -> float:
        deadline = self.policy.deadline_s
        if deadline is not None and now - self.started + wait > deadline:
            raise DeadlineExceededError(
                f"gave up after {self.made} attempts: the next retry would pass the "
                f"{deadline:g} s deadline (last error: {error}); raise "
                "RetryPolicy.deadline_s or check the provider",
                last_error=error,
            ) from error
        logger.info(
            "attempt %d failed (%s: %s); retrying in %.2f s",
            self.made,
            type(error).__name__,
            error,
            wait,
        )
        return wait


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> T:
    """Run ``call`` until it succeeds, a non-retryable error occurs, or attempts or time run out.

    A synchronous helper for code outside the executor (which schedules retries on its timer
    instead of sleeping); both follow :meth:`Attempts.after_failure`.
    """
    rng = rng or random.Random()
    attempts = Attempts(policy, clock())
    while True:
        try:
            return call()
        except Exception as error:
            sleep(attempts.after_failure(error, clock(), rng))


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
