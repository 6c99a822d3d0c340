"""Every request on its way out: checks before it is sent, a record after it returns.

The executor opens a record of each request with :func:`begin` before it is sent and closes it
with :func:`end` when it returns, so what is set up here sees every call wordgrad makes, whatever
op or loop made it (a user's own ``engine.generate()`` included):

- **watchers** (:func:`watch`): objects with ``before(call)`` (may raise to refuse the call) and
  ``after(call)``; runs use one to keep a request log and one to enforce their budget.
- :class:`CallBudget`: refuses a call *before* it is sent when the tokens or cost spent so far
  plus this call's prompt would pass a limit, and refuses any call to a model without a known
  price while a cost limit is set (its cost could not be counted).
- a history of the last :data:`HISTORY_SIZE` calls in this process, shown by
  :func:`inspect_history` (as DSPy's ``inspect_history``) or returned by :func:`last_calls`.
- the ``wordgrad.calls`` logger says what it sends at DEBUG and what came back
  (``logging.getLogger("wordgrad.calls").setLevel(logging.DEBUG)``).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from wordgrad.engine.usage import price_for
from wordgrad.errors import BudgetExceededError
from wordgrad.llm import (
    Engine,
    ImagePart,
    Message,
    Purpose,
    Request,
    Response,
    estimate_tokens_of_length,
)

logger = logging.getLogger("wordgrad.calls")

HISTORY_SIZE = 200
"""How many calls :func:`last_calls` remembers."""


@dataclass
class Call:
    """One request and, once it returned, its response (or the error it raised).

    ``started`` is an ISO 8601 time in UTC; ``latency_s`` the wall time of the whole send
    (cache, retries included); ``label`` the role of the value the call produces, when known.
    """

    engine: str
    model: str
    purpose: str
    request: Request
    label: str = ""
    started: str = ""
    latency_s: float = 0.0
    response: Response | None = None
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt_tokens(self) -> int:
        if self.response is not None:
            return self.response.usage.prompt_tokens
        return estimate_tokens_of_length(self.request.text_length())

    @property
    def completion_tokens(self) -> int:
        return 0 if self.response is None else self.response.usage.completion_tokens

    def as_dict(self) -> dict[str, Any]:
        """JSON-able: messages as role and text (images as a note), reply, tokens, latency."""
        messages = []
        for message in self.request.messages:
            messages.append({"role": message.role, "content": _message_text(message)})
        response = self.response
        return {
            "time": self.started,
            "purpose": self.purpose,
            "role": self.label,
            "engine": self.engine,
            "model": (response.model if response is not None and response.model else self.model),
            "messages": messages,
            "max_tokens": self.request.max_tokens,
            "temperature": self.request.temperature,
            "reply": response.texts[0] if response is not None and response.texts else None,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_s": round(self.latency_s, 4),
            "cached": bool(response.cached) if response is not None else False,
            "error": self.error or None,
        }


def _message_text(message: Message) -> str:
    if isinstance(message.content, str):
        return message.content
    return "\n".join(
        f"[image {part.mime_type}, {len(part.data):,} bytes]"
        if isinstance(part, ImagePart)
        else part
        for part in message.content
    )


class Watcher(Protocol):
    """Told about each call: ``before`` it is sent (raise to refuse it) and ``after``."""

    def before(self, call: Call) -> None: ...

    def after(self, call: Call) -> None: ...


_watchers: contextvars.ContextVar[tuple[Watcher, ...]] = contextvars.ContextVar(
    "wordgrad_call_watchers", default=()
)
_history: deque[Call] = deque(maxlen=HISTORY_SIZE)
_history_lock = threading.Lock()


@contextmanager
def watch(*watchers: Watcher) -> Iterator[None]:
    """Tell ``watchers`` about every call made inside the block (worker threads included)."""
    token = _watchers.set((*_watchers.get(), *watchers))
    try:
        yield
    finally:
        _watchers.reset(token)


def engine_name(engine: Engine) -> str:
    """``provider/model`` when the engine says, else its model name."""
    return str(getattr(engine, "name", None) or engine.model_string)


def begin(engine: Engine, request: Request, purpose: Purpose) -> Call:
    """A record of a call about to be sent, once every watcher's ``before`` allowed it.

    The executor calls this once for every request an engine is asked for, in the caller's
    context: for a cache hit at once, else just before the request's first attempt leaves its
    engine's queue (so a budget sees everything spent until then). Raises whatever a watcher
    raises (e.g. :class:`~wordgrad.errors.BudgetExceededError`): then nothing is sent.
    """
    call = Call(
        engine=engine_name(engine),
        model=engine.model_string,
        purpose=purpose,
        request=request,
        label=request.role,
        started=datetime.now(timezone.utc).isoformat(),
    )
    call.extra["_start"] = time.perf_counter()
    watchers = _watchers.get()
    for watcher in watchers:
        watcher.before(call)
    call.extra["_watchers"] = watchers
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "sending %s request to %s (%s): %s",
            purpose,
            call.engine,
            call.label or "-",
            [(m["role"], m["content"]) for m in call.as_dict()["messages"]],
        )
    return call


def end(call: Call, outcome: Response | BaseException) -> None:
    """Complete the record of ``call`` with its response or error: history, watchers' ``after``
    and the DEBUG log."""
    call.latency_s = time.perf_counter() - float(call.extra.pop("_start", time.perf_counter()))
    watchers: tuple[Watcher, ...] = call.extra.pop("_watchers", ())
    if isinstance(outcome, Response):
        call.response = outcome
    else:
        call.error = f"{type(outcome).__name__}: {outcome}"
    with _history_lock:
        _history.append(call)
    for watcher in watchers:
        watcher.after(call)
    if logger.isEnabledFor(logging.DEBUG):
        if call.response is not None:
            logger.debug(
                "reply from %s in %.2fs (%d+%d tokens): %r",
                call.engine,
                call.latency_s,
                call.prompt_tokens,
                call.completion_tokens,
                call.response.text,
            )
        else:
            logger.debug(
                "call to %s failed after %.2fs: %s", call.engine, call.latency_s, call.error
            )


def last_calls(n: int = 1) -> list[Call]:
    """The last ``n`` calls made in this process (oldest first)."""
    with _history_lock:
        calls = list(_history)
    return calls[-n:] if n > 0 else []


def inspect_history(n: int = 1, *, file: Any = None) -> str:
    """Print (and return) the last ``n`` calls: purpose, model, every message and the reply."""
    blocks = []
    for call in last_calls(n):
        record = call.as_dict()
        head = (
            f"[{record['time']}] {record['purpose']} · {record['model']} · "
            f"{record['prompt_tokens']}+{record['completion_tokens']} tokens · "
            f"{record['latency_s']:.2f}s" + (" · cached" if record["cached"] else "")
        )
        lines = [head]
        if record["role"]:
            lines.append(f"for: {record['role']}")
        for message in record["messages"]:
            lines.append(f"--- {message['role']}\n{message['content']}")
        lines.append(
            f"--- reply\n{record['reply'] if record['error'] is None else record['error']}"
        )
        blocks.append("\n".join(lines))
    text = "\n\n".join(blocks)
    print(text, file=file)
    return text


# --------------------------------------------------------------------------- budgets


Spent = Callable[[], tuple[int, float]]
"""``() -> (tokens, cost_usd)`` spent so far."""


class CallBudget:
    """Refuse a call before it is sent when it would take spending past a limit.

    A call is refused when the tokens (or cost) spent so far plus the call's prompt (estimated
    at four characters a token) would exceed ``max_tokens`` (``max_cost``, USD). Replies are
    not known in advance, so spending can pass a limit by at most the replies of the calls in
    flight. While ``max_cost`` is set, a call to a model without a price is refused (its cost
    would count as 0).

    Args:
        max_tokens / max_cost: the limits (``None``: none).
        spent: what was spent so far (default: what this budget saw, plus ``already``).
        already: ``(tokens, cost_usd)`` spent before this budget was made (e.g. by earlier
            processes of a resumed run).
        hint: added to the refusal, e.g. how to continue a run.
    """

    def __init__(
        self,
        max_tokens: int | None = None,
        max_cost: float | None = None,
        *,
        spent: Spent | None = None,
        already: tuple[int, float] = (0, 0.0),
        hint: str = "",
    ) -> None:
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.hint = hint
        self._spent = spent
        self._tokens = int(already[0])
        self._cost = float(already[1])
        self._lock = threading.Lock()
        self.refused = 0

    def spent(self) -> tuple[int, float]:
        if self._spent is not None:
            return self._spent()
        with self._lock:
            return self._tokens, self._cost

    def before(self, call: Call) -> None:
        if self.max_tokens is None and self.max_cost is None:
            return
        tokens, cost = self.spent()
        prompt = call.prompt_tokens
        reason = ""
        if self.max_tokens is not None and tokens + prompt > self.max_tokens:
            reason = (
                f"the token budget of {self.max_tokens:,} would be exceeded: {tokens:,} used so "
                f"far and this {call.purpose} call's prompt alone has about {prompt:,}"
            )
        elif self.max_cost is not None:
            price = price_for(call.engine, call.model)
            if price is None:
                reason = unknown_price_message(call.model)
            else:
                estimate = prompt * price.prompt_per_million / 1_000_000
                if cost + estimate > self.max_cost:
                    reason = (
                        f"the cost budget of ${self.max_cost:.4f} would be exceeded: "
                        f"${cost:.4f} spent so far and this {call.purpose} call's prompt alone "
                        f"costs about ${estimate:.4f}"
                    )
        if reason:
            with self._lock:
                self.refused += 1
            raise BudgetExceededError(f"{reason}. {self.hint}".strip())

    def after(self, call: Call) -> None:
        if self._spent is not None:
            return
        tokens, cost = spending(call)
        with self._lock:
            self._tokens += tokens
            self._cost += cost


def spending(call: Call) -> tuple[int, float]:
    """``(tokens, cost_usd)`` a returned call spent: 0 for a cache hit or a failed call, and no
    cost for a model without a price."""
    response = call.response
    if response is None or response.cached:
        return 0, 0.0
    usage = response.usage
    price = price_for(call.engine, call.model)
    cost = 0.0
    if price is not None:
        cost = (
            usage.prompt_tokens * price.prompt_per_million
            + usage.completion_tokens * price.completion_per_million
        ) / 1_000_000
    return usage.prompt_tokens + usage.completion_tokens, cost


def unknown_price_message(model: str) -> str:
    """Why a cost budget cannot be kept for ``model``, and how to give its price."""
    from wordgrad.engine.usage import PRICES_AS_OF

    return (
        f"model {model!r} has no price in wordgrad's table (prices as of {PRICES_AS_OF}), so a "
        "cost budget cannot be kept. Give its price in USD per million prompt and completion "
        f"tokens: --price {model}=INPUT,OUTPUT on the command line, or "
        f"wordgrad.engine.set_price({model!r}, INPUT, OUTPUT) in Python; or use --max-tokens"
    )


def find_budget_error(error: BaseException) -> BudgetExceededError | None:
    """The :class:`BudgetExceededError` behind ``error`` (raised in a worker and wrapped)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, BudgetExceededError):
            return current
        seen.add(id(current))
        current = current.__cause__ or getattr(current, "cause", None) or current.__context__
    return None


def models_without_price(engines: Sequence[Engine]) -> list[str]:
    """The model names of ``engines`` that have no price (each named once, in order)."""
    names = [e.model_string for e in engines if price_for(engine_name(e), e.model_string) is None]
    return list(dict.fromkeys(names))
