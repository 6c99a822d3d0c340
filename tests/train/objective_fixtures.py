"""A module-level measure and a scripted engine for the objective tests (and their subprocesses).

The value is a line ``x = N``; the measure scores ``-|N - 10|`` and says whether N is too small
or too large. The scripted optimizer raises N by 3 each update, so a trajectory from 3 reads
3, 6, 9, 12 with scores -7, -4, -1, -2. Replies depend only on each request.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

from wordgrad.engine.scripted import ScriptedEngine
from wordgrad.llm import Request
from wordgrad.train.objective import Instance, Score

TARGET = 10


def number_in(value: str) -> int:
    found = re.search(r"x = (-?\d+)", value)
    return int(found.group(1)) if found else 0


def distance_measure(instance: Instance, value: str) -> Score:
    """Higher is better: minus the distance of x to the instance's target (default 10)."""
    target = int(instance.data.get("target", TARGET))
    x = number_in(value)
    side = "too small" if x < target else "too large" if x > target else "right"
    return Score(-abs(x - target), feedback=f"x is {x}, which is {side}", details={"x": x})


def kind(request: Request) -> str:
    """What the request is for, read from its purpose (never from the prompts' wording)."""
    return {"evaluation": "critic", "backward": "gradient", "optimizer": "update"}.get(
        request.purpose, "other"
    )


def script(request: Request) -> str:
    """Critic and feedback writer echo the measurement; the optimizer adds 3 to x."""
    what = kind(request)
    if what == "update":
        _maybe_hang()
        current = request.prompt.split("<VARIABLE>", 1)[1]
        return f"<IMPROVED_VARIABLE>x = {number_in(current) + 3}</IMPROVED_VARIABLE>"
    if what == "critic":
        said = re.search(r"x is (-?\d+), which is (\w+ ?\w*)", request.prompt)
        return f"The value is {said.group(2) if said else 'unmeasured'}."
    if what == "gradient":
        return "Make x larger." if "too small" in request.prompt else "Make x smaller."
    return "?"


def engine() -> ScriptedEngine:
    return ScriptedEngine(script, model_string="scripted")


def _maybe_hang() -> None:
    """With WORDGRAD_TEST_HANG_AT=N, the N-th update request drops a marker and never returns."""
    hang_at = os.environ.get("WORDGRAD_TEST_HANG_AT")
    if not hang_at:
        return
    counter = Path(os.environ["WORDGRAD_TEST_MARKER"] + ".count")
    with open(counter, "a", encoding="utf-8") as file:
        file.write(".")
    if len(counter.read_text()) == int(hang_at):
        Path(os.environ["WORDGRAD_TEST_MARKER"]).touch()
        while True:
            time.sleep(1)


def instances() -> list[Instance]:
    return [
        Instance("a", "x = 3", role="a setting of x", context="Bring x to its target."),
        Instance("b", "x = 9", role="a setting of x", context="Bring x to its target."),
        Instance("c", "x = 0", role="a setting of x", data={"target": 4}),
    ]


def main(run_dir: str) -> None:
    """Run the three instances in ``run_dir`` (for the kill -9 test)."""
    from wordgrad.train.instance_optimization import InstanceOptimizationConfig, optimize_instances

    scripted = engine()
    config = InstanceOptimizationConfig(model="scripted", iterations=3, batch_size=2)
    optimize_instances(
        config,
        run_dir,
        instances(),
        distance_measure,
        forward_engine=scripted,
        backward_engine=scripted,
        max_concurrency=1,
    )


if __name__ == "__main__":
    main(sys.argv[1])
