"""Textual Gradient Descent: what the LLM is shown, parsing and repair, state, warnings."""

from __future__ import annotations

import json
import warnings

import pytest

import wordgrad as tg
from tests import imaging
from wordgrad.errors import ContextLengthError, NoGradientWarning, UpdateParseError
from wordgrad.llm import Capabilities, Request
from wordgrad.optimizer import TextualGradientDescentwithMomentum
from wordgrad.variable import Variable

from .scripts import TAGGED_UPDATE, give_feedback, kind_of


def parameter_with_feedback(text: str, *feedback: str, role: str = "system prompt") -> Variable:
    parameter = Variable(text, role_description=role)
    for item in feedback:
        give_feedback(parameter, item)
    return parameter


def update_requests(engine: tg.ScriptedEngine) -> list[Request]:
    return [r for r in engine.requests if kind_of(r) == "update"]


def test_update_shows_the_whole_value_and_all_feedback() -> None:
    long_value = " ".join(f"word{i}" for i in range(500))
    parameter = parameter_with_feedback(long_value, "first point", "second point")
    engine = tg.ScriptedEngine(lambda r: TAGGED_UPDATE.format("new prompt"))
    tg.TGD([parameter], engine=engine).step()
    prompt = update_requests(engine)[0].prompt
    assert long_value in prompt  # never the short value
    assert prompt.index("first point") < prompt.index("second point")
    assert parameter.value == "new prompt"


def test_constraints_examples_and_custom_tags_reach_the_prompt() -> None:
    parameter = parameter_with_feedback("old", "be shorter")
    engine = tg.ScriptedEngine(lambda r: "<NEW>short</NEW>")
    optimizer = tg.TGD(
        [parameter],
        engine=engine,
        constraints=["End with 'Answer: $VALUE'.", "Stay under 50 words."],
        in_context_examples=["Think step by step."],
        new_variable_tags=["<NEW>", "</NEW>"],
    )
    optimizer.step()
    request = update_requests(engine)[0]
    assert "1. End with 'Answer: $VALUE'.\n2. Stay under 50 words." in request.prompt
    assert "<EXAMPLES>\n1. Think step by step.\n</EXAMPLES>" in request.prompt
    assert "between <NEW> and </NEW>" in request.prompt
    assert "<IMPROVED_VARIABLE>" not in request.prompt + (request.system_prompt or "")
    assert parameter.value == "short"


