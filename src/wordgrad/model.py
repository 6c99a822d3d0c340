"""Models: ``BlackboxLLM``, a language model with an (optionally trainable) system prompt."""

from __future__ import annotations

from wordgrad import prompts
from wordgrad.autograd import LLMCall, Module
from wordgrad.errors import InvalidInputError
from wordgrad.llm import Engine
from wordgrad.variable import Variable


class BlackboxLLM(Module):
    """A language model as a module: ``model(question)`` returns its (pending) answer.

    Args:
        engine: an engine or its name; ``None`` uses the default engine at call time.
        system_prompt: a string (frozen) or a Variable; pass
            ``Variable(text, requires_grad=True, role_description=...)`` to optimize it.
    """

    def __init__(
        self, engine: Engine | str | None = None, system_prompt: Variable | str | None = None
    ) -> None:
        if isinstance(system_prompt, str):
            system_prompt = Variable(
                system_prompt,
                requires_grad=False,
                role_description=prompts.render("role.frozen_system_prompt"),
            )
        elif system_prompt is not None and not isinstance(system_prompt, Variable):
            raise InvalidInputError(
                f"system_prompt must be a str or a Variable, got {type(system_prompt).__name__}"
            )
        self.system_prompt = system_prompt
        self.llm_call = LLMCall(engine, system_prompt)

    @property
    def engine(self) -> Engine:
        return self.llm_call.engine

    def parameters(self) -> list[Variable]:
        """``[system_prompt]`` when there is one (as upstream, even if it is frozen)."""
        return [self.system_prompt] if self.system_prompt is not None else []

    def forward(self, x: Variable) -> Variable:
        """The model's answer to ``x``."""
        return self.llm_call(x)
