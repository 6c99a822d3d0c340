"""Combining variables: ``tg.sum`` and ``tg.aggregate``."""

from __future__ import annotations

from collections.abc import Sequence

from wordgrad.autograd.function import Function
from wordgrad.variable import Variable, combine, combined_role, new_reduce_group


def sum(variables: Sequence[Variable]) -> Variable:
    """Join the values with newlines; feedback on the result reaches each input exactly once.

    The usual use is a minibatch: ``tg.sum(losses).backward()`` sends each loss its own
    backward pass, and the shared prompt collects one piece of feedback per example.
    """
    return combine(variables, separator="\n", role_description=combined_role(variables), name="Sum")


def aggregate(variables: Sequence[Variable]) -> Variable:
    """Like :func:`sum`, but feedback that flows back through the result is merged.

    Every input receives the feedback; a variable upstream that collects several pieces of it
    (e.g. one prompt used for every example) gets them merged into one text by the backward
    engine before it passes feedback further or is updated.
    """
    return combine(
        variables,
        separator="\n",
        role_description=combined_role(variables),
        name="Aggregate",
        reduce_group=new_reduce_group(),
    )


class Sum(Function):
    """``Sum()(variables)`` is :func:`sum` (upstream's class form)."""

    def forward(self, variables: Sequence[Variable]) -> Variable:
        return sum(variables)


class Aggregate(Function):
    """``Aggregate()(variables)`` is :func:`aggregate` (upstream's class form)."""

    def forward(self, variables: Sequence[Variable]) -> Variable:
        return aggregate(variables)
