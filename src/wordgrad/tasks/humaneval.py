"""HumanEval: 164 Python functions to complete, each with a hidden ``check`` function.

Not in the TextGrad paper; here for comparisons with peers (Reflexion and others). Items are
``(task_id, prompt, tests)`` like LeetCode's, where ``tests`` defines ``check`` and then calls it
on the problem's entry point, so ``run_tests(prompt + completion, tests)`` scores a completion
(or ``run_tests(full_code, tests)`` a whole rewritten function).
"""

from __future__ import annotations

import os

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
