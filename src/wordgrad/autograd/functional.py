"""Function-style shortcuts for the LLM operations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from wordgrad.autograd.algebra import aggregate, sum
from wordgrad.autograd.llm_ops import FormattedLLMCall, LLMCall
from wordgrad.llm import Engine
from wordgrad.variable import Variable


def llm_call(
    input_variable: Variable,
    engine: Engine | str | None = None,
    response_role_description: str | None = None,
    system_prompt: Variable | None = None,
) -> Variable:
    """``LLMCall(engine, system_prompt)(input_variable, response_role_description)``."""
    return LLMCall(engine, system_prompt)(input_variable, response_role_description)


def formatted_llm_call(
    inputs: Mapping[str, Variable],
    response_role_description: str | None,
    engine: Engine | str | None,
    format_string: str,
    fields: Mapping[str, object] | Sequence[str],
    system_prompt: Variable | None = None,
) -> Variable:
    """``FormattedLLMCall(engine, format_string, fields, system_prompt)(inputs, role)``."""
    return FormattedLLMCall(engine, format_string, fields, system_prompt)(
        inputs, response_role_description
    )


__all__ = ["aggregate", "formatted_llm_call", "llm_call", "sum"]
