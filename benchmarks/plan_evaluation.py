"""Wall time of one treatment-plan evaluation (pyRadPlan fluence optimization, dose, metrics).

Loads a case (computing its dose-influence matrix into a fresh cache directory, timed), then
evaluates the plan for a few weight sets and prints each evaluation's wall and CPU time (on a
busy machine the CPU time is what an idle one would take as wall time), the solver's
iterations, and the ratio of the median evaluation to the matrix computation. The plan loop
pays one evaluation per iteration; the matrix is paid once per case (then read from disk).

    .venv/bin/python -m benchmarks.plan_evaluation                 # prostate phantom, 5 mm, 5 beams
    .venv/bin/python -m benchmarks.plan_evaluation --voxel-mm 10 --beams 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from wordgrad.science.radiotherapy import CaseSettings, evaluate_plan, load_case

WEIGHTS = (
    {"PTV": 30.0, "bladder": 300.0, "rectum": 300.0},
    {"PTV": 1000.0, "bladder": 300.0, "rectum": 300.0},
    {"PTV": 100.0, "bladder": 1000.0, "rectum": 1000.0},
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voxel-mm", type=float, default=5.0)
    parser.add_argument("--beams", type=int, default=5)
    args = parser.parse_args()
    settings = CaseSettings(voxel_mm=args.voxel_mm, beams=args.beams)
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        case = load_case(settings, cache)
        load_s = time.perf_counter() - started
        print(
            f"case {case.name}, {args.voxel_mm:g} mm, {args.beams} beams, "
            f"{case.dij.total_num_of_bixels} beamlets x {case.dij.num_of_voxels} voxels; "
            f"{os.cpu_count()} CPUs"
        )
        print(f"dose-influence matrix: {case.dij_seconds:.1f} s (load with imports {load_s:.1f} s)")
        times = []
        for weights in WEIGHTS:
            cpu = time.process_time()
            plan = evaluate_plan(case, weights)
            cpu = time.process_time() - cpu
            times.append(plan.evaluation_s)
            print(
                f"plan {weights}: {plan.evaluation_s:.1f} s wall, {cpu:.1f} s CPU "
                f"(optimization {plan.optimization_s:.1f} s, {plan.solver_iterations} iterations), "
                f"PTV D95 {plan.metrics['PTV']['D95']:.1f} Gy, {plan.goals_met}/9 goals"
            )
    median = statistics.median(times)
    ratio = median / case.dij_seconds
    print(f"median plan evaluation: {median:.1f} s; evaluation / matrix = {ratio:.2f}")


if __name__ == "__main__":
    main()
