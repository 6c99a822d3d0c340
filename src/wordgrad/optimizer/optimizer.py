"""Upstream's ``textgrad.optimizer.optimizer``: the optimizers and the feedback text helper."""

from wordgrad.optimizer.base import Optimizer
from wordgrad.optimizer.tgd import (
    TextualGradientDescent,
    TextualGradientDescentwithMomentum,
)
from wordgrad.optimizer.tgd import feedback_text as get_gradient_and_context_text

__all__ = [
    "Optimizer",
    "TextualGradientDescent",
    "TextualGradientDescentwithMomentum",
    "get_gradient_and_context_text",
]
