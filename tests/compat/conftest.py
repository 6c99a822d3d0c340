"""The scripted engine stands in for the provider names that tutorials use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import wordgrad as tg
from wordgrad.engine import register_engine, unregister_engine
from wordgrad.llm import Request

from ..conftest import SHARED_DATA

TUTORIAL_MODELS = ("gpt-4o", "gpt-3.5-turbo-0125")


def tutorial_script(request: Request) -> str:
    """A plausible model: answers count questions, critiques, feedback and updates."""
    prompt = request.prompt
    if request.purpose == "optimizer":
        return (
            "<IMPROVED_VARIABLE>You are a careful counter. List every item, add them up, and "
            "end with the line 'Answer: $VALUE'.</IMPROVED_VARIABLE>"
        )
    if request.purpose == "backward":
        return "List the items before counting and finish with the numeric answer."
    if request.purpose == "evaluation":
        return "<ACCURACY>0</ACCURACY> The final count is not stated clearly."
    if "How many" in prompt:
        return "Let me count. Answer: 8"
    return "x = 3"


class TutorialEngines:
    """The engines the tutorials created through get_engine, by name."""

    def __init__(self) -> None:
        self.created: dict[str, tg.ScriptedEngine] = {}

    def factory(self, name: str):  # type: ignore[no-untyped-def]
        def build(**kwargs: object) -> tg.ScriptedEngine:
            engine = tg.ScriptedEngine(tutorial_script, model_string=name)
            self.created[name] = engine
            return engine

        return build


@pytest.fixture()
def tutorial_engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[TutorialEngines]:
    engines = TutorialEngines()
    for name in TUTORIAL_MODELS:
        register_engine(name, engines.factory(name))
    monkeypatch.setenv("WORDGRAD_DATA", str(SHARED_DATA))
    try:
        yield engines
    finally:
        for name in TUTORIAL_MODELS:
            unregister_engine(name)
