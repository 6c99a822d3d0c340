"""What measuring an output gave: :class:`Score` and :func:`as_score`.

Metrics (:mod:`wordgrad.tasks.objectives`) and measures (:mod:`wordgrad.train.objective`) return a
:class:`Score`, a number or bool, or ``(number, feedback)``; :func:`as_score` turns each into a
:class:`Score`. ``feedback`` is the text that reaches the backward pass (GEPA's "side
information"); ``details`` are kept in the run log only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wordgrad.errors import InvalidInputError

__all__ = ["Score", "as_score"]


@dataclass(frozen=True)
class Score:
    """What measuring a value gave.

    Attributes:
        value: the number to maximize (higher is better; negate a loss such as a docking
            energy). Must be finite.
        feedback: text for the critic and the backward pass (errors, failing cases, warnings);
            "" when the number says it all.
        details: JSON-able measurements kept in the run log (e.g. ``{"qed": 0.61}``).
    """

    value: float
    feedback: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            raise InvalidInputError(
                f"Score.value must be a number, got {type(self.value).__name__} {self.value!r}"
            )
        if not math.isfinite(self.value):
            raise InvalidInputError(
                f"Score.value must be finite, got {self.value!r}; give a failed measurement a "
                "low finite score and say why in feedback"
            )
        if not isinstance(self.feedback, str):
            raise InvalidInputError(
                f"Score.feedback must be a str, got {type(self.feedback).__name__}"
            )
        object.__setattr__(self, "value", float(self.value))
        try:
            details = json.loads(json.dumps(dict(self.details)))
        except (TypeError, ValueError) as error:
            raise InvalidInputError(
                f"Score.details must be JSON-able (numbers, strings, lists, dicts): {error}"
            ) from None
        object.__setattr__(self, "details", details)

    def as_dict(self) -> dict[str, Any]:
        """``{"value", "feedback", "details"}`` (JSON-able)."""
        return {"value": self.value, "feedback": self.feedback, "details": dict(self.details)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Score:
        """The inverse of :meth:`as_dict`."""
        return cls(
            float(data["value"]), str(data.get("feedback", "")), dict(data.get("details", {}))
        )


def as_score(result: object) -> Score:
    """A :class:`Score` from what a measure or metric returned.

    Accepts a :class:`Score`; a number or bool (``True`` is 1.0); a ``(number, feedback)`` or
    ``(number, feedback, details)`` tuple.

    Raises:
        InvalidInputError: for anything else, naming what was returned.
    """
    if isinstance(result, Score):
        return result
    if isinstance(result, bool):
        return Score(float(result))
    if isinstance(result, (int, float)):
        return Score(float(result))
    if isinstance(result, tuple) and len(result) in (2, 3):
        number, feedback, *rest = result
        if isinstance(number, (int, float)) and isinstance(feedback, str):
            details = rest[0] if rest else {}
            if isinstance(details, Mapping):
                return Score(float(number), feedback, details)
    shown = repr(result)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    raise InvalidInputError(
        f"a measure or metric returned {type(result).__name__} {shown}; return a Score, a "
        "number or bool (higher is better), or a (number, feedback_text) tuple"
    )
