"""Scripted replies shared by the core tests: they answer by what a request is for."""

from __future__ import annotations

from wordgrad.llm import Request
from wordgrad.variable import GradientContext, Variable

TAGGED_UPDATE = "<IMPROVED_VARIABLE>{}</IMPROVED_VARIABLE>"


def kind_of(request: Request) -> str:
    """'gradient', 'update', 'merge', 'evaluation' or 'forward', from what the request is for."""
    if request.purpose == "backward":
        return "merge" if request.role.startswith("merged feedback") else "gradient"
    if request.purpose == "optimizer":
        return "update"
    if request.purpose == "evaluation":
        return "evaluation"
    return "forward"


def give_feedback(
    variable: Variable, text: str, context: GradientContext | None = None
) -> Variable:
    """Add one piece of feedback to ``variable`` the way an upstream-style operation does."""
    gradient = Variable(
        text, requires_grad=False, role_description=f"feedback to {variable.role_description}"
    )
    variable.gradients.add(gradient)
    if context is not None:
        variable.gradients_context[gradient] = context
    return gradient


def role_in_gradient_request(request: Request) -> str:
    """The role of the variable a gradient request asks about (from the request's own role,
    ``feedback on the <role>``, not from its wording)."""
    return request.role.removeprefix("feedback on the ")
