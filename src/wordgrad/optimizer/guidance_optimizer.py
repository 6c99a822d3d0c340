"""Upstream's ``textgrad.optimizer.guidance_optimizer``: TGD whose replies are constrained.

Upstream's ``GuidedTextualGradientDescent`` needed a ``GuidanceEngine`` to force the reply into
"reasoning, then the new value between tags". Here it is TGD that *requires* an engine which
constrains its output to a JSON schema while decoding (``engine.capabilities.structured_output``),
so every update reply has the shape of the update schema; TGD uses that mode for such engines
anyway. See :mod:`wordgrad.engine.guidance` for which engines qualify.
"""

from __future__ import annotations

from typing import Any

from wordgrad.engine.guidance import ALTERNATIVES
from wordgrad.errors import ConfigurationError
from wordgrad.llm import Engine
from wordgrad.optimizer.tgd import TextualGradientDescent


class GuidedTextualGradientDescent(TextualGradientDescent):
    """:class:`~wordgrad.optimizer.TextualGradientDescent` with schema-constrained replies only.

    Takes TGD's arguments.

    Raises:
        ConfigurationError: the optimizer's engine cannot constrain its output to a schema.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._engine is not None:
            self._require_structured(self._engine)

    @staticmethod
    def _require_structured(engine: Engine) -> None:
        if not engine.capabilities.structured_output:
            raise ConfigurationError(
                f"GuidedTextualGradientDescent needs an engine that constrains its replies to a "
                f"JSON schema, and {engine.name} does not (capabilities.structured_output is "
                f"False); {ALTERNATIVES}"
            )

    def step(self) -> None:
        self._require_structured(self.engine)
        super().step()


__all__ = ["GuidedTextualGradientDescent"]
