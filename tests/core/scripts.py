"""Scripted replies shared by the core tests: they answer by what a request is for."""

from __future__ import annotations

from wordgrad.llm import Request

TAGGED_UPDATE = "<IMPROVED_VARIABLE>{}</IMPROVED_VARIABLE>"


def kind_of(request: Request) -> str:
    """'gradient', 'update', 'merge', 'evaluation' or 'forward', from the request's system prompt."""
    system = request.system_prompt or ""
    if system.startswith("You are the feedback writer"):
        return "gradient"
    if system.startswith("You revise the variables"):
        return "update"
    if system.startswith("You merge several pieces of feedback"):
        return "merge"
    if system.startswith("Evaluate") or system.startswith("You evaluate"):
        return "evaluation"
    return "forward"


def role_in_gradient_request(request: Request) -> str:
    """The <ROLE> of the variable a gradient request asks about."""
    prompt = request.prompt
    return prompt[prompt.rindex("<ROLE>") + 6 : prompt.rindex("</ROLE>")]
