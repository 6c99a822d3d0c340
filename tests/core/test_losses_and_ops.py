"""Losses and the remaining operations: what they send and where their feedback goes."""

from __future__ import annotations

import pytest

import wordgrad as tg
from wordgrad.autograd import (
    FormattedLLMCall,
    LLMCall_with_in_context_examples,
    StringBasedFunction,
)
from wordgrad.errors import InvalidInputError, NodeError
from wordgrad.llm import Request
from wordgrad.loss import MultiChoiceTestTime, MultiFieldEvaluation, MultiFieldTokenParsedEvaluation
from wordgrad.variable import Variable

from .scripts import give_feedback, kind_of, role_in_gradient_request


def echo_feedback(request: Request) -> str:
    if kind_of(request) == "gradient":
        return f"feedback for [{role_in_gradient_request(request)}]"
    return "<ACCURACY> 1 </ACCURACY> looks right"


def test_multifield_evaluation_labels_fields_and_leaves_roles_alone() -> None:
    engine = tg.ScriptedEngine(echo_feedback)
    question = Variable("2+2?", requires_grad=False, role_description="question")
    truth = Variable("4", requires_grad=False, role_description="truth")
    prediction = Variable("4", role_description="prediction of the model")
    evaluation = MultiFieldEvaluation(
        "Is the prediction right? {not a field}",
        ["Question", "Ground {truth}", "Prediction"],
        engine=engine,
    )
    result = evaluation([question, truth, prediction])
    assert result.value.startswith("<ACCURACY>")
    prompt = engine.requests[0].prompt
    assert prompt == (
        "Is the prediction right? {not a field}\n\n**Question**: 2+2?\n\n"
        "**Ground {truth}**: 4\n\n**Prediction**: 4"
    )
    assert prediction.role_description == "prediction of the model"
    result.backward(engine)
    assert [g.value for g in prediction.gradients] == ["feedback for [prediction of the model]"]
    assert evaluation.parameters() == []
    with pytest.raises(InvalidInputError, match="expected 3 inputs"):
        evaluation([question])


def test_token_parsed_evaluation_reads_the_last_tagged_verdict() -> None:
    evaluation = MultiFieldTokenParsedEvaluation(
        "Judge.", ["Prediction"], engine=tg.ScriptedEngine(echo_feedback)
    )
    assert (
        evaluation.parse_output("<ACCURACY>0</ACCURACY> no, wait: <ACCURACY> 1 </ACCURACY>") == "1"
    )
    assert evaluation.parse_output("no verdict") == ""
    assert evaluation.parse_output("<ACCURACY>1 unterminated") == ""
    result = evaluation([Variable("x", role_description="prediction")])
    assert evaluation.parse_output(result) == "1"


def test_multichoice_critic_sees_instruction_question_and_solution() -> None:
    engine = tg.ScriptedEngine(echo_feedback)
    solution = Variable("B, because ... Answer: B", role_description="solution to the question")
    critique = MultiChoiceTestTime("Find mistakes.", engine=engine)(
        "Which is prime? A) 4 B) 5", solution
    )
    critique.backward(engine)
    sent = engine.requests[0]
    assert sent.prompt.startswith("Find mistakes.\n\nQuestion:\nWhich is prime? A) 4 B) 5")
    assert sent.prompt.endswith("Proposed solution:\nB, because ... Answer: B")
    assert "multiple-choice" in (sent.system_prompt or "")
    assert [g.value for g in solution.gradients] == ["feedback for [solution to the question]"]


def test_formatted_call_checks_its_fields() -> None:
    engine = tg.ScriptedEngine(echo_feedback)
    with pytest.raises(InvalidInputError, match="must be the same names"):
        FormattedLLMCall(engine, "{a} {b}", ["a"])
    call = FormattedLLMCall(engine, "{a} and {b}", ["a", "b"])
    a = Variable("x", role_description="a")
    with pytest.raises(InvalidInputError, match="exactly the fields"):
        call({"a": a})


def test_string_based_function_runs_on_values_and_gets_llm_feedback() -> None:
    engine = tg.ScriptedEngine(echo_feedback)

    def equals(prediction: Variable, ground_truth_answer: Variable) -> int:
        return int(prediction.value.strip() == ground_truth_answer.value)

    check = StringBasedFunction(equals, "checks whether the prediction equals the answer")
    prediction = tg.BlackboxLLM(tg.ScriptedEngine(lambda r: " 12"))(
        Variable("q", requires_grad=False, role_description="question")
    )
    truth = Variable("12", requires_grad=False, role_description="correct answer")
    result = check(inputs=dict(prediction=prediction, ground_truth_answer=truth))
    assert result.value == "1"
    result.backward(engine)
    request = next(r for r in engine.requests if kind_of(r) == "gradient")
    assert (
        "A Python function that checks whether the prediction equals the answer." in request.prompt
    )
    assert "Ground truth answer (correct answer):\n12" in request.prompt
    assert [g.value for g in prediction.gradients] == [
        "feedback for [output of the language model]"
    ]


def test_string_based_function_with_a_bad_return_type_fails_naming_its_purpose() -> None:
    check = StringBasedFunction(lambda x: [x], "wraps the input")
    result = check(inputs=dict(x=Variable("a", role_description="x")))
    with pytest.raises(NodeError, match="wraps the input"):
        result.get_value()


def test_in_context_examples_reach_the_feedback_request() -> None:
    engine = tg.ScriptedEngine(echo_feedback)
    prompt = Variable("Plan the trip.", role_description="planning prompt")
    plan = LLMCall_with_in_context_examples(engine, prompt)(
        Variable("Paris, 2 days", requires_grad=False, role_description="request"),
        in_context_examples=["Day 1: Louvre. Day 2: Versailles."],
    )
    give_feedback(plan, "too vague")
    plan.backward(engine)
    request = next(r for r in engine.requests if kind_of(r) == "gradient")
    assert "<EXAMPLES>\nDay 1: Louvre. Day 2: Versailles.\n</EXAMPLES>" in request.prompt


def test_text_loss_with_a_trainable_prompt_lists_it_as_a_parameter() -> None:
    engine = tg.ScriptedEngine(echo_feedback)
    judge_prompt = Variable("Judge strictly.", role_description="evaluation prompt")
    loss_fn = tg.TextLoss(judge_prompt, engine=engine)
    assert loss_fn.parameters() == [judge_prompt]
    assert tg.TextLoss("frozen", engine=engine).parameters() == []
    with pytest.raises(InvalidInputError):
        tg.TextLoss(42, engine=engine)  # type: ignore[arg-type]


def test_ops_reject_plain_strings_with_a_fix() -> None:
    model = tg.BlackboxLLM(tg.ScriptedEngine(), "frozen prompt")
    with pytest.raises(InvalidInputError, match=r"tg\.Variable"):
        model("a plain string")  # type: ignore[arg-type]
    assert model.parameters()[0].requires_grad is False
