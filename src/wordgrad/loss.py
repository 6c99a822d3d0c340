"""Losses: language-model evaluations whose output is the objective of the backward pass."""

from __future__ import annotations

from collections.abc import Sequence

from wordgrad import prompts
from wordgrad.autograd import FormattedLLMCall, LLMCall, Module, OrderedFieldsMultimodalLLMCall
from wordgrad.errors import InvalidInputError
from wordgrad.llm import Engine
from wordgrad.prompts import TEMPLATES
from wordgrad.variable import Variable


def _frozen(text: Variable | str, role_template: str) -> Variable:
    if isinstance(text, Variable):
        return text
    if not isinstance(text, str):
        raise InvalidInputError(f"expected a str or a Variable, got {type(text).__name__}")
    return Variable(text, requires_grad=False, role_description=prompts.render(role_template))


def _instruction_and_system(
    instruction: Variable | str, system_prompt: Variable | str | None, default_system: str
) -> tuple[Variable, Variable]:
    """An evaluation's instruction and system prompt as variables (strings become frozen ones);
    without a system prompt, the template ``default_system``."""
    return (
        _frozen(instruction, "loss.multifield_instruction_role"),
        _frozen(
            system_prompt if system_prompt is not None else TEMPLATES[default_system],
            "role.evaluation_prompt",
        ),
    )


DEFAULT_TEST_TIME = TEMPLATES["loss.multichoice_system"]
"""The default system prompt of :class:`MultiChoiceTestTime` (upstream's constant name)."""


class _Evaluation(Module):
    """Shared parts: the trainable prompts of an evaluation are its parameters."""

    _prompt_variables: tuple[Variable | None, ...] = ()
    llm_call: LLMCall

    def parameters(self) -> list[Variable]:
        return [v for v in self._prompt_variables if v is not None and v.requires_grad]

    @property
    def engine(self) -> Engine:
        """The engine that evaluates (upstream's attribute)."""
        return self.llm_call.engine

    @property
    def formatted_llm_call(self) -> LLMCall:
        """Upstream's name for the call an evaluation makes."""
        return self.llm_call

    @property
    def multimodal_llm_call(self) -> LLMCall:
        """Upstream's name for the call an image evaluation makes."""
        return self.llm_call

    @property
    def format_string(self) -> str:
        """The prompt's format string (formatted evaluations only; "" otherwise)."""
        return str(getattr(self.llm_call, "format_string", ""))

    @property
    def tt_system_prompt(self) -> Variable | None:
        """Upstream's name for a test-time critic's system prompt."""
        return getattr(self, "system_prompt", None)


class TextLoss(_Evaluation):
    """An LLM judges a variable under ``eval_system_prompt``; its critique is the loss.

    Args:
        eval_system_prompt: what to judge and how ("Find any error in this answer ...").
            A string becomes a frozen variable; pass a trainable Variable to optimize it.
        engine: the judge; ``None`` uses the default engine when called.
    """

    def __init__(self, eval_system_prompt: Variable | str, engine: Engine | str | None = None):
        self.eval_system_prompt = _frozen(eval_system_prompt, "role.evaluation_prompt")
        self.llm_call = LLMCall(engine, self.eval_system_prompt)
        self.llm_call.purpose = "evaluation"
        self._prompt_variables = (self.eval_system_prompt,)

    def forward(self, instance: Variable) -> Variable:
        """The critique of ``instance``."""
        role = prompts.render("role.evaluation", role=instance.role_description)
        return self.llm_call(instance, response_role_description=role)


class MultiFieldEvaluation(_Evaluation):
    """An LLM judges several variables together (e.g. question, answer and ground truth).

    The prompt is ``evaluation_instruction`` followed by one ``**<role>**: <value>`` line per
    input, labelled with ``role_descriptions`` (the inputs' own roles are left untouched).
    """

    def __init__(
        self,
        evaluation_instruction: Variable | str,
        role_descriptions: Sequence[str],
        engine: Engine | str | None = None,
        system_prompt: Variable | str | None = None,
    ) -> None:
        self.evaluation_instruction, self.system_prompt = _instruction_and_system(
            evaluation_instruction, system_prompt, "loss.multifield_system"
        )
        self.role_descriptions = list(role_descriptions)
        self.fields = [f"input_{index}" for index in range(len(self.role_descriptions))]
        lines = [
            prompts.render("loss.field_line", label=_escape_braces(label), field=field)
            for label, field in zip(self.role_descriptions, self.fields)
        ]
        format_string = "{instruction}\n\n" + "\n\n".join(lines)
        self.llm_call = FormattedLLMCall(
            engine, format_string, ["instruction", *self.fields], self.system_prompt
        )
        self.llm_call.purpose = "evaluation"
        self._prompt_variables = (self.evaluation_instruction, self.system_prompt)

    def forward(self, inputs: Sequence[Variable]) -> Variable:
        """The evaluation of ``inputs`` (one per role description, in the same order)."""
        inputs = list(inputs)
        if len(inputs) != len(self.fields):
            raise InvalidInputError(
                f"expected {len(self.fields)} inputs ({self.role_descriptions}), got {len(inputs)}"
            )
        named = {"instruction": self.evaluation_instruction, **dict(zip(self.fields, inputs))}
        role = prompts.render("role.evaluation", role=inputs[-1].role_description)
        return self.llm_call(named, response_role_description=role)


