"""How an operation asks for feedback on its inputs, shared by every operation that has one.

Given the call an operation made (rendered as a conversation) and the feedback its output got,
build one request per trainable input asking how that input should change.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from wordgrad import prompts
from wordgrad.graph import GradientJob
from wordgrad.llm import ContentPart, ImagePart, Message, Request
from wordgrad.variable import GradientContext, Variable, deliver_gradient

SHARED_BLOCK_END = "</SYSTEM_PROMPT>"
"""A feedback request shares everything up to the end of the call's system prompt with the
other feedback requests about calls with that system prompt (a minibatch)."""
LONG_VALUE_CHARS = 400
"""A trainable input longer than this that appears verbatim in the conversation is not repeated."""


def feedback_jobs(
    output: Variable,
    conversation: str,
    inputs: Sequence[Variable],
    *,
    examples: Sequence[str] = (),
    images: Sequence[ImagePart] = (),
) -> list[GradientJob]:
    """One feedback request per distinct trainable input of the call that produced ``output``.

    Without feedback on the output, the output is taken to be an end result (e.g. a loss) and
    the request asks how to improve what it measures; otherwise it passes the criticism back.
    ``images`` (those the call was shown) are attached to each request, before its text.
    """
    criticism = output.get_gradient_text().strip()
    group = output._feedback_group()
    if criticism:
        objective = prompts.render(
            "gradient.output_criticized", output_role=output.role_description, criticism=criticism
        )
    else:
        objective = prompts.render(
            "gradient.objective_is_output", output_role=output.role_description
        )
    end = conversation.find(SHARED_BLOCK_END) if conversation.startswith("<SYSTEM_PROMPT>") else -1
    shared = end + len(SHARED_BLOCK_END) if end >= 0 else 0
    jobs = []
    for variable in dict.fromkeys(inputs):
        if not variable.requires_grad:
            continue
        user = prompts.render(
            "gradient.request",
            conversation=conversation,
            objective=objective,
            variable=_variable_section(variable, conversation),
            examples=(
                prompts.render("gradient.examples", examples="\n".join(examples))
                if examples
                else ""
            ),
        )
        content: str | tuple[ContentPart, ...] = (*images, user) if images else user
        label = prompts.render("role.feedback", role=variable.role_description)
        request = Request(
            (Message("system", prompts.render("gradient.system")), Message("user", content))
        ).about("backward", label)
        if shared and not images:  # the step's system prompt is what sibling requests share
            request = request.sharing(1, shared)
        context = GradientContext(
            context=conversation,
            response_desc=output.role_description,
            variable_desc=variable.role_description,
        )
        jobs.append(
            GradientJob(
                target=variable,
                deliver=functools.partial(deliver_gradient, variable, context, group),
                request=request,
            )
        )
    return jobs


def _variable_section(variable: Variable, conversation: str) -> str:
    """The end of a feedback request: which text the variable is, said once.

    A variable that fills a block of the call (a system prompt, an input, an output) is named by
    that block; a long one that appears inside a block is named by how it begins and ends;
    otherwise it is shown in full.
    """
    role, text = variable.role_description, variable.text
    tag = prompts.block_holding(conversation, text)
    if tag is not None:
        return prompts.render("gradient.variable_shown_above", role=role, tag=tag)
    if len(text) > LONG_VALUE_CHARS and text in conversation:
        text = prompts.render("gradient.value_shown_above", short_value=variable.get_short_value())
    return prompts.render("gradient.variable", role=role, value=text)
