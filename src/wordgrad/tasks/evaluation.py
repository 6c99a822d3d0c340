"""The evaluation functions ``load_task`` and ``load_instance_task`` hand out.

Two kinds, both usable as losses in the graph:

- exact: a :class:`~wordgrad.autograd.StringBasedFunction` around a deterministic scorer from
  :mod:`wordgrad.tasks.metrics`, called as
  ``eval_fn(inputs=dict(prediction=..., ground_truth_answer=...))``; its value is "1" or "0".
- judge: a :class:`~wordgrad.loss.MultiFieldTokenParsedEvaluation` that asks an LLM whether the
  prediction matches the ground truth, called as ``eval_fn([question, ground_truth, prediction])``;
  ``eval_fn.parse_output(result)`` reads the 1 or 0 between ``<ACCURACY>`` tags.

The judge costs a model call per example and can be wrong; the exact scorers are free and
repeatable but only as good as their answer parsing.
"""

from __future__ import annotations

from wordgrad import prompts
from wordgrad.autograd import StringBasedFunction
from wordgrad.engine.base import EngineLM
from wordgrad.loss import MultiChoiceTestTime, MultiFieldTokenParsedEvaluation
from wordgrad.tasks.metrics import AnswerFn
from wordgrad.variable import Variable

EXACT_PURPOSE = (
    "Reads the final answer out of the prediction and compares it with the ground truth answer: "
    "returns 1 when they match and 0 when they do not."
)
JUDGE_ROLES = [
    "question given to the language model",
    "correct answer",
    "language model's reasoning and final answer",
]
JUDGE_TAGS = ["<ACCURACY>", "</ACCURACY>"]
JUDGE_INSTRUCTION = prompts.render("task.judge_instruction")
CRITIC_INSTRUCTION = prompts.render("task.critic_instruction")
ALTERNATIVES_INSTRUCTION = prompts.render(
    "task.critic_alternatives", critic_instruction=CRITIC_INSTRUCTION
)


def exact_eval_fn(answer_fn: AnswerFn) -> StringBasedFunction:
    """An eval function scoring ``prediction`` against ``ground_truth_answer`` with ``answer_fn``.

    ``answer_fn`` must take those two keyword arguments, as the scorers in ``metrics`` do.
    """
    return StringBasedFunction(answer_fn, function_purpose=EXACT_PURPOSE)


def judge_eval_fn(evaluation_api: EngineLM | str | None) -> MultiFieldTokenParsedEvaluation:
    """An LLM judge of whether a prediction matches the ground truth (``None``: default engine)."""
    instruction = Variable(
        JUDGE_INSTRUCTION,
        requires_grad=False,
        role_description="instruction for judging whether an answer is correct",
    )
    return MultiFieldTokenParsedEvaluation(
        instruction, JUDGE_ROLES, engine=evaluation_api, parse_tags=JUDGE_TAGS
    )


class SolutionObjective:
    """The loss of test-time (solution) optimization: a critic's review of a proposed solution.

    ``objective(solution)`` returns the critic's text as a Variable to call ``backward()`` on.
    """

    def __init__(self, critic: MultiChoiceTestTime, question: str) -> None:
        self.critic = critic
        self.question = question

    def __call__(self, solution: Variable) -> Variable:
        return self.critic.forward(self.question, solution)


def make_critic(evaluation_api: EngineLM | str | None, alternatives: bool) -> MultiChoiceTestTime:
    """The critic for multiple-choice solutions; ``alternatives`` also asks about other options."""
    instruction = ALTERNATIVES_INSTRUCTION if alternatives else CRITIC_INSTRUCTION
    return MultiChoiceTestTime(instruction, engine=evaluation_api)
