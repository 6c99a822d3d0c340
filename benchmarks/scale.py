"""A CPU-heavy objective over many items: in this process and on a local Ray cluster.

Run from the repository root::

    python -m benchmarks.scale                  # every HumanEval problem, 2 times over
    python -m benchmarks.scale --repeat 1 --limit 40 --cpus 2

The objective runs each of HumanEval's canonical solutions against its hidden tests through
:func:`wordgrad.tasks.code.run_tests` (the public entry point of the code runner, whichever
sandbox it uses), the way the code loop scores a candidate. It runs the items three ways:

- **one by one** in this process (a plain loop),
- **threads**: ``tg.map(..., max_concurrency=--cpus)`` in this process,
- **Ray**: ``tg.map(..., backend=RayBackend(local_cpus=--cpus))`` on a local Ray cluster started
  here on 127.0.0.1 (its start-up is timed separately and left out of the Ray figure).

It prints the wall time of each, the ratios, and checks that every way gave the same pass/fail
for every item. Data: ``$WORDGRAD_DATA/humaneval/HumanEval.jsonl(.gz)``; nothing is downloaded
when it is there. Nothing here talks to any address but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

if not __package__:  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# A local cluster stays on loopback and offline; Ray reads these when imported.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import wordgrad as tg
from wordgrad.distributed import RayBackend
from wordgrad.tasks.code import run_tests
from wordgrad.tasks.data import fetch, read_jsonl
from wordgrad.tasks.humaneval import SOURCE


def load_items(limit: int | None, repeat: int) -> list[tuple[str, str]]:
    """``(program, tests)`` for each HumanEval problem's canonical solution, ``repeat`` times."""
    records = list(read_jsonl(fetch(SOURCE, None)))[:limit]
    items = [
        (
            str(r["prompt"]) + str(r["canonical_solution"]),
            f"{r['test']}\n\ncheck({r['entry_point']})\n",
        )
        for r in records
    ]
    return items * repeat


def objective(item: tuple[str, str]) -> bool:
    """Whether the program passes its tests (one interpreter per run, as the code loop does)."""
    program, tests = item
    return run_tests(program, tests).passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="times over the problem set")
    parser.add_argument("--limit", type=int, default=None, help="only the first N problems")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1, help="workers")
    args = parser.parse_args()
    items = load_items(args.limit, args.repeat)
    print(f"{len(items)} items (HumanEval canonical solutions x{args.repeat}), {args.cpus} CPUs")

    started = time.perf_counter()
    sequential = [objective(item) for item in items]
    one_by_one = time.perf_counter() - started
    print(f"one by one:        {one_by_one:7.2f} s")

    started = time.perf_counter()
    threads = tg.map(objective, items, max_concurrency=args.cpus, progress=False)
    threaded = time.perf_counter() - started
    print(f"threads (tg.map):  {threaded:7.2f} s")

    backend = RayBackend(local_cpus=args.cpus)
    started = time.perf_counter()
    ray = backend.connect()
    startup = time.perf_counter() - started
    print(f"Ray start-up:      {startup:7.2f} s (local cluster, not counted below)")
    tg.map(objective, items[: args.cpus], backend=backend)  # workers up and imported
    started = time.perf_counter()
    on_ray = tg.map(objective, items, backend=backend)
    distributed = time.perf_counter() - started
    ray.shutdown()
    print(f"Ray (tg.map):      {distributed:7.2f} s")

    assert sequential == threads == on_ray, "the three ways disagree on some item"
    print(f"passed: {sum(sequential)} of {len(items)} (same for all three)")
    print(f"ratio one-by-one / Ray: {one_by_one / distributed:5.2f}")
    print(f"ratio threads / Ray:    {threaded / distributed:5.2f}")


if __name__ == "__main__":
    main()
