"""Crash a small run at every write of its save sequence, resume it, compare with a whole run.

Run as ``python -m tests.train.crash_driver WORKDIR [--steps N] [--only K ...]``; prints one JSON
object. The driver itself never runs wordgrad code (so it has no threads and may fork): each
attempt is a forked child whose ``os.write``, ``os.pwrite``, ``os.fsync``, ``os.ftruncate``,
``os.replace``, ``os.rename`` and ``os.unlink`` are wrapped; the N-th of those calls that touches
the run directory ends the process with ``os._exit`` before it happens, as ``kill -9`` or a
power cut would. A second forked child then runs the same command to the end. The driver checks
its final state against an uninterrupted run's.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

CRASHED = 17
OPERATIONS = ("write", "pwrite", "fsync", "ftruncate", "replace", "rename", "unlink")


def _target(name: str, args: tuple[Any, ...]) -> str | None:
    """The file an operation touches."""
    try:
        if name in ("write", "pwrite", "fsync", "ftruncate"):
            return os.readlink(f"/proc/self/fd/{int(args[0])}")
        if name in ("replace", "rename"):
            return os.fspath(args[1])
        return os.fspath(args[0])
    except (OSError, TypeError, ValueError):
        return None


def instrument(run_dir: Path, crash_at: int | None, journal: Path) -> None:
    """Wrap the ``os`` functions: count the calls on ``run_dir``, die at call ``crash_at``."""
    root = str(run_dir.resolve())
    counter = itertools.count(1)
    lock = threading.Lock()
    entries: list[str] = []

    def wrap(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def patched(*args: Any, **kwargs: Any) -> Any:
            target = _target(name, args)
            if target is not None and os.path.abspath(target).startswith(root):
                with lock:
                    number = next(counter)
                    relative = os.path.relpath(target, root)
                    folder, _, base = relative.rpartition("/")
                    if base.startswith(".") and base.count(".") >= 3:  # .step-0001.json.x1y2
                        relative = f"{folder}/{base[1:].rsplit('.', 1)[0]}.tmp".lstrip("/")
                    entries.append(f"{name} {relative}")
                    if number == crash_at:
                        os._exit(CRASHED)
            return real(*args, **kwargs)

        return patched

    for name in OPERATIONS:
        setattr(os, name, wrap(name, getattr(os, name)))
    import atexit

    atexit.register(lambda: journal.write_text("\n".join(entries)))


def child(run: Callable[[], None]) -> int:
    """Run ``run`` in a forked child; its exit status."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            run()
        except BaseException as error:  # a failure is reported through the exit status
            sys.stderr.write(f"child failed: {type(error).__name__}: {error}\n")
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        if code == 0:
            sys.exit(0)  # runs atexit (the journal)
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--only", type=int, nargs="*", default=None)
    parser.add_argument(
        "--ledger-sample",
        type=int,
        default=None,
        help="crash at only the first N of the usage ledger's writes and syncs (they repeat)",
    )
    parser.add_argument(
        "--collapse", action="store_true", help="of identical consecutive operations, try two"
    )
    args = parser.parse_args()
    os.environ["WORDGRAD_CACHE_DIR"] = str(args.workdir / "cache")

    from tests.train.runs_helpers import (
        comparable_events,
        fewer_resamples,
        final_state,
        log_problems,
        run_prompt,
    )

    fewer_resamples()

    assert threading.active_count() == 1, "the driver must not start threads before forking"
    steps = args.steps
    reference = args.workdir / "reference"
    journal = args.workdir / "reference.journal"

    def whole() -> None:
        instrument(reference, None, journal)
        run_prompt(reference, steps=steps)

    assert child(whole) == 0, "the uninterrupted run failed"
    operations = journal.read_text().splitlines()
    expected = (final_state(reference), comparable_events(reference))

    failures: list[dict[str, Any]] = []
    crashed = 0
    points = list(args.only or range(1, len(operations) + 1))
    if args.ledger_sample is not None:
        ledger = [n for n in points if operations[n - 1].endswith(" usage.jsonl")]
        points = [n for n in points if n not in ledger[args.ledger_sample :]]
    if args.collapse:  # of a run of identical operations, the first and the last
        points = [
            n
            for n in points
            if not (1 < n < len(operations))
            or operations[n - 2] != operations[n - 1]
            or operations[n] != operations[n - 1]
        ]
    for number in points:
        run_dir = args.workdir / f"crash-{number:03d}"

        def crashing(run_dir: Path = run_dir, number: int = number) -> None:
            instrument(run_dir, number, args.workdir / f"crash-{number:03d}.journal")
            run_prompt(run_dir, steps=steps)

        def resuming(run_dir: Path = run_dir) -> None:
            run_prompt(run_dir, steps=steps)

        status = child(crashing)
        crashed += status == CRASHED
        resumed = child(resuming)
        problem = None
        if status != CRASHED:
            problem = f"the run did not crash (exit {status})"
        elif resumed != 0:
            problem = f"the resume failed (exit {resumed})"
        elif (final_state(run_dir), comparable_events(run_dir)) != expected:
            problem = "the resumed run differs from the uninterrupted one"
        elif log_problems(run_dir):
            problem = "; ".join(log_problems(run_dir))
        if problem is not None:
            failures.append({"at": number, "operation": operations[number - 1], "problem": problem})
    print(
        json.dumps(
            {
                "operations": operations,
                "tried": len(points),
                "crashed": crashed,
                "failures": failures,
            }
        )
    )


if __name__ == "__main__":
    main()
