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

from wordgrad.engine._sdk import longest_prefix
from wordgrad.llm import Purpose, Response


@dataclass(frozen=True)
class Price:
    """US dollars per million prompt and completion tokens."""

    prompt_per_million: float
    completion_per_million: float


# List prices in USD per million tokens. Unlisted models cost 0 and are named in
# `UsageMeter.unpriced`.
PRICES: dict[str, Price] = {
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


def set_price(model: str, prompt_per_million: float, completion_per_million: float) -> None:
    """Add or change the price of a model (USD per million tokens)."""
    with _prices_lock:
        PRICES[model] = Price(prompt_per_million, completion_per_million)


def price_of(model: str) -> Price | None:
    """The price of ``model``: an exact entry, else the longest entry that prefixes the name."""
    name = model.split("/")[-1]
    with _prices_lock:
        key = name if name in PRICES else longest_prefix(PRICES, name)
        return PRICES[key] if key is not None else None


def price_for(engine_name: str, model: str) -> Price | None:
    """The price of a call: by model, else by the engine's provider (local servers are free)."""
    return price_of(model) or price_of(engine_name.partition("/")[0])


@dataclass
class UsageTotals:
    """Sums over a group of calls."""

    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
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
        self.completion_tokens += response.usage.completion_tokens
        self.latency_s += response.latency_s
        self.cost_usd += cost


_TOTALS_FIELDS = (
    "calls",
    "cached_calls",
    "prompt_tokens",
    "completion_tokens",
    "latency_s",
    "cost_usd",
)


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
        cost = 0.0
        if price is not None:
            cost = (
                response.usage.prompt_tokens * price.prompt_per_million
                + response.usage.completion_tokens * price.completion_per_million
            ) / 1_000_000
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

    def merge(self, other: UsageMeter) -> None:
        """Add ``other``'s totals to this meter's (e.g. a meter filled in a worker process)."""
        with self._lock:
            self.unpriced.update(other.unpriced)
            pairs = (
                (self.by_model, other.by_model),
                (self.by_engine, other.by_engine),
                (self.by_purpose, other.by_purpose),
            )
            for mine, theirs in [*pairs, ({"": self.total}, {"": other.total})]:
                for key, totals in theirs.items():
                    row = mine.setdefault(key, UsageTotals())
                    for name in _TOTALS_FIELDS:
                        setattr(row, name, getattr(row, name) + getattr(totals, name))

    def __getstate__(self) -> dict[str, object]:
        """Pickled without its lock, so a meter can travel between processes."""
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

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


@contextmanager
def track() -> Iterator[UsageMeter]:
    """Count the calls made inside the block: ``with tg.track() as meter: ...``.

    Calls that the executor runs on its worker threads are counted too (the executor carries the
    caller's context along with each request).
    """
    meter = UsageMeter()
    token = _active_meters.set((*_active_meters.get(), meter))
    try:
        yield meter
    finally:
        _active_meters.reset(token)


def record(engine_name: str, purpose: Purpose, response: Response) -> None:
    """Add one finished call to the global meter and to every meter active in this context."""
    GLOBAL_METER.record(engine_name, purpose, response)
    for meter in _active_meters.get():
        meter.record(engine_name, purpose, response)


def record_meter(meter: UsageMeter) -> None:
    """Add a meter's totals, counted elsewhere (another process), to the global meter and to
    every meter active in this context, as if its calls had been made here."""
    GLOBAL_METER.merge(meter)
    for active in _active_meters.get():
        active.merge(meter)
