"""The values a run optimized, in a small file that loads back in one call.

A completed run writes ``<run_dir>/result.json``::

    {"format": 1, "kind": "prompt", "model": "gpt-4o-mini",
     "variables": {"system_prompt": {"value": "...", "role": "..."}}}

and :func:`load_result` reads it back (given the run directory or the file)::

    result = wordgrad.train.load_result("runs/my-task")
    result.values["system_prompt"]           # the text
    result.variables["system_prompt"]        # a Variable, trainable, with its role
    answer = result.model(engine)(question)  # prompt runs: a BlackboxLLM with that system prompt

Like DSPy's ``save`` / ``load``: only the learned values are kept, not the code around them.
:func:`save_result` writes such a file for any variables of one's own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wordgrad.engine.base import EngineLM
from wordgrad.errors import DataError
from wordgrad.model import BlackboxLLM
from wordgrad.train.runs import write_json_atomic
from wordgrad.variable import Variable

RESULT_FILE = "result.json"
FORMAT = 1
SYSTEM_PROMPT = "system_prompt"
"""The name a prompt run gives its optimized system prompt."""


@dataclass(frozen=True)
class Result:
    """What :func:`load_result` returns: the kind of run, its model, its optimized values."""

    kind: str
    values: dict[str, str]
    roles: dict[str, str] = field(default_factory=dict)
    model_name: str | None = None
    path: Path | None = None

    @property
    def variables(self) -> dict[str, Variable]:
        """Each value as a trainable :class:`Variable` with its role (fresh on each access)."""
        return {
            name: Variable(value, requires_grad=True, role_description=self.roles.get(name, name))
            for name, value in self.values.items()
        }

    def model(self, engine: EngineLM | str | None = None) -> BlackboxLLM:
        """A :class:`BlackboxLLM` with the optimized system prompt (prompt runs).

        ``engine`` defaults to the run's model.

        Raises:
            DataError: when the result holds no system prompt.
        """
        if SYSTEM_PROMPT not in self.values:
            raise DataError(
                f"{self.path or 'this result'} holds no {SYSTEM_PROMPT!r} (it holds "
                f"{sorted(self.values)}); use result.variables instead"
            )
        prompt = self.variables[SYSTEM_PROMPT]
        return BlackboxLLM(engine if engine is not None else self.model_name, prompt)


def save_result(
    path: str | os.PathLike[str],
    *,
    kind: str,
    variables: Mapping[str, Mapping[str, str] | Variable | str],
    config: Any = None,
) -> Path:
    """Write ``result.json`` into the directory ``path`` (or to ``path`` if it ends in .json).

    ``variables`` maps names to a Variable, a plain text, or ``{"value", "role"}``.
    Returns the file's path.
    """
    target = Path(path)
    if target.suffix != ".json":
        target = target / RESULT_FILE
    saved: dict[str, dict[str, str]] = {}
    for name, item in variables.items():
        if isinstance(item, Variable):
            saved[name] = {"value": item.text, "role": item.role_description}
        elif isinstance(item, str):
            saved[name] = {"value": item, "role": name}
        else:
            saved[name] = {"value": str(item["value"]), "role": str(item.get("role", name))}
    model = getattr(config, "model", None)
    write_json_atomic(target, {"format": FORMAT, "kind": kind, "model": model, "variables": saved})
    return target


def load_result(path: str | os.PathLike[str]) -> Result:
    """The :class:`Result` in a run directory (its ``result.json``) or in a result file.

    Raises:
        DataError: no such file (the run may not have finished), or not a result file.
    """
    target = Path(path)
    if target.is_dir():
        target = target / RESULT_FILE
    if not target.exists():
        raise DataError(
            f"no result at {target}: the run has not completed (run the same command again to "
            "finish it), or the path is not a run directory"
        )
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
        variables = data["variables"]
        return Result(
            kind=str(data.get("kind", "")),
            values={name: str(v["value"]) for name, v in variables.items()},
            roles={name: str(v.get("role", name)) for name, v in variables.items()},
            model_name=data.get("model"),
            path=target,
        )
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise DataError(f"{target} is not a wordgrad result file ({error})") from None
