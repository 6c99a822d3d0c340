"""``Optimizer``: the base of text optimizers, in the spirit of ``torch.optim.Optimizer``.

Parameters live in ``param_groups`` (each a dict with ``"params"`` and the group's options),
per-parameter state in ``state``. ``state_dict()`` returns plain JSON-able data that
``load_state_dict`` restores, so checkpoints fall out of it. As in torch, parameter values are
not part of the optimizer's state: save them with the model.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterable, Mapping
from typing import Any

from wordgrad.errors import InvalidInputError
from wordgrad.variable import Variable

ParamGroup = dict[str, Any]


class Optimizer:
    """Base class: holds parameter groups and state; subclasses implement :meth:`step`.

    Args:
        parameters: variables, or dicts ``{"params": [...], <option>: value}`` giving
            per-group options that override ``defaults``.
        defaults: the options every group starts from.
    """

    def __init__(
        self,
        parameters: Iterable[Variable] | Iterable[Mapping[str, Any]],
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.defaults: dict[str, Any] = dict(defaults or {})
        self.param_groups: list[ParamGroup] = []
        self.state: dict[Variable, dict[str, Any]] = {}
        if callable(parameters) and not isinstance(parameters, Variable):
            raise InvalidInputError(
                "parameters is a method, not a list: call it, e.g. "
                "TGD(parameters=model.parameters())"
            )
        if isinstance(parameters, (str, bytes)):
            raise InvalidInputError(
                "parameters must be Variables, not a string; wrap the text with "
                "tg.Variable(text, requires_grad=True, role_description=...)"
            )
        items = list(parameters) if not isinstance(parameters, Variable) else [parameters]
        if not items:
            raise InvalidInputError(
                "the optimizer got an empty parameter list; pass the variables to optimize, "
                "e.g. TGD(parameters=model.parameters())"
            )
        if all(isinstance(item, Mapping) for item in items):
            for group in items:
                self.add_param_group(group)  # type: ignore[arg-type]
        else:
            self.add_param_group({"params": items})

    def add_param_group(self, group: Mapping[str, Any]) -> None:
        """Add a group of parameters with its own options."""
        params = group.get("params")
        if isinstance(params, Variable):
            params = [params]
        if not isinstance(params, (list, tuple)):
            raise InvalidInputError("a parameter group needs 'params': a list of Variables")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for parameter in params:
            if not isinstance(parameter, Variable):
                raise InvalidInputError(
                    f"parameters must be Variables, got {type(parameter).__name__}"
                )
            if not isinstance(parameter.value, str):
                raise InvalidInputError(
                    f"{parameter.role_description!r} holds {type(parameter.value).__name__}; "
                    "only text variables can be optimized"
                )
            if id(parameter) in seen:
                raise InvalidInputError(
                    f"{parameter.role_description!r} appears in more than one parameter group"
                )
            seen.add(id(parameter))
        self.param_groups.append({**self.defaults, **group, "params": list(params)})

    @property
    def parameters(self) -> list[Variable]:
        """All parameters, in group order (upstream's attribute)."""
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self) -> None:
        """Forget the feedback on every parameter; call it before each backward pass."""
        for parameter in self.parameters:
            parameter.reset_gradients()

    def step(self) -> None:
        """Update every parameter from its feedback."""
        raise NotImplementedError

    async def astep(self) -> None:
        """Async form of :meth:`step` for async applications."""
        await asyncio.to_thread(self.step)

    def state_dict(self) -> dict[str, Any]:
        """Options and per-parameter state, with parameters referred to by position."""
        index = {id(p): i for i, p in enumerate(self.parameters)}
        groups = [
            {
                **{k: v for k, v in g.items() if k != "params"},
                "params": [index[id(p)] for p in g["params"]],
            }
            for g in self.param_groups
        ]
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (for the same parameters, in the same order)."""
        groups = state_dict.get("param_groups")
        if not isinstance(groups, list) or len(groups) != len(self.param_groups):
            raise InvalidInputError(
                f"the state has {len(groups) if isinstance(groups, list) else 'no'} parameter "
                f"groups but this optimizer has {len(self.param_groups)}"
            )
        for saved, group in zip(groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise InvalidInputError(
                    f"a saved parameter group has {len(saved['params'])} parameters, "
                    f"this one {len(group['params'])}"
                )
        parameters = self.parameters
        for saved, group in zip(groups, self.param_groups):
            group.update(copy.deepcopy(_options(saved)))
        self.state = {
            parameters[int(i)]: copy.deepcopy(s) for i, s in state_dict.get("state", {}).items()
        }


def _options(group: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in group.items() if key != "params"}
