"""Cost of the sandbox: HumanEval's 164 canonical solutions against their hidden tests.

Run from the repository root::

    python -m benchmarks.sandbox                  # or: python benchmarks/sandbox.py
    python -m benchmarks.sandbox --workers 1 2 --no-limits-only

Every solution runs in its own sandboxed process (bubblewrap namespaces and resource limits),
``--workers`` at a time. Prints, for each setting: wall time for all 164, seconds per problem,
how many passed (should be 164), then the same for the docstring examples (the visible tests)
with the problems whose examples contradict the official tests, and the per-run start-up cost
with and without namespaces. Reads the data from ``$WORDGRAD_DATA`` (the Makefile sets it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wordgrad.sandbox import Sandbox, WeakSandboxWarning, cases_from_asserts
from wordgrad.tasks.code import CodeProblem, run_cases
from wordgrad.tasks.humaneval import humaneval_problems


def timed_all(problems: list[CodeProblem], workers: int, hidden: bool) -> tuple[float, list[str]]:
    """Seconds to run every problem's reference solution, and the ids that did not pass."""
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda p: run_cases(p, p.reference or "", hidden=hidden), problems))
    elapsed = time.perf_counter() - start
    return elapsed, [p.task_id for p, r in zip(problems, results) if not r.passed]


def start_up(sandbox: Sandbox, runs: int = 20) -> float:
    """Median seconds of a trivial run (process start, isolation, harness)."""
    cases = cases_from_asserts("assert f() == 1")
    sandbox.run("def f():\n    return 1", cases)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        sandbox.run("def f():\n    return 1", cases)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-limits-only", action="store_true", help="skip the no-namespace run")
    args = parser.parse_args(argv)
    problems = humaneval_problems(data_dir=os.environ.get("WORDGRAD_DATA"))
    print(f"isolation: {Sandbox().isolation}; CPUs: {os.cpu_count()}; problems: {len(problems)}")
    for workers in args.workers:
        elapsed, failed = timed_all(problems, workers, hidden=True)
        print(
            f"hidden tests, {workers} at a time: {elapsed:.1f} s for {len(problems)} "
            f"({elapsed / len(problems):.3f} s each), passed {len(problems) - len(failed)}"
            + (f", FAILED {failed}" if failed else "")
        )
    visible = [p for p in problems if p.visible]
    elapsed, failed = timed_all(visible, max(args.workers), hidden=False)
    print(
        f"docstring examples, {max(args.workers)} at a time: {elapsed:.1f} s for {len(visible)} "
        f"problems with examples; the reference fails the examples of {failed}"
    )
    print(f"start-up per run with {Sandbox().isolation}: {1000 * start_up(Sandbox()):.0f} ms")
    if not args.no_limits_only:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WeakSandboxWarning)
            weak = Sandbox(use_bubblewrap=False)
            print(f"start-up per run with limits only: {1000 * start_up(weak):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
