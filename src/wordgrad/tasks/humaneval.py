"""HumanEval: 164 Python functions to complete, each with a hidden ``check`` function.

The paper's code setting, offline: the examples in each docstring are the *visible* tests an
optimizer may run (147 of the 164 docstrings have examples it can read); the official ``check``
tests are *hidden*, used only for scoring. :func:`humaneval_problems` gives both as
:class:`~wordgrad.tasks.code.CodeProblem` objects. Dataset items are ``(task_id, prompt,
tests)`` like LeetCode's, where ``tests`` defines ``check`` and then calls it on the entry
point, so ``run_tests(prompt + completion, tests)`` scores a completion in the sandbox.
"""

from __future__ import annotations

import os

from wordgrad.sandbox import TestCase, cases_from_docstring
from wordgrad.tasks.code import CodeProblem
from wordgrad.tasks.data import Source, fetch, field, read_jsonl
from wordgrad.tasks.dataset import Dataset

_COMMIT = "6d43fb980f9fee3c892a914eda09951f772ad10d"
SOURCE = Source(
    "humaneval/HumanEval.jsonl.gz",
    f"https://raw.githubusercontent.com/openai/human-eval/{_COMMIT}/data/HumanEval.jsonl.gz",
)


class HumanEval(Dataset[tuple[str, str, str]]):
    """The 164 problems as ``(task_id, prompt, tests)``.

    Args:
        data_dir: a data folder to read first (else ``$WORDGRAD_DATA``, then the download cache).
    """

    def __init__(self, *, data_dir: str | os.PathLike[str] | None = None) -> None:
        path = fetch(SOURCE, data_dir)
        items = []
        for record in read_jsonl(path):
            entry_point = field(record, "entry_point", path)
            tests = f"{field(record, 'test', path)}\n\ncheck({entry_point})\n"
            items.append(
                (str(field(record, "task_id", path)), str(field(record, "prompt", path)), tests)
            )
        super().__init__(items)


def prompt_imports(prompt: str) -> str:
    """The top-level import lines of a prompt (e.g. ``from typing import List``).

    The official harness runs prompt + completion, so these names are always defined; they are
    the prelude of the sandboxed run, so a rewritten function that drops them still works.
    """
    return "\n".join(line for line in prompt.splitlines() if line.startswith(("import ", "from ")))


def humaneval_problems(
    *, data_dir: str | os.PathLike[str] | None = None, size: int | None = None
) -> list[CodeProblem]:
    """The problems with docstring examples as visible tests and ``check`` as the hidden one.

    ``reference`` is the prompt plus the canonical solution; ``prelude`` the prompt's imports.
    ``size``: only the first N.
    """
    path = fetch(SOURCE, data_dir)
    problems = []
    for record in read_jsonl(path)[:size]:
        prompt = str(field(record, "prompt", path))
        entry_point = str(field(record, "entry_point", path))
        problems.append(
            CodeProblem(
                task_id=str(field(record, "task_id", path)),
                prompt=prompt,
                entry_point=entry_point,
                visible=tuple(cases_from_docstring(prompt, entry_point)),
                hidden=(TestCase.run(f"check({entry_point})"),),
                hidden_setup=str(field(record, "test", path)),
                prelude=prompt_imports(prompt),
                reference=prompt + str(record.get("canonical_solution", "")),
            )
        )
    return problems