def test_missing_tags_are_repaired_with_one_follow_up_request() -> None:
    parameter = parameter_with_feedback("old", "be clearer")
    engine = tg.ScriptedEngine(
        ["Here is my improved version: clearer", TAGGED_UPDATE.format("clear")]
    )
    tg.TGD([parameter], engine=engine).step()
    assert parameter.value == "clear"
    first, repair = update_requests(engine)
    roles = [m.role for m in repair.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert repair.messages[2].content == "Here is my improved version: clearer"
    assert "could not find the new text" in repair.prompt
    assert repair.messages[:2] == first.messages


@pytest.mark.parametrize(
    "reply",
    [
        "no tags at all",
        "<IMPROVED_VARIABLE>half a value",
        "<IMPROVED_VARIABLE>  </IMPROVED_VARIABLE>",
    ],
)
def test_unparseable_reply_keeps_the_old_value_and_raises_after_updating_the_others(
    reply: str,
) -> None:
    broken = parameter_with_feedback("keep me", "feedback", role="broken prompt")
    fine = parameter_with_feedback("old", "feedback", role="fine prompt")

    def script(request: Request) -> str:
        if "broken prompt" in request.messages[1].text:  # the update and its repair
            return reply
        return TAGGED_UPDATE.format("updated")

    engine = tg.ScriptedEngine(script)
    with pytest.raises(UpdateParseError, match="broken prompt") as caught:
        tg.TGD([broken, fine], engine=engine).step()
    assert broken.value == "keep me"
    assert fine.value == "updated"
    assert caught.value.reply == reply
    assert len(update_requests(engine)) == 3  # two updates + one repair


def test_parse_errors_can_be_recorded_instead_of_raised() -> None:
    parameter = parameter_with_feedback("keep me", "feedback")
    engine = tg.ScriptedEngine(lambda r: "never tagged")
    optimizer = tg.TGD([parameter], engine=engine, on_parse_error="record")
    optimizer.step()
    assert parameter.value == "keep me"
    assert [e.parameter_role for e in optimizer.parse_errors] == ["system prompt"]


def test_parameter_without_feedback_is_skipped_with_a_warning_naming_it() -> None:
    silent = Variable("unchanged", role_description="forgotten prompt")
    engine = tg.ScriptedEngine(lambda r: TAGGED_UPDATE.format("x"))
    with pytest.warns(NoGradientWarning, match="forgotten prompt"):
        tg.TGD([silent], engine=engine).step()
    assert silent.value == "unchanged" and engine.requests == []


def test_gradient_memory_shows_the_last_k_rounds_of_feedback() -> None:
    parameter = Variable("v0", role_description="system prompt")
    engine = tg.ScriptedEngine(lambda r: TAGGED_UPDATE.format("next"))
    optimizer = tg.TGD([parameter], engine=engine, gradient_memory=2)
    for step in range(1, 4):
        optimizer.zero_grad()
        give_feedback(parameter, f"feedback of step {step}")
        optimizer.step()
    prompts = [r.prompt for r in update_requests(engine)]
    assert "<PAST_FEEDBACK>" not in prompts[0]
    assert "[1 step(s) ago]\nfeedback of step 1" in prompts[1]
    third = prompts[2]
    past = third[third.index("<PAST_FEEDBACK>") : third.index("</PAST_FEEDBACK>")]
    assert "[2 step(s) ago]\nfeedback of step 1" in past
    assert "[1 step(s) ago]\nfeedback of step 2" in past
    with_window_1 = tg.TGD([parameter], engine=engine, gradient_memory=1)
    with_window_1.load_state_dict(optimizer.state_dict())
    with_window_1.param_groups[0]["gradient_memory"] = 1
    give_feedback(parameter, "now")
    shown = with_window_1.update_request(parameter).prompt
    assert "feedback of step 3" in shown and "feedback of step 2" not in shown


def test_momentum_shows_earlier_values_with_their_feedback() -> None:
    parameter = Variable("version A", role_description="system prompt")
    replies = iter(["version B", "version C", "version D"])
    engine = tg.ScriptedEngine(lambda r: TAGGED_UPDATE.format(next(replies)))
    optimizer = TextualGradientDescentwithMomentum(engine, [parameter], momentum_window=2)
    for step in range(3):
        optimizer.zero_grad()
        give_feedback(parameter, f"criticism {step}")
        optimizer.step()
    last = update_requests(engine)[-1].prompt
    history = last[last.index("<EARLIER_VERSIONS>") : last.index("</EARLIER_VERSIONS>")]
    assert "[version 1]\nversion A\n[feedback on version 1]\ncriticism 0" in history
    assert "[version 2]\nversion B\n[feedback on version 2]\ncriticism 1" in history
    assert parameter.value == "version D"


def test_momentum_window_zero_is_a_plain_optimizer() -> None:
    parameter = parameter_with_feedback("v", "f")
    engine = tg.ScriptedEngine(lambda r: TAGGED_UPDATE.format("w"))
    TextualGradientDescentwithMomentum(engine, [parameter], momentum_window=0).step()
    assert parameter.value == "w"
    assert "<EARLIER_VERSIONS>" not in update_requests(engine)[0].prompt


def test_state_dict_round_trip_through_json_restores_the_same_next_prompt() -> None:
    engine = tg.ScriptedEngine(lambda r: TAGGED_UPDATE.format("better"))
    first = Variable("a", role_description="prompt one")
    second = Variable("b", role_description="prompt two")
    optimizer = tg.TGD(
        [{"params": [first], "constraints": ["short"]}, {"params": [second]}],
        engine=engine,
        gradient_memory=3,
        momentum_window=2,
    )
    for parameter in (first, second):
        give_feedback(parameter, "improve")
    optimizer.step()
    saved = json.loads(json.dumps(optimizer.state_dict()))

    restored = tg.TGD([{"params": [first]}, {"params": [second]}], engine=engine)
    restored.load_state_dict(saved)
    for parameter in (first, second):
        parameter.reset_gradients()
        give_feedback(parameter, "again")
    for parameter in (first, second):
        assert (
            restored.update_request(parameter).prompt == optimizer.update_request(parameter).prompt
        )
    assert restored.param_groups[0]["constraints"] == ["short"]
    with pytest.raises(tg.errors.InvalidInputError, match="parameter groups"):
        tg.TGD([first], engine=engine).load_state_dict(saved)


def test_a_value_too_long_for_the_engine_is_a_clear_error_not_a_cut() -> None:
    parameter = parameter_with_feedback("word " * 4000, "shorter")
    engine = tg.ScriptedEngine(
        lambda r: TAGGED_UPDATE.format("x"), capabilities=Capabilities(max_context_tokens=1000)
    )
    with pytest.raises(ContextLengthError, match="system prompt"):
        tg.TGD([parameter], engine=engine).step()
    assert engine.requests == [] and parameter.value.startswith("word word")


def test_engines_with_structured_output_are_asked_for_json() -> None:
    parameter = parameter_with_feedback("old", "be specific")
    engine = tg.ScriptedEngine(
        lambda r: json.dumps({"improved_variable": "specific"}),
        capabilities=Capabilities(structured_output=True),
    )
    tg.TGD([parameter], engine=engine).step()
    request = update_requests(engine)[0]
    assert request.response_format is not None and request.response_format.kind == "json_schema"
    assert parameter.value == "specific"


def test_empty_parameter_list_and_non_text_parameters_are_rejected() -> None:
    with pytest.raises(tg.errors.InvalidInputError, match="empty parameter list"):
        tg.TGD([], engine=tg.ScriptedEngine())
    image = Variable(imaging.PNG, requires_grad=False, role_description="image")
    with pytest.raises(tg.errors.InvalidInputError, match="only text"):
        tg.TGD([image], engine=tg.ScriptedEngine())


def test_zero_grad_clears_every_parameter() -> None:
    parameter = parameter_with_feedback("v", "f")
    optimizer = tg.TGD([parameter], engine=tg.ScriptedEngine())
    optimizer.zero_grad()
    assert parameter.gradients == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoGradientWarning)
        optimizer.step()


