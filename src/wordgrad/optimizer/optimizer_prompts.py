"""Upstream's ``textgrad.optimizer.optimizer_prompts``: the constant names and
``construct_tgd_prompt``, our wording (see :mod:`wordgrad.prompts.upstream`).

TGD itself builds its requests from :mod:`wordgrad.prompts`; these are for code that assembles
its own update prompts from upstream's pieces.
"""

from __future__ import annotations

from typing import Any

from wordgrad.prompts.upstream import (
    CONSTRAINT_PROMPT_ADDITION,
    GLOSSARY_TEXT,
    GRADIENT_MULTIPART_TEMPLATE,
    GRADIENT_TEMPLATE,
    IN_CONTEXT_EXAMPLE_PROMPT_ADDITION,
    MOMENTUM_PROMPT_ADDITION,
    OPTIMIZER_SYSTEM_PROMPT,
    TGD_MULTIPART_PROMPT_INIT,
    TGD_MULTIPART_PROMPT_PREFIX,
    TGD_PROMPT_PREFIX,
    TGD_PROMPT_SUFFIX,
)


def construct_tgd_prompt(
    do_momentum: bool = False,
    do_constrained: bool = False,
    do_in_context_examples: bool = False,
    **optimizer_kwargs: Any,
) -> str | list[Any]:
    """An update prompt from upstream's pieces, filled with ``optimizer_kwargs``.

    Keywords as upstream: ``variable_desc``, ``variable_short``, ``variable_grad`` (text, or a
    list of parts when the feedback holds images), ``past_values``, ``constraint_text``,
    ``in_context_examples``, ``new_variable_start_tag``, ``new_variable_end_tag``.

    Returns:
        The prompt text, or a list of parts (text and image bytes) for list feedback.
    """
    gradient = optimizer_kwargs["variable_grad"]
    if isinstance(gradient, str):
        prompt = TGD_PROMPT_PREFIX.format(**optimizer_kwargs)
        parts: list[Any] | None = None
    else:
        parts = [TGD_MULTIPART_PROMPT_INIT.format(**optimizer_kwargs), *gradient]
        prompt = TGD_MULTIPART_PROMPT_PREFIX.format(**optimizer_kwargs)
    if do_momentum:
        prompt += MOMENTUM_PROMPT_ADDITION.format(**optimizer_kwargs)
    if do_constrained:
        prompt += CONSTRAINT_PROMPT_ADDITION.format(**optimizer_kwargs)
    if do_in_context_examples:
        prompt += IN_CONTEXT_EXAMPLE_PROMPT_ADDITION.format(**optimizer_kwargs)
    prompt += TGD_PROMPT_SUFFIX.format(**optimizer_kwargs)
    return prompt if parts is None else [*parts, prompt]


__all__ = [
    "CONSTRAINT_PROMPT_ADDITION",
    "GLOSSARY_TEXT",
    "GRADIENT_MULTIPART_TEMPLATE",
    "GRADIENT_TEMPLATE",
    "IN_CONTEXT_EXAMPLE_PROMPT_ADDITION",
    "MOMENTUM_PROMPT_ADDITION",
    "OPTIMIZER_SYSTEM_PROMPT",
    "TGD_MULTIPART_PROMPT_INIT",
    "TGD_MULTIPART_PROMPT_PREFIX",
    "TGD_PROMPT_PREFIX",
    "TGD_PROMPT_SUFFIX",
    "construct_tgd_prompt",
]
