"""Optimizers: Textual Gradient Descent and its momentum variant."""

from wordgrad.errors import UpdateParseError
from wordgrad.optimizer.base import Optimizer
from wordgrad.optimizer.tgd import (
    TGD,
    TextualGradientDescent,
    TextualGradientDescentwithMomentum,
)

__all__ = [
    "TGD",
    "Optimizer",
    "TextualGradientDescent",
    "TextualGradientDescentwithMomentum",
    "UpdateParseError",
]
