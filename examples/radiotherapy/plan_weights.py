"""Tune a prostate plan's objective weights with textual gradients, offline.

A scripted engine stands in for the LLM: its critic lists the clinical goals the plan misses,
its feedback says which weight to raise, and its optimizer rewrites the weights accordingly
(it reads the plan report, so it does what a careful planner would, only mechanically).
Dose calculation and fluence optimization are real (pyRadPlan), on a coarse grid so the run
takes about a minute. Use ``--model gpt-4o`` (or any engine name) for a real critic.

    python examples/radiotherapy/plan_weights.py --run-dir runs/plan-example
    wordgrad report runs/plan-example        # weights, metrics and DVHs per iteration

Needs ``pip install 'wordgrad[radiotherapy]'``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from wordgrad.engine.scripted import ScriptedEngine
from wordgrad.llm import Request
from wordgrad.report import write_report
from wordgrad.science.radiotherapy import format_weights
from wordgrad.train.plan_optimization import PlanOptimization, PlanOptimizationConfig

_WEIGHT = re.compile(r"^\s*(\w+)\s*:\s*([0-9.eE+-]+)\s*$", re.MULTILINE)
_MISSED = re.compile(r"\[MISSED\] (\w+) ([^:]+):")


def planner(request: Request) -> str:
    """The scripted critic, feedback writer and optimizer (each reply depends only on its
    request)."""
    prompt = request.prompt
    if request.purpose == "evaluation":
        missed = _MISSED.findall(prompt)
        if "No plan was computed" in prompt:
            return "The weights could not be read, so no plan exists; restate them."
        if not missed:
            return "Every clinical goal is met; the organs could be spared a little more."
        return "The plan misses " + "; ".join(f"{s} {m}" for s, m in missed) + "."
    if request.purpose == "backward":
        missed_structures = [s for s, _ in _MISSED.findall(prompt)]
        for structure in ("PTV", "rectum", "bladder"):
            if structure in missed_structures or f"misses {structure}" in prompt:
                return f"Raise the {structure} weight: its goals are missed."
        if "restate" in prompt:
            return "Write one 'structure: weight' line per structure."
        return "Lower the PTV weight a little to spare the organs."
    if request.purpose == "optimizer":
        current = prompt.split("<VARIABLE>", 1)[1].split("</VARIABLE>", 1)[0]
        weights = {name: float(value) for name, value in _WEIGHT.findall(current)}
        weights = weights or {"PTV": 30.0, "bladder": 300.0, "rectum": 300.0}
        raise_ = re.search(r"Raise the (\w+) weight", prompt)
        if raise_ and raise_.group(1) in weights:
            weights[raise_.group(1)] *= 3
        elif "Lower the PTV weight" in prompt and "PTV" in weights:
            weights["PTV"] *= 0.8
        return f"<IMPROVED_VARIABLE>{format_weights(weights)}</IMPROVED_VARIABLE>"
    return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", default="runs/plan-example")
    parser.add_argument("--model", default=None, help="a real engine instead of the script")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--voxel-mm", type=float, default=7.5)
    parser.add_argument("--beams", type=int, default=5)
    parser.add_argument("--cache-dir", default=None, help="dose-influence matrices")
    args = parser.parse_args(argv)
    config = PlanOptimizationConfig(
        model=args.model or "scripted",
        iterations=args.iterations,
        voxel_mm=args.voxel_mm,
        beams=args.beams,
        cache_dir=args.cache_dir,
    )
    engine = None if args.model else ScriptedEngine(planner, model_string="scripted")
    results = PlanOptimization(
        config, args.run_dir, forward_engine=engine, backward_engine=engine
    ).run()
    summary = results["instances"][0]
    for label in ("start", "best"):
        plan = summary[f"{label}_plan"]
        weights = ", ".join(f"{k} {v:g}" for k, v in plan["weights"].items())
        print(
            f"{label:>5}: weights {weights}; {plan['goals_met']} goals met; "
            f"PTV D95 {plan['metrics']['PTV']['D95']:.1f} Gy; score {plan['score']:.3f}"
        )
    print(f"report: {write_report(Path(args.run_dir))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
