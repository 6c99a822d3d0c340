"""A plugin for the command line: registers ``scripted-planner``, the example's scripted planner
(``examples/radiotherapy/plan_weights.py``) as an engine. Load with
``--plugin tests.science.planner_plugin``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from wordgrad.engine import ScriptedEngine, register_engine

ENGINE_NAME = "scripted-planner"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "radiotherapy" / "plan_weights.py"


def load_example():  # type: ignore[no-untyped-def]
    """The example script as a module (it is not in a package)."""
    spec = importlib.util.spec_from_file_location("plan_weights_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(**kwargs: object) -> ScriptedEngine:
    return ScriptedEngine(load_example().planner, model_string=ENGINE_NAME)


register_engine(ENGINE_NAME, build)
