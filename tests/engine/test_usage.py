"""Usage and cost: totals per engine, model and purpose; prices users can extend."""

from __future__ import annotations

import pytest

from wordgrad.engine import ScriptedEngine, set_price, track
from wordgrad.engine.usage import PRICES, UsageMeter, price_for, price_of
from wordgrad.llm import Request, Response, Usage


def test_track_totals_per_engine_model_and_purpose() -> None:
    a = ScriptedEngine(lambda r: "x" * 40, model_string="gpt-4o-mini")
    b = ScriptedEngine(lambda r: "y" * 8, model_string="unknown-model")

    with track() as meter:
        a.send(Request.chat("p" * 400), purpose="forward")
        a.send(Request.chat("q" * 400), purpose="backward")
        b.send(Request.chat("r" * 40), purpose="optimizer")

    assert meter.calls == 3
    forward = meter.by_purpose["forward"]
    assert (forward.prompt_tokens, forward.completion_tokens) > (0, 0)
    assert set(meter.by_purpose) == {"forward", "backward", "optimizer"}
    assert meter.by_engine["scripted/gpt-4o-mini"].calls == 2
    assert meter.by_model["unknown-model"].calls == 1
    expected = (2 * forward.prompt_tokens * 0.15 + 2 * forward.completion_tokens * 0.60) / 1e6
    assert meter.cost_usd == pytest.approx(expected)
    assert meter.unpriced == set()  # scripted engines are free, so nothing is unknown
    assert "forward" in meter.summary() and "total" in meter.summary()


def test_meters_nest_and_only_see_their_block() -> None:
    engine = ScriptedEngine()
    with track() as outer:
        engine.send(Request.chat("a"))
        with track() as inner:
            engine.send(Request.chat("b"))
    engine.send(Request.chat("c"))
    assert (outer.calls, inner.calls) == (2, 1)


def test_prices_match_by_longest_prefix_and_users_can_add_their_own() -> None:
    assert price_of("gpt-4o-mini-2024-07-18") == PRICES["gpt-4o-mini"]
    assert price_of("openai/gpt-4o-2024-08-06") == PRICES["gpt-4o"]
    assert price_of("my-finetune") is None

    set_price("my-finetune", 1.0, 2.0)
    try:
        meter = UsageMeter()
        meter.record(
            "openai/my-finetune", "forward", Response(("x",), Usage(1000, 500), "my-finetune")
        )
        assert meter.cost_usd == pytest.approx((1000 * 1.0 + 500 * 2.0) / 1e6)
    finally:
        del PRICES["my-finetune"]


def test_models_on_the_users_own_machine_are_free_and_unknown_ones_are_named() -> None:
    assert price_for("local/SmolLM2.gguf", "SmolLM2.gguf") == PRICES["local"]
    assert price_for("ollama/llama3", "llama3") == PRICES["ollama"]
    meter = UsageMeter()
    meter.record("together/x", "forward", Response(("x",), Usage(10, 10), "mystery-70b"))
    assert meter.unpriced == {"mystery-70b"}
    assert meter.cost_usd == 0
