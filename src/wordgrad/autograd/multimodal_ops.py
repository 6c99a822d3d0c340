"""LLM calls whose input mixes text and images."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from wordgrad import prompts
from wordgrad.autograd.llm_ops import LLMCall
from wordgrad.errors import ConfigurationError, InvalidInputError
from wordgrad.llm import Engine
from wordgrad.variable import Variable


class MultimodalLLMCall(LLMCall):
    """Send several variables (texts and images, in order) as one user message.

    The engine must take images (``engine.capabilities.images``; set it if you know better).
    In the backward pass the images travel with each feedback request, so the backward engine
    must take images too.
    """

    def _multimodal_engine(self) -> Engine:
        engine = self.engine
        if not engine.capabilities.images:
            raise ConfigurationError(
                f"{engine.name} is not marked as taking images; use a multimodal engine (e.g. "
                "'gpt-4o'), or set engine.capabilities = dataclasses.replace("
                "engine.capabilities, images=True) if it does take them"
            )
        return engine

    def forward(  # type: ignore[override]
        self, inputs: Sequence[Variable], response_role_description: str | None = None
    ) -> Variable:
        """The model's reply to ``inputs``, in order."""
        self._multimodal_engine()
        variables = list(inputs)
        return self._send(
            lambda: [v.value for v in variables], variables, response_role_description
        )


class OrderedFieldsMultimodalLLMCall(MultimodalLLMCall):
    """Like :class:`MultimodalLLMCall`, with named fields in a fixed order.

    Text fields are sent as ``"<field>: <value>"``, images as they are.
    """

    def __init__(
        self,
        engine: Engine | str | None,
        fields: Sequence[str],
        system_prompt: Variable | None = None,
    ) -> None:
        super().__init__(engine, system_prompt)
        self.fields = list(fields)

    def forward(  # type: ignore[override]
        self, inputs: Mapping[str, Variable], response_role_description: str | None = None
    ) -> Variable:
        """The model's reply to the fields of ``inputs``, in ``fields`` order."""
        if set(inputs) != set(self.fields):
            raise InvalidInputError(
                f"inputs must have exactly the fields {self.fields}, got {sorted(inputs)}"
            )
        self._multimodal_engine()
        ordered = [(name, inputs[name]) for name in self.fields]

        def prompt() -> list[str | bytes]:
            parts: list[str | bytes] = []
            for name, variable in ordered:
                value = variable.value
                if isinstance(value, bytes):
                    parts.append(value)
                else:
                    parts.append(prompts.render("multimodal.field", field=name, value=value))
            return parts

        return self._send(prompt, [v for _, v in ordered], response_role_description)
