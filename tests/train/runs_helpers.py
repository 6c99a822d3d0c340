"""A small prompt-optimization run with the hash-scripted engine, and what two runs of it must
share: shared by the damage tests, the fault-injection driver and the benchmark."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import wordgrad as tg
from wordgrad.llm import Request
from wordgrad.train.events import read_log
from wordgrad.train.prompt_optimization import PromptOptimizationConfig, optimize_prompt
from wordgrad.train.runs import RunDir

from ..conftest import SHARED_DATA
from .scripted_plugin import script

BOOKKEEPING = ("events_offset", "events_count", "events_sha256", "checksum", "usage_offset")
"""Checkpoint fields about the files (they differ when the log holds more run boundaries)."""
DIFFERS = ("run_start", "run_end", "usage", "repair", "error")
"""Event types that legitimately differ between an interrupted and an uninterrupted run."""


class Crash(Exception):
    """Raised by :class:`CrashingScript` to stop a run in the middle of a step."""


class CrashingScript:
    """The scripted replies, but the ``at``-th optimizer request raises :class:`Crash`."""

    def __init__(self, at: int | None = None) -> None:
        self.at = at
        self.updates = 0

    def __call__(self, request: Request) -> str:
        if (request.system_prompt or "").startswith("You revise"):
            self.updates += 1
            if self.updates == self.at:
                raise Crash(f"crash in optimizer call {self.at}")
        return script(request)


def fewer_resamples(resamples: int = 200) -> None:
    """Cap the bootstrap at ``resamples`` (the statistics are not what these tests look at, and
    10,000 resamples per interval would be most of their time)."""
    from wordgrad.train import stats

    real = stats._percentile_interval
    if getattr(real, "capped", False):
        return

    def capped(numbers: list[float], confidence: float, n_resamples: int, seed: Any) -> Any:
        return real(numbers, confidence, min(n_resamples, resamples), seed)

    capped.capped = True  # type: ignore[attr-defined]
    stats._percentile_interval = capped  # type: ignore[assignment]


def small_config(steps: int = 4, **settings: Any) -> PromptOptimizationConfig:
    values: dict[str, Any] = {
        "model": "scripted-train",
        "steps": steps,
        "steps_per_epoch": 3,
        "batch_size": 2,
        "val_size": 3,
        "test_size": 2,
        "gradient_memory": 1,
        **settings,
    }
    return PromptOptimizationConfig(**values)


def run_prompt(
    run_dir: Path,
    steps: int = 4,
    crash_at: int | None = None,
    engine: tg.ScriptedEngine | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Run (or resume) the small run in ``run_dir`` (two checkpoints kept); ``crash_at``: raise
    in that optimizer call."""
    options.setdefault("keep_checkpoints", 2)
    engine = engine or tg.ScriptedEngine(CrashingScript(crash_at), model_string="scripted-train")
    return optimize_prompt(
        small_config(steps),
        run_dir,
        data_dir=SHARED_DATA,
        forward_engine=engine,
        backward_engine=engine,
        **options,
    )


def _without(value: Any, names: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, names) for k, v in value.items() if k not in names}
    if isinstance(value, list):
        return [_without(v, names) for v in value]
    return value


def final_state(run_dir: Path) -> dict[str, Any]:
    """Results and newest checkpoint, without file bookkeeping, usage and measured latency."""
    directory = RunDir(run_dir)
    checkpoint = directory.latest_checkpoint()
    results = directory.results()
    assert checkpoint is not None and results is not None, f"{run_dir} did not complete"
    return {
        "checkpoint": _without(
            checkpoint, (*BOOKKEEPING, "usage", "usage_before_steps", "latency_s")
        ),
        "results": _without(results, ("run_dir", "usage", "latency_s")),
    }


def comparable_events(run_dir: Path) -> list[Any]:
    """The log's events that two runs of the same settings share, without times and numbers."""
    return [
        _without(vars(e), ("time", "extra", "seq", "latency_s"))
        for e in read_log(run_dir).events
        if e.type not in DIFFERS
    ]


def log_problems(run_dir: Path) -> list[str]:
    """What is wrong with a log that should be whole: padding, unreadable lines, repeated steps."""
    data = (run_dir / "events.jsonl").read_bytes()
    problems = ["NUL bytes"] if b"\x00" in data else []
    contents = read_log(run_dir)
    if contents.skipped:
        problems.append(contents.describe_skipped())
    steps = [e.step for e in contents.events if e.type == "step"]
    if len(steps) != len(set(steps)):
        problems.append(f"steps logged more than once: {steps}")
    return problems


def ledger_calls(run_dir: Path) -> int:
    """Calls recorded in ``usage.jsonl`` (and in any ledger moved aside)."""
    count = 0
    for path in run_dir.glob("usage.jsonl*"):
        count += sum(1 for line in path.read_bytes().splitlines() if line.strip())
    return count


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def environment_for_children(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORDGRAD_TEST_")}
    env.update(WORDGRAD_CACHE_DIR=str(tmp_path / "cache"), WORDGRAD_OFFLINE="1")
    return env
