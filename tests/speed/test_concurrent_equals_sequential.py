"""Concurrent and sequential runs of the benchmark's workloads send the same prompts and end
with the same values and gradients, whatever order the calls finish in."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from benchmarks.workloads import BUILDERS, Workload

import wordgrad as tg
from tests.speed.conftest import shuffled_script


def run(build: Callable[[ModuleType, Any], Workload], limit: int, steps: int = 2) -> dict[str, Any]:
    engine = tg.ScriptedEngine(shuffled_script)
    with tg.max_concurrency(limit):
        workload = build(tg, engine)
        for _ in range(steps):
            workload.step()
    return {
        "requests": sorted(json.dumps(r.canonical(), sort_keys=True) for r in engine.requests),
        "values": [p.value for p in workload.parameters],
        "gradients": [[g.value for g in p.gradients] for p in workload.parameters],
        "calls_per_step": len(engine.requests) / steps,
        "declared_calls": workload.calls,
    }


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_concurrent_and_sequential_runs_agree(build: Callable[[ModuleType, Any], Workload]) -> None:
    concurrent = run(build, limit=16)
    sequential = run(build, limit=1)
    assert concurrent == sequential
    assert concurrent["calls_per_step"] == concurrent["declared_calls"]
    assert all(concurrent["gradients"]), "every parameter received feedback"
