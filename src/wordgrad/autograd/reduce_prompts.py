"""Upstream's ``textgrad.autograd.reduce_prompts``: the merge prompt of ``tg.aggregate``."""

from __future__ import annotations

from collections.abc import Sequence

from wordgrad import prompts
from wordgrad.prompts.upstream import REDUCE_MEAN_SYSTEM_PROMPT
from wordgrad.variable import Variable


def construct_reduce_prompt(gradients: Sequence[Variable]) -> str:
    """The feedback items to merge, each in ``<FEEDBACK>`` tags, one after another."""
    return "\n".join(prompts.render("reduce.item", text=g.text) for g in gradients)


__all__ = ["REDUCE_MEAN_SYSTEM_PROMPT", "construct_reduce_prompt"]