def test_updates_that_copy_our_tags_or_a_training_input_are_flagged() -> None:
    from wordgrad.errors import LeakWarning
    from wordgrad.variable import GradientContext

    question = "A farmer has seventeen sheep, and all but nine run away; how many sheep are left?"
    parameter = Variable("Answer carefully.", role_description="system prompt")
    give_feedback(
        parameter,
        "be careful with 'all but'",
        context=GradientContext(
            context=f"<SYSTEM_PROMPT>\nAnswer carefully.\n</SYSTEM_PROMPT>\n<INPUT>\n{question}\n</INPUT>",
            response_desc="answer",
            variable_desc="system prompt",
        ),
    )
    copying = tg.ScriptedEngine(
        lambda r: TAGGED_UPDATE.format(f"Answer carefully. Example: {question} <FEEDBACK>")
    )
    with pytest.warns(LeakWarning) as caught:
        tg.TGD([parameter], engine=copying).step()
    messages = [str(w.message) for w in caught]
    assert any("<FEEDBACK>" in m for m in messages)
    assert any("training inputs" in m for m in messages)

    give_feedback(parameter, "fine")
    clean = tg.ScriptedEngine(
        lambda r: TAGGED_UPDATE.format("Read quantifiers like 'all but' literally.")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeakWarning)
        tg.TGD([parameter], engine=clean).step()


def test_json_updates_tolerate_raw_newlines_and_bound_the_length() -> None:
    parameter = parameter_with_feedback("x" * 800, "shorter")
    engine = tg.ScriptedEngine(
        lambda r: '{"improved_variable": "line one\nline two"}',
        capabilities=Capabilities(structured_output=True),
    )
    tg.TGD([parameter], engine=engine).step()
    assert parameter.value == "line one\nline two"
    schema = update_requests(engine)[0].response_format.schema  # type: ignore[union-attr]
    assert schema["properties"]["improved_variable"]["maxLength"] == 2400
