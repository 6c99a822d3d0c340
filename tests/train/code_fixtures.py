"""A tiny coding problem with a planted bug, and scripted engines for the code-loop tests.

The zero-shot solution subtracts instead of adding. The critic names the bug only when the test
report shows the wrong value (``expected 5, got -1``) and ``critic_sees_bug`` is on; the feedback
writer passes the critique on; the optimizer fixes the code only when the feedback asks for it.
So the fix can come only from the critique pointing at the bug.
"""

from __future__ import annotations

import re

from wordgrad.engine.scripted import ScriptedEngine
from wordgrad.llm import Request
from wordgrad.sandbox import TestCase, cases_from_docstring
from wordgrad.tasks.code import CodeProblem

PROMPT = '''def add(a, b):
    """Return the sum of a and b ({name}).
    >>> add(2, 3)
    5
    """
'''
HIDDEN_SETUP = """
def check(candidate):
    assert candidate(2, 3) == 5
    assert candidate(-4, 4) == 0
    assert candidate(10, 5) == 15
"""
BUGGY = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
BUG_NAMED = "The minus sign is the bug: the task asks for a + b."
FIX_ASKED = "Replace the subtraction with an addition."


def add_problem(task_id: str = "add") -> CodeProblem:
    prompt = PROMPT.format(name=task_id)
    return CodeProblem(
        task_id=task_id,
        prompt=prompt,
        entry_point="add",
        visible=tuple(cases_from_docstring(prompt, "add")),
        hidden=(TestCase.run("check(add)"),),
        hidden_setup=HIDDEN_SETUP,
    )


def kind(request: Request) -> str:

    if request.purpose == "optimizer":
        return "update"
    if request.purpose == "backward":
        return "gradient"
    if request.purpose == "evaluation":
        return "critic"
    if "explain why your implementation fails" in request.prompt:
        return "reflection"
    if "Write an improved implementation" in request.prompt:
        return "reflexion_rewrite"
    if "Implement the Python function below" in request.prompt:
        return "zero_shot"
    return "other"


def code_script(critic_sees_bug: bool = True):  # type: ignore[no-untyped-def]
    def script(request: Request) -> str:
        what = kind(request)
        if what == "zero_shot":
            return f"Here is my solution:\n```python\n{BUGGY}```\n"
        if what == "critic":
            shows_bug = re.search(r"expected 5, got -1", request.prompt) is not None
            return BUG_NAMED if critic_sees_bug and shows_bug else "The code looks fine."
        if what == "gradient":
            return FIX_ASKED if BUG_NAMED in request.prompt else "No change needed."
        if what == "update":
            current = request.prompt.split("<VARIABLE>", 1)[1].split("</VARIABLE>", 1)[0]
            new = current.replace("a - b", "a + b") if FIX_ASKED in request.prompt else current
            return f"<IMPROVED_VARIABLE>{new.strip()}\n</IMPROVED_VARIABLE>"
        if what == "reflection":
            return "I returned a - b; I should return the sum."
        if what == "reflexion_rewrite":
            # the scripted programmer keeps its bug, so Reflexion fails here
            return f"```python\n{BUGGY}```"
        return "?"

    return script


def engine(critic_sees_bug: bool = True) -> ScriptedEngine:
    return ScriptedEngine(code_script(critic_sees_bug), model_string="scripted-code")