class MultiFieldTokenParsedEvaluation(MultiFieldEvaluation):
    """A :class:`MultiFieldEvaluation` whose verdict sits between two tags (``parse_tags``)."""

    def __init__(
        self,
        evaluation_instruction: Variable | str,
        role_descriptions: Sequence[str],
        engine: Engine | str | None = None,
        system_prompt: Variable | str | None = None,
        parse_tags: Sequence[str] | None = None,
    ) -> None:
        super().__init__(evaluation_instruction, role_descriptions, engine, system_prompt)
        tags = list(parse_tags or ["<ACCURACY>", "</ACCURACY>"])
        if len(tags) != 2:
            raise InvalidInputError(f"parse_tags must be [start, end], got {tags}")
        self.parse_tags = tags

    def parse_output(self, response: Variable | str) -> str:
        """The stripped text between the tags (the last such span), or "" when they are missing."""
        text = response.text if isinstance(response, Variable) else response
        start, end = self.parse_tags
        _, found, tail = text.rpartition(start)
        if not found:
            return ""
        inside, closed, _ = tail.partition(end)
        return inside.strip() if closed else ""


class MultiChoiceTestTime(_Evaluation):
    """A critic reviews a proposed solution to a multiple-choice question (test-time objective)."""

    def __init__(
        self,
        evaluation_instruction: str,
        engine: Engine | str | None = None,
        system_prompt: Variable | str | None = None,
    ) -> None:
        self.evaluation_instruction, self.system_prompt = _instruction_and_system(
            evaluation_instruction, system_prompt, "loss.multichoice_system"
        )
        self.llm_call = FormattedLLMCall(
            engine,
            TEMPLATES["loss.multichoice_user"],
            ["instruction", "question", "prediction"],
            self.system_prompt,
        )
        self.llm_call.purpose = "evaluation"
        self._prompt_variables = (self.evaluation_instruction, self.system_prompt)

    @property
    def fields(self) -> list[str]:
        """The names in the prompt's format string (upstream's attribute)."""
        return list(getattr(self.llm_call, "fields", []))

    def forward(self, question: str | Variable, prediction: Variable) -> Variable:
        """The critique of ``prediction`` as a solution to ``question``."""
        question_variable = _frozen(question, "role.llm_input")
        role = prompts.render("role.evaluation", role=prediction.role_description)
        return self.llm_call(
            {
                "instruction": self.evaluation_instruction,
                "question": question_variable,
                "prediction": prediction,
            },
            response_role_description=role,
        )


class ImageQALoss(_Evaluation):
    """An LLM checks an answer to a question about an image (needs an engine that takes images)."""

    FIELDS = ("Evaluation Instruction", "Question", "Image", "Answer")

    def __init__(
        self,
        evaluation_instruction: Variable | str,
        engine: Engine | str | None = None,
        system_prompt: Variable | str | None = None,
    ) -> None:
        self.evaluation_instruction, self.system_prompt = _instruction_and_system(
            evaluation_instruction, system_prompt, "loss.image_qa_system"
        )
        self.llm_call = OrderedFieldsMultimodalLLMCall(engine, self.FIELDS, self.system_prompt)
        self.llm_call.purpose = "evaluation"
        self._prompt_variables = (self.evaluation_instruction, self.system_prompt)

    def forward(self, image: Variable, question: Variable | str, response: Variable) -> Variable:
        """The critique of ``response`` as an answer to ``question`` about ``image``."""
        fields = dict(
            zip(
                self.FIELDS,
                (self.evaluation_instruction, _frozen(question, "role.llm_input"), image, response),
            )
        )
        role = prompts.render("role.evaluation", role=response.role_description)
        return self.llm_call(fields, response_role_description=role)


def _escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")
