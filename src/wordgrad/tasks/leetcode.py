"""LeetCode-Hard as TextGrad used it: 39 hard problems with their statements' example tests.

Items are ``(task_id, prompt, tests)``: the LeetCode slug, the function signature with the problem
statement as its docstring, and the visible examples as ``assert`` lines. LeetCode's hidden tests
need LeetCode's servers, which the paper's completion rate was measured on; offline, the only
metric is "passes the visible examples", a weaker proxy (:func:`leetcode_problems` has no hidden
tests). Solutions run in :mod:`wordgrad.sandbox`.
"""

from __future__ import annotations

import os
import re

from wordgrad.sandbox import SandboxResult, cases_from_asserts
from wordgrad.tasks.code import DEFAULT_TIMEOUT_S, CodeProblem, run_tests
from wordgrad.tasks.data import Source, fetch, field, read_jsonl
from wordgrad.tasks.dataset import Dataset

_COMMIT = "835ce8d8fa42d7b51c963e2430777f6acbe96c00"
SOURCE = Source(
    "leetcode_hard/leetcode_with_tests.jsonl",
    f"https://raw.githubusercontent.com/vinid/data/{_COMMIT}/leetcode_with_tests.jsonl",
)

# The signatures use typing names (List, Optional) without importing them, and solutions
# commonly rely on the standard modules LeetCode's own judge pre-imports.
PRELUDE = """\
from typing import *
import bisect, collections, functools, heapq, itertools, math, re, string
from collections import Counter, defaultdict, deque
from functools import cache, lru_cache"""


class LeetCodeHardEval(Dataset[tuple[str, str, str]]):
    """The 39 problems as ``(task_id, prompt, tests)``.

    Args:
        data_dir: a data folder to read first (else ``$WORDGRAD_DATA``, then the download cache).
    """

    def __init__(self, *, data_dir: str | os.PathLike[str] | None = None) -> None:
        path = fetch(SOURCE, data_dir)
        super().__init__(
            [
                (
                    str(field(r, "task_id", path)),
                    str(field(r, "prompt", path)),
                    str(r.get("test", "")),
                )
                for r in read_jsonl(path)
            ]
        )


def run_leetcode_tests(
    code: object, tests: str, timeout: float = DEFAULT_TIMEOUT_S
) -> SandboxResult:
    """Run a solution (string or Variable) against a problem's ``assert`` lines in the sandbox."""
    return run_tests(code, tests, timeout, prelude=PRELUDE)


def leetcode_problems(
    *, data_dir: str | os.PathLike[str] | None = None, size: int | None = None
) -> list[CodeProblem]:
    """The problems with the statement's examples as visible tests (no hidden tests offline)."""
    problems = []
    for task_id, prompt, tests in LeetCodeHardEval(data_dir=data_dir)[:size]:
        name = re.search(r"def\s+(\w+)\s*\(", prompt)
        problems.append(
            CodeProblem(
                task_id=task_id,
                prompt=prompt,
                entry_point=name.group(1) if name else "",
                visible=tuple(cases_from_asserts(tests)),
                prelude=PRELUDE,
            )
        )
    return problems
