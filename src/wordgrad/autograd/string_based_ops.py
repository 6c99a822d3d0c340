"""``StringBasedFunction``: a Python function in the graph whose feedback an LLM writes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wordgrad import prompts
from wordgrad.autograd.feedback import feedback_jobs
from wordgrad.autograd.function import Function
from wordgrad.errors import InvalidInputError
from wordgrad.executor import EXECUTOR
from wordgrad.graph import GradientJob, is_grad_enabled
from wordgrad.llm import Engine
from wordgrad.prompts.upstream import (
    CONVERSATION_START_INSTRUCTION_BASE,
    CONVERSATION_START_INSTRUCTION_CHAIN,
    CONVERSATION_TEMPLATE_STRING,
    OBJECTIVE_INSTRUCTION_BASE,
    OBJECTIVE_INSTRUCTION_CHAIN,
)
from wordgrad.variable import Backward, Variable, pending

# Upstream's constant names (our wording), for code that builds its own prompts from them.
CONVERSATION_START_INSTRUCTION_STRING_FN_BASE = CONVERSATION_START_INSTRUCTION_BASE
CONVERSATION_START_INSTRUCTION_STRING_FN_CHAIN = CONVERSATION_START_INSTRUCTION_CHAIN


class StringBasedFunction(Function):
    """Wrap ``fn`` so it can sit in the graph.

    ``fn`` is called with the input *variables* as keyword arguments (read ``.value`` inside) and
    returns text or a number. It runs once its inputs are ready, off the caller's thread, so a
    loop of calls does not wait for each model reply. In the backward pass an LLM reads
    ``function_purpose``, the inputs and the output, and writes feedback for each trainable input.
    """

    def __init__(self, fn: Callable[..., Any], function_purpose: str) -> None:
        if not callable(fn):
            raise InvalidInputError(f"fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.function_purpose = function_purpose

    def forward(
        self, inputs: Mapping[str, Variable], response_role_description: str | None = None
    ) -> Variable:
        """The function's result on ``inputs`` (pending until their values are ready)."""
        for name, variable in inputs.items():
            if not isinstance(variable, Variable):
                raise InvalidInputError(
                    f"input {name!r} must be a Variable, got {type(variable).__name__}"
                )
        role = response_role_description or prompts.render(
            "role.function_output", purpose=self.function_purpose
        )
        future = EXECUTOR.run(
            lambda: self._run(inputs),
            label=role,
            after=[v._value_future() for v in inputs.values() if v._is_pending()],
        )
        tracked = is_grad_enabled()
        variables = list(inputs.values())
        output = pending(
            future,
            predecessors=variables if tracked else None,
            requires_grad=tracked,
            role_description=role,
        )

        def jobs(out: Variable, _: Engine) -> list[GradientJob]:
            rendered_inputs = "\n\n".join(
                prompts.render(
                    "gradient.function_input",
                    name=name.replace("_", " ").capitalize(),
                    role=variable.role_description,
                    value=variable.text,
                )
                for name, variable in inputs.items()
            )
            conversation = prompts.render(
                "gradient.function_call",
                purpose=self.function_purpose,
                inputs=rendered_inputs,
                output=out.text,
            )
            return feedback_jobs(out, conversation, variables)

        if output.requires_grad:
            output.grad_fn = Backward(type(self).__name__, jobs)
        return output

    def _run(self, inputs: Mapping[str, Variable]) -> str:
        result = self.fn(**inputs)
        if isinstance(result, Variable):
            result = result.value
        if isinstance(result, bool) or not isinstance(result, (str, int, float)):
            raise InvalidInputError(
                f"the function for {self.function_purpose!r} returned {type(result).__name__}; "
                "it must return str, int or float"
            )
        return str(result)


__all__ = [
    "CONVERSATION_START_INSTRUCTION_STRING_FN_BASE",
    "CONVERSATION_START_INSTRUCTION_STRING_FN_CHAIN",
    "CONVERSATION_TEMPLATE_STRING",
    "OBJECTIVE_INSTRUCTION_BASE",
    "OBJECTIVE_INSTRUCTION_CHAIN",
    "StringBasedFunction",
]
