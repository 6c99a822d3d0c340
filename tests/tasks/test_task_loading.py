"""load_task and load_instance_task: what upstream users call, with scripted engines."""

from __future__ import annotations

import pytest

from wordgrad.autograd import StringBasedFunction
from wordgrad.engine import ScriptedEngine
from wordgrad.llm import Request
from wordgrad.loss import MultiFieldTokenParsedEvaluation
from wordgrad.tasks import (
    AVAILABLE_DATASETS,
    DataLoader,
    load_instance_task,
    load_task,
)
from wordgrad.tasks.evaluation import ALTERNATIVES_INSTRUCTION, CRITIC_INSTRUCTION
from wordgrad.variable import Variable


def var(text: str, role: str = "test input") -> Variable:
    return Variable(text, role_description=role, requires_grad=False)


def exact_score(eval_fn: object, prediction: str, gold: str) -> str:
    assert isinstance(eval_fn, StringBasedFunction)
    result = eval_fn(inputs=dict(prediction=var(prediction), ground_truth_answer=var(gold)))
    return str(result.value)


def test_available_datasets_lists_every_bbh_task_and_gsm8k() -> None:
    assert len(AVAILABLE_DATASETS) == 28
    assert {"BBH_object_counting", "BBH_word_sorting", "GSM8K_DSPy"} <= set(AVAILABLE_DATASETS)


def test_object_counting_scores_exactly_by_default() -> None:
    train, val, test, eval_fn = load_task("BBH_object_counting", evaluation_api=None)
    assert (len(train), len(val), len(test)) == (50, 100, 100)
    assert exact_score(eval_fn, "I count them.\nAnswer: 8", "8") == "1"
    assert exact_score(eval_fn, "Answer: 9", "8") == "0"


def test_gsm8k_scores_exactly_by_default() -> None:
    train, val, test, eval_fn = load_task("GSM8K_DSPy")
    assert (len(train), len(val), len(test)) == (200, 300, 1319)
    assert exact_score(eval_fn, "She makes $1,080 a week.", "1080") == "1"


def test_word_sorting_asks_the_llm_judge_by_default() -> None:
    judge = ScriptedEngine(lambda request: "The lists agree. <ACCURACY>1</ACCURACY>")
    train, _, _, eval_fn = load_task("BBH_word_sorting", evaluation_api=judge)
    assert isinstance(eval_fn, MultiFieldTokenParsedEvaluation)
    question, gold = train[0]
    result = eval_fn([var(question), var(gold), var("Answer: syndrome therefrom")])
    assert eval_fn.parse_output(result) == "1"
    prompt = judge.requests[0].prompt
    assert question in prompt and "Answer: syndrome therefrom" in prompt
    assert "<ACCURACY>" in prompt and "correct answer" in prompt


def test_exact_metric_is_available_for_llm_judged_tasks() -> None:
    *_, eval_fn = load_task("BBH_word_sorting", metric="exact")
    assert exact_score(eval_fn, "Answer: Apple, banana", "apple banana") == "1"
    assert exact_score(eval_fn, "Answer: banana apple", "apple banana") == "0"
    *_, choice_fn = load_task("BBH_date_understanding", metric="exact")
    assert exact_score(choice_fn, "Answer: (B)", "(B)") == "1"


def test_llm_metric_is_available_for_exact_tasks() -> None:
    *_, eval_fn = load_task("GSM8K_DSPy", metric="llm")
    assert isinstance(eval_fn, MultiFieldTokenParsedEvaluation)


def test_unknown_names_and_options_are_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="BBH_object_counting"):
        load_task("BBH_object_countin")
    with pytest.raises(ValueError, match="metric"):
        load_task("GSM8K_DSPy", metric="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shuffle_seed"):
        load_task("GSM8K_DSPy", shuffle_seed=1)
    with pytest.raises(ValueError, match="MMLU_machine_learning"):
        load_instance_task("MMLU")
    with pytest.raises(ValueError, match="gpqa_diamond"):
        load_instance_task("GPQA_main")


def test_loader_over_a_task_yields_questions_and_answers() -> None:
    train, *_ = load_task("BBH_object_counting")
    xs, ys = next(iter(DataLoader(train, batch_size=3, seed=42)))
    assert len(xs) == len(ys) == 3 and all(y.isdigit() for y in ys)


def _critic(request: Request) -> str:
    return "Step 2 is wrong."


@pytest.mark.parametrize(
    ("name", "size", "instruction"),
    [
        ("MMLU_machine_learning", 112, CRITIC_INSTRUCTION),
        ("MMLU_college_physics", 102, CRITIC_INSTRUCTION),
        ("GPQA_diamond", 198, ALTERNATIVES_INSTRUCTION),
    ],
)
def test_multiple_choice_instance_tasks(name: str, size: int, instruction: str) -> None:
    critic = ScriptedEngine(_critic)
    questions = load_instance_task(name, evaluation_api=critic)
    assert len(questions) == size
    question, letter, objective, score = questions[0]
    asks_for_a_letter = "Answer: $LETTER" in question  # kept out of assert: no text in logs
    assert letter in "ABCD" and asks_for_a_letter
    assert score(var(f"Thinking...\nAnswer: {letter}")) == 1.0
    assert score(var("Answer: " + ("A" if letter != "A" else "B"))) == 0.0
    solution = Variable("Answer: A", role_description="solution to the question")
    review = objective(solution)
    assert review.value == "Step 2 is wrong."
    sent = critic.requests[0]
    shows_instruction = instruction in sent.prompt + (sent.system_prompt or "")
    shows_solution = "Answer: A" in sent.prompt
    assert shows_instruction and shows_solution


def test_max_samples_limits_instance_tasks() -> None:
    assert len(load_instance_task("MMLU_machine_learning", max_samples=3)) == 3


def test_code_instance_tasks() -> None:
    leetcode, humaneval = load_instance_task("LeetCodeHardEval"), load_instance_task("HumanEval")
    assert (len(leetcode), len(humaneval)) == (39, 164)
    assert len(leetcode[0]) == len(humaneval[0]) == 3
