"""Update parsing never accepts a wrong value: each kind of doubtful reply, in tags and in JSON."""

from __future__ import annotations

import json
import warnings

import pytest

import wordgrad as tg
from tests.core.scripts import give_feedback
from wordgrad.errors import UpdateParseError
from wordgrad.llm import Capabilities, Request
from wordgrad.optimizer.parsing import (
    ReplyFormat,
    extract_new_value,
    json_schema,
    max_value_chars,
    parse_update,
)

S, E = "<IMPROVED_VARIABLE>", "</IMPROVED_VARIABLE>"


def value(reply: str, previous: str = "Be brief.") -> str | None:
    return extract_new_value(reply, ReplyFormat(), previous)


def as_json(text: str) -> str:
    return json.dumps({"improved_variable": text})


def test_a_plain_block_is_read() -> None:
    assert value(f"Here it is:\n{S}\nAnswer in one line.\n{E}") == "Answer in one line."


def test_tags_mentioned_in_prose_before_the_block() -> None:
    reply = f"I will put the new text between {S} and {E} as asked.\n\n{S}\nState the answer first.\n{E}"
    assert value(reply) == "State the answer first."


def test_tags_mentioned_in_prose_after_the_block() -> None:
    reply = f"{S}State the answer first.{E}\nAs requested, the text sits between {S} and {E}."
    assert value(reply) == "State the answer first."


def test_a_draft_inside_think_is_never_the_answer() -> None:
    reply = f"<think>Draft: {S}Wrong draft.{E} Hmm, better:</think>\n{S}The real one.{E}"
    assert value(reply) == "The real one."
    # Even a draft in an unfinished think block followed by the real block: the last block wins.
    assert value(f"{S}First try.{E} On reflection: {S}Second try.{E}") == "Second try."


def test_nested_tags_are_rejected_never_returned_inside_a_value() -> None:
    reply = f"{S}Outer start {S}inner{E} outer end{E}"
    parsed = parse_update(reply, ReplyFormat(), "Be brief.")
    assert parsed.value is None
    assert "holds the tags" in parsed.problem


def test_stray_or_unclosed_tags_are_rejected() -> None:
    assert value(f"{S}cut off before the end") is None
    assert value(f"only an end tag {E}") is None
    assert value(f"{S}done{E} and then {S}a second one that never ends") is None
    assert value("no tags at all") is None
    assert value(f"{S}   {E}") is None


def test_an_old_value_holding_the_tags_gets_the_whole_new_text() -> None:
    old = f"Wrap the reply in {S} and {E}."
    new = f"Always wrap the final reply in {S} and {E}, nothing outside."
    assert value(f"{S}{new}{E}", previous=old) == new
    # ... also when the reply first mentions the tags in prose
    assert value(f"Between {S} and {E}:\n{S}{new}{E}", previous=old) == new


def test_a_fence_the_old_value_did_not_have_is_stripped() -> None:
    assert value(f"{S}\n```\nCount each item.\n```\n{E}") == "Count each item."
    assert value(f"{S}```text\nCount each item.\n```{E}") == "Count each item."
    code = "```python\nprint(1)\n```"
    assert value(f"{S}\n{code}\n{E}", previous="```python\nprint(0)\n```") == code


def test_one_megabyte_for_a_seven_character_value_is_rejected() -> None:
    huge = "x" * 1_000_000
    parsed = parse_update(f"{S}{huge}{E}", ReplyFormat(), "Answer.")
    assert parsed.value is None
    assert "1000000 characters" in parsed.problem
    # the bound is the one JSON mode's schema declares
    limit = json_schema("Answer.")["properties"]["improved_variable"]["maxLength"]
    assert limit == max_value_chars("Answer.") == 1000
    assert value(f"{S}{'y' * limit}{E}", previous="Answer.") == "y" * limit
    assert value(f"{S}{'y' * (limit + 1)}{E}", previous="Answer.") is None
    assert value(as_json("z" * (limit + 1)), previous="Answer.") is None


def test_json_mode_follows_the_same_rules() -> None:
    assert value(as_json("Count first.")) == "Count first."
    assert value(f"<think>{as_json('draft')}</think>{as_json('final')}") == "final"
    assert value(as_json(f"{S}x{E}")) is None  # a value holding the tags
    assert value(as_json(f"Use {S} tags."), previous=f"Use {S}.") == f"Use {S} tags."
    assert value(as_json("```\nfenced\n```")) == "fenced"
    assert value("```json\n" + as_json("in a fence") + "\n```") == "in a fence"
    assert value("Sure! " + as_json("after prose")) == "after prose"
    assert value(as_json("")) is None


def parameter_with_feedback(text: str) -> tg.Variable:
    parameter = tg.Variable(text, role_description="system prompt")
    give_feedback(parameter, "make it clearer")
    return parameter


def test_a_rejected_reply_gets_the_repair_request_then_the_old_value_is_kept() -> None:
    nested = f"{S}a {S}b{E} c{E}"
    engine = tg.ScriptedEngine([nested, f"{S}{'q' * 5000}{E}"])
    parameter = parameter_with_feedback("Answer.")
    with pytest.raises(UpdateParseError, match="more than the 1000 allowed"):
        tg.TGD([parameter], engine=engine).step()
    assert parameter.value == "Answer."
    requests: list[Request] = engine.requests
    assert len(requests) == 2
    repair = requests[1]
    assert [m.role for m in repair.messages][-2:] == ["assistant", "user"]
    assert repair.messages[-2].text == nested


def test_a_repaired_reply_is_used() -> None:
    engine = tg.ScriptedEngine([f"Between {S} and {E}", f"{S}Be exact.{E}"])
    parameter = parameter_with_feedback("Answer.")
    tg.TGD([parameter], engine=engine).step()
    assert parameter.value == "Be exact."


def test_json_engine_rejects_then_keeps_the_old_value() -> None:
    engine = tg.ScriptedEngine(
        [as_json("x" * 2000), as_json(f"{S}bad{E}")],
        capabilities=Capabilities(structured_output=True),
    )
    parameter = parameter_with_feedback("Answer.")
    optimizer = tg.TGD([parameter], engine=engine, on_parse_error="record")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizer.step()
    assert parameter.value == "Answer."
    assert len(optimizer.parse_errors) == 1
    assert "holds the tags" in str(optimizer.parse_errors[0])
