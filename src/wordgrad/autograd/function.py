"""Base classes of operations and modules, and upstream's ``BackwardContext``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any

from wordgrad.variable import Variable


class Function(ABC):
    """An operation: ``forward`` makes an output variable from input variables.

    Calling the function calls ``forward``. Our operations build an LLM request in ``forward``
    and attach a :class:`~wordgrad.variable.Backward` to the output that turns its feedback
    into feedback requests for the inputs.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Variable:
        return self.forward(*args, **kwargs)

    @abstractmethod
    def forward(self, *args: Any, **kwargs: Any) -> Variable: ...


class Module(ABC):
    """A reusable piece of a program with trainable variables, in the spirit of ``torch.nn.Module``.

    Subclasses implement ``forward`` and list their trainable variables in ``parameters()``.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    @abstractmethod
    def forward(self, *args: Any, **kwargs: Any) -> Any: ...

    def parameters(self) -> list[Variable]:
        """The variables an optimizer may change (by default, none)."""
        return []

    def named_parameters(self) -> Iterator[tuple[str, Variable]]:
        """``(role description, variable)`` for each parameter."""
        for parameter in self.parameters():
            yield parameter.role_description, parameter

    def zero_grad(self) -> None:
        """Forget the feedback on every parameter."""
        for parameter in self.parameters():
            parameter.reset_gradients()


class BackwardContext:
    """Upstream-style backward function for users' own operations.

    ``BackwardContext(fn, *args, **kwargs)`` called with ``backward_engine=e`` runs
    ``fn(*args, **kwargs, backward_engine=e)``; ``fn`` adds feedback to the inputs itself
    (``variable.gradients.add(...)``). It runs synchronously during the backward pass.
    """

    def __init__(self, backward_fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.backward_fn = backward_fn
        self.args = args
        self.kwargs = kwargs
        self.fn_name = f"{backward_fn.__module__}.{backward_fn.__qualname__}"

    def __call__(self, backward_engine: Any) -> Any:
        return self.backward_fn(*self.args, **self.kwargs, backward_engine=backward_engine)

    def __repr__(self) -> str:
        return self.fn_name
