"""A scripted chemist for the molecule-loop tests; as a CLI plugin it registers
``scripted-chemist`` (``--plugin tests.train.chemist_plugin``).

The optimizer walks a fixed path of molecules (one step per update, one invalid SMILES on the
way); the critic and feedback writer quote what the measurement said. Replies depend only on
each request.
"""

from __future__ import annotations

import re

from wordgrad.engine import ScriptedEngine, register_engine
from wordgrad.llm import Request

ENGINE_NAME = "scripted-chemist"
PATH = [
    "c1ccccc1",
    "c1ccc(cc1)N1CCNCC1",
    "COc1ccccc1N1CCNCC1(",  # invalid: an unclosed branch
    "COc1ccccc1N1CCNCC1",
    "COc1ccccc1N1CCN(Cc2ccccc2)CC1",
]


def chemist(request: Request) -> str:

    if request.purpose == "optimizer":
        current = request.prompt.split("<VARIABLE>", 1)[1].split("</VARIABLE>", 1)[0].strip()
        step = PATH.index(current) + 1 if current in PATH else 1
        return f"<IMPROVED_VARIABLE>{PATH[min(step, len(PATH) - 1)]}</IMPROVED_VARIABLE>"
    qed = re.search(r"QED drug-likeness: ([0-9.]+)", request.prompt)
    if "RDKit cannot read" in request.prompt:
        return "The SMILES is invalid: close the branch."
    return f"QED is {qed.group(1) if qed else 'unknown'}; add a basic amine and an aryl group."


def build(**kwargs: object) -> ScriptedEngine:
    return ScriptedEngine(chemist, model_string=ENGINE_NAME)


register_engine(ENGINE_NAME, build)
