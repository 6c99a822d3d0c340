"""A plugin for Ray workers: registers ``scripted-distance``, the scripted engine of the
objective tests (``tests.train.objective_fixtures``), and a measure that always fails for an
instance marked ``hopeless``."""

from __future__ import annotations

from tests.train.objective_fixtures import distance_measure, script
from wordgrad.engine import register_engine
from wordgrad.engine.scripted import ScriptedEngine
from wordgrad.train.objective import Instance, Score

ENGINE_NAME = "scripted-distance"


def build(**kwargs: object) -> ScriptedEngine:
    return ScriptedEngine(script, model_string=ENGINE_NAME)


def measure_unless_hopeless(instance: Instance, value: str) -> Score:
    """:func:`distance_measure`, but raises for an instance whose data says ``hopeless``."""
    if instance.data.get("hopeless"):
        raise ValueError(f"{instance.id} cannot be measured")
    return distance_measure(instance, value)


register_engine(ENGINE_NAME, build)
