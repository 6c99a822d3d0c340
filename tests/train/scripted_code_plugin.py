"""A plugin for ``wordgrad optimize code``: registers ``scripted-code``, a scripted programmer.

On real HumanEval problems: the zero-shot solution is the prompt with a planted bug (the body
returns ``None``). The critic names the bug when the test report shows ``got None``; the feedback
writer asks for the body; the optimizer then writes the canonical solution of the function named
in the code. The Reflexion baseline's rewrites keep the bug. Replies depend only on the request.
With ``WORDGRAD_TEST_HANG_AT=N`` and ``WORDGRAD_TEST_MARKER=path`` the N-th optimizer request
creates ``path`` and never returns (for the kill -9 test).
"""

from __future__ import annotations

import itertools
import os
import re
import time
from functools import cache
from pathlib import Path

from wordgrad.engine import ScriptedEngine, register_engine
from wordgrad.llm import Request
from wordgrad.tasks.humaneval import humaneval_problems

ENGINE_NAME = "scripted-code"
SHARED_DATA = (Path(__file__).resolve().parents[2] / "../shared/data").resolve()
_updates = itertools.count(1)


@cache
def references() -> dict[str, tuple[str, str]]:
    """``{entry_point: (prompt, canonical code)}``."""
    return {
        p.entry_point: (p.prompt, p.reference or "")
        for p in humaneval_problems(data_dir=SHARED_DATA)
    }


def _entry_point(text: str) -> str | None:
    names = re.findall(r"def (\w+)\(", text)
    known = references()
    return next((name for name in reversed(names) if name in known), None)


def script(request: Request) -> str:
    prompt = request.prompt
    if request.purpose == "optimizer":
        _maybe_hang()
        current = prompt.split("<VARIABLE>", 1)[1].split("</VARIABLE>", 1)[0]
        name = _entry_point(current)
        fixed = references()[name][1] if name and "Write its body" in prompt else current
        return f"<IMPROVED_VARIABLE>{fixed}</IMPROVED_VARIABLE>"
    if request.purpose == "backward":
        return "Write its body as the docstring says." if "returns None" in prompt else "Fine."
    if request.purpose == "evaluation":
        return "The function returns None for every input." if "got None" in prompt else "Good."
    name = _entry_point(prompt)
    if name is None:
        return "?"
    if "explain why your implementation fails" in prompt:
        return "My function returns None."
    # the zero-shot answer, and Reflexion's rewrites: the planted bug
    return f"```python\n{references()[name][0]}    return None\n```"


def _maybe_hang() -> None:
    hang_at = os.environ.get("WORDGRAD_TEST_HANG_AT")
    if hang_at is not None and next(_updates) == int(hang_at):
        Path(os.environ["WORDGRAD_TEST_MARKER"]).touch()
        while True:
            time.sleep(1)


register_engine(ENGINE_NAME, lambda **_: ScriptedEngine(script, model_string=ENGINE_NAME))
