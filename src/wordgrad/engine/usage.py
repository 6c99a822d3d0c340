"""Token, latency and cost accounting.

Every request that an engine sends is recorded on every active :class:`UsageMeter`.
``with tg.track() as meter:`` opens one for a block of code; the process-wide meter
``GLOBAL_METER`` records everything. Cost is estimated from :data:`PRICES` (US dollars per
million tokens), which users extend with :func:`set_price`.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from wordgrad.engine._sdk import longest_prefix
from wordgrad.llm import Purpose, Response, Usage


@dataclass(frozen=True)
class Price:
    """US dollars per million prompt and completion tokens.

    ``cached_per_million`` prices prompt tokens served from the provider's prompt cache; ``None``
    means half the prompt price (OpenAI's discount on cached input; Anthropic's cache reads cost
    a tenth, Gemini's a quarter: give those with :func:`set_price`).
    """

    prompt_per_million: float
    completion_per_million: float
    cached_per_million: float | None = None

    def cost(self, usage: Usage) -> float:
        """US dollars for one call's tokens."""
        cached = usage.cached_prompt_tokens
        cached_price = (
            self.cached_per_million
            if self.cached_per_million is not None
            else self.prompt_per_million / 2
        )
        return (
            (usage.prompt_tokens - cached) * self.prompt_per_million
            + cached * cached_price
            + usage.completion_tokens * self.completion_per_million
        ) / 1_000_000


PRICES_AS_OF = "2025-09-30"
"""The date the providers' list prices below were checked (OpenAI, Anthropic and Google pricing
pages; standard tier, prompts under 200k tokens, no batch or cache discounts)."""

# List prices in USD per million tokens, as of PRICES_AS_OF. A name matches its longest listed
# prefix ("claude-sonnet-4-5-20250929" -> "claude-sonnet-4"). Unlisted models cost 0 and are
# named in `UsageMeter.unpriced`; a run with a cost budget refuses them (give a price with
# set_price or --price).
PRICES: dict[str, Price] = {
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "o1": Price(15.00, 60.00),
    "o1-mini": Price(1.10, 4.40),
    "o3": Price(2.00, 8.00),
    "o4-mini": Price(1.10, 4.40),
    "claude-opus-4": Price(15.00, 75.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-3-7-sonnet": Price(3.00, 15.00),
    "claude-haiku-4-5": Price(1.00, 5.00),
    "gemini-2.5-pro": Price(1.25, 10.00),
    "gemini-2.5-flash": Price(0.30, 2.50),
    "gemini-2.5-flash-lite": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "gpt-4-turbo": Price(10.00, 30.00),
    "o3-mini": Price(1.10, 4.40),
    "claude-3-5-sonnet": Price(3.00, 15.00),
    "claude-3-5-haiku": Price(0.80, 4.00),
    "claude-3-opus": Price(15.00, 75.00),
    "claude-3-haiku": Price(0.25, 1.25),
    "gemini-1.5-pro": Price(1.25, 5.00),
    "gemini-1.5-flash": Price(0.075, 0.30),
    "gemini-2.0-flash": Price(0.10, 0.40),
    # Providers whose models run on the user's own machine.
    "local": Price(0.0, 0.0),
    "scripted": Price(0.0, 0.0),
    "ollama": Price(0.0, 0.0),
    "vllm": Price(0.0, 0.0),
    "llamacpp": Price(0.0, 0.0),
    "lmstudio": Price(0.0, 0.0),
}
_prices_lock = threading.Lock()


def set_price(
    model: str,
    prompt_per_million: float,
    completion_per_million: float,
    cached_per_million: float | None = None,
) -> None:
    """Add or change the price of a model (USD per million tokens; cached input defaults to half
    the prompt price)."""
    with _prices_lock:
        PRICES[model] = Price(prompt_per_million, completion_per_million, cached_per_million)


def price_of(model: str) -> Price | None:
    """The price of ``model``: an exact entry, else the longest entry that prefixes the name."""
    name = model.split("/")[-1]
    with _prices_lock:
        key = name if name in PRICES else longest_prefix(PRICES, name)
        return PRICES[key] if key is not None else None


def price_for(engine_name: str, model: str) -> Price | None:
    """The price of a call: by model, else by the engine's provider (local servers are free)."""
    return price_of(model) or price_of(engine_name.partition("/")[0])


def call_cost(price: Price | None, response: Response) -> float:
    """US dollars of one call at ``price`` (0 when the model has no price)."""
    return price.cost(response.usage) if price is not None else 0.0


@dataclass
class UsageTotals:
    """Sums over a group of calls."""

    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    """Of ``prompt_tokens``, those served from the provider's prompt cache."""
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, response: Response, cost: float) -> None:
        self.calls += 1
        if response.cached:
            self.cached_calls += 1
            return
        self.prompt_tokens += response.usage.prompt_tokens
        self.cached_prompt_tokens += response.usage.cached_prompt_tokens
        self.completion_tokens += response.usage.completion_tokens
        self.latency_s += response.latency_s
        self.cost_usd += cost


@dataclass
class UsageMeter:
    """Totals of every call made while it is active, overall and per engine, model and purpose.

    Cache hits count as calls (``cached_calls``) but add no tokens, latency or cost.
    """

    total: UsageTotals = field(default_factory=UsageTotals)
    by_model: dict[str, UsageTotals] = field(default_factory=dict)
    by_engine: dict[str, UsageTotals] = field(default_factory=dict)
    by_purpose: dict[str, UsageTotals] = field(default_factory=dict)
    unpriced: set[str] = field(default_factory=set)
    """Models seen that have no entry in the price table (their cost counts as 0)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, engine_name: str, purpose: Purpose, response: Response) -> None:
        """Add one call: to the total, and to its engine's, model's and purpose's rows."""
        model = response.model or engine_name
        price = price_for(engine_name, model)
        cost = call_cost(price, response)
        with self._lock:
            if price is None:
                self.unpriced.add(model)
            self.total.add(response, cost)
            for table, key in (
                (self.by_model, model),
                (self.by_engine, engine_name),
                (self.by_purpose, purpose),
            ):
                table.setdefault(key, UsageTotals()).add(response, cost)

    @property
    def cost_usd(self) -> float:
        return self.total.cost_usd

    @property
    def total_tokens(self) -> int:
        return self.total.total_tokens

    @property
    def calls(self) -> int:
        return self.total.calls

    def summary(self) -> str:
        """One line per purpose plus the total, for printing."""
        lines = [
            f"{name:<11} calls={t.calls:<5} cached={t.cached_calls:<5} "
            f"tokens={t.total_tokens:<8} cost=${t.cost_usd:.4f}"
            for name, t in sorted(self.by_purpose.items())
        ]
        lines.append(
            f"{'total':<11} calls={self.total.calls:<5} cached={self.total.cached_calls:<5} "
            f"tokens={self.total.total_tokens:<8} cost=${self.total.cost_usd:.4f}"
        )
        return "\n".join(lines)


GLOBAL_METER = UsageMeter()
"""Records every call in this process."""

_active_meters: contextvars.ContextVar[tuple[UsageMeter, ...]] = contextvars.ContextVar(
    "wordgrad_active_meters", default=()
)


_open_meters: list[UsageMeter] = []
"""Meters of the ``track()`` blocks open anywhere in the process."""
_open_lock = threading.Lock()


@contextmanager
def track(
    meter: UsageMeter | None = None, *, scope: Literal["process", "context"] = "process"
) -> Iterator[UsageMeter]:
    """Count the calls made while the block is open: ``with tg.track() as meter: ...``.

    With ``scope="process"`` (the default) every call made in this process while the block is
    open is counted, whichever thread makes it: the executor's workers, ``tg.map``'s items, and a
    user's own thread pool (upstream's tutorials evaluate in a ``ThreadPoolExecutor``, whose
    threads do not inherit the caller's context). With ``scope="context"`` only the calls made
    in this context and the work it starts are counted: a run's own meter uses it, so two runs
    in one process never count each other's calls.

    Args:
        meter: the meter to add to (default: a new one).
    """
    meter = meter if meter is not None else UsageMeter()
    if scope == "context":
        token = _active_meters.set((*_active_meters.get(), meter))
        try:
            yield meter
        finally:
            _active_meters.reset(token)
        return
    with _open_lock:
        _open_meters.append(meter)
    try:
        yield meter
    finally:
        with _open_lock:
            _open_meters.remove(meter)


def record(engine_name: str, purpose: Purpose, response: Response) -> None:
    """Add one finished call to the global meter, to every meter active in this context and to
    every open :func:`track` block (each meter once)."""
    GLOBAL_METER.record(engine_name, purpose, response)
    with _open_lock:
        meters = {id(m): m for m in (*_active_meters.get(), *_open_meters)}
    for meter in meters.values():
        meter.record(engine_name, purpose, response)
