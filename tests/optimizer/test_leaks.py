"""Leak warnings: runs of six or more words copied from the inputs or the optimizer's wording."""

from __future__ import annotations

import warnings

import pytest

import wordgrad as tg
from tests.core.scripts import give_feedback
from wordgrad.errors import LeakWarning
from wordgrad.optimizer.leaks import copied_inputs, copied_instructions, shared_runs
from wordgrad.variable import GradientContext

QUESTION = "A farmer has seventeen sheep and all but nine run away. How many are left?"


def call_with(question: str) -> str:
    return f"<SYSTEM_PROMPT>\nAnswer.\n</SYSTEM_PROMPT>\n<INPUT>\n{question}\n</INPUT>\n<OUTPUT>\n9\n</OUTPUT>"


def test_six_shared_words_count_after_normalising_case_and_spacing() -> None:
    new = "Think first. for example:   ALL BUT NINE\nRUN AWAY, how many"
    assert copied_inputs(new, "Think first.", [call_with(QUESTION)]) == [
        "all but nine run away how many"
    ]


def test_five_shared_words_or_words_the_old_value_had_are_not_flagged() -> None:
    assert copied_inputs("Note: all but nine run away.", "x", [call_with(QUESTION)]) == []
    old = "Remember: all but nine run away, how many are left?"
    assert copied_inputs(old + " Be exact.", old, [call_with(QUESTION)]) == []


def test_runs_are_maximal_and_separate() -> None:
    source = "one two three four five six seven eight | alpha beta gamma delta epsilon zeta"
    new = "one two three four five six seven eight and then alpha beta gamma delta epsilon zeta"
    assert shared_runs(new, "", [source]) == [
        "one two three four five six seven eight",
        "alpha beta gamma delta epsilon zeta",
    ]


def test_phrases_of_the_optimizers_instructions_are_flagged() -> None:
    new = "Answer well. Feedback can be partly wrong or contradictory: act on what is sound."
    assert copied_instructions(new, "Answer well.") == [
        "feedback can be partly wrong or contradictory act on what is sound"
    ]
    assert copied_instructions("Answer well and show the steps.", "Answer well.") == []
    custom = ["Polish the marketing copy until it sparkles with energy."]
    assert copied_instructions(
        "Make it sparkle: polish the marketing copy until it sparkles", "", custom
    )


def test_cjk_text_counts_characters_as_words() -> None:
    source = "农夫有十七只羊，除了九只以外都跑了。"
    assert copied_inputs("注意：除了九只以外都跑了", "", [call_with(source)]) == [
        "除 了 九 只 以 外 都 跑 了"
    ]


def test_the_optimizer_warns_for_each_kind_and_not_for_a_clean_update() -> None:
    parameter = tg.Variable("Answer carefully.", role_description="system prompt")
    give_feedback(
        parameter,
        "watch 'all but'",
        context=GradientContext(
            context=call_with(QUESTION), response_desc="answer", variable_desc="system prompt"
        ),
    )
    leaky = (
        "<IMPROVED_VARIABLE>Answer carefully: seventeen sheep and ALL BUT nine run away means "
        "nine. Feedback can be partly wrong or contradictory.</IMPROVED_VARIABLE>"
    )
    with pytest.warns(LeakWarning) as caught:
        tg.TGD([parameter], engine=tg.ScriptedEngine([leaky])).step()
    messages = " | ".join(str(w.message) for w in caught)
    assert "seventeen sheep and all but nine run away" in messages
    assert "optimizer's own instructions" in messages

    give_feedback(parameter, "fine")
    clean = "<IMPROVED_VARIABLE>Read quantifiers like 'all but' literally.</IMPROVED_VARIABLE>"
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeakWarning)
        tg.TGD([parameter], engine=tg.ScriptedEngine([clean])).step()
