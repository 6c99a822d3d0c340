"""A stand-in model for one's-own-data tests and the README: it adds two numbers.

The model ends its reply with ``Answer: N`` only when its system prompt asks for ``Answer:``;
the feedback writer asks for that line and the optimizer adds the request, so optimizing the
prompt takes the exact metric from 0 to 1. Replies depend only on each request. Importing this
module registers nothing (``sums_plugin`` does, for the command line).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from wordgrad.engine import ScriptedEngine
from wordgrad.llm import Request

RECORDS = [
    {"question": f"What is {a} + {b}?", "answer": str(a + b), "level": level}
    for a, b, level in [(12, 30, "easy"), (7, 8, "easy"), (100, 23, "hard"), (5, 5, "easy")]
]
IMPROVED = "Add the two numbers. End with a last line 'Answer: N'."


def _maybe_hang(kind: str) -> None:
    """With WORDGRAD_TEST_HANG_IN=kind and WORDGRAD_TEST_MARKER=path, a request of that kind
    ("answer", "feedback" or "update") creates the marker and never returns."""
    if os.environ.get("WORDGRAD_TEST_HANG_IN") == kind:
        Path(os.environ["WORDGRAD_TEST_MARKER"]).touch()
        while True:
            time.sleep(1)


def script(request: Request) -> str:
    """Routes on what each request is for (its purpose; the pre-flight call by its role)."""
    system = request.system_prompt or ""
    prompt = request.prompt
    if request.role == "pre-flight":
        return "ready"
    kind = {"optimizer": "update", "backward": "feedback"}.get(request.purpose, "answer")
    _maybe_hang(kind)
    if kind == "update":
        return f"<IMPROVED_VARIABLE>{IMPROVED}</IMPROVED_VARIABLE>"
    if kind == "feedback":
        return "Ask for the result on a last line 'Answer: N'."
    if system.startswith("You evaluate"):
        return "Right sum, but no Answer line. <SCORE>8</SCORE>"
    numbers = [int(n) for n in re.findall(r"\d+", prompt)[:2]]
    total = sum(numbers)
    return f"Answer: {total}" if "Answer:" in system else f"It is {total}, I think."


def engine(**_: object) -> ScriptedEngine:
    return ScriptedEngine(script, model_string="scripted-sums")
