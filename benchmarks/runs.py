"""What a run directory costs as runs grow: disk per step, resume time, report time.

Run from the repository root::

    python -m benchmarks.runs                 # about a minute
    python -m benchmarks.runs --steps 10 40 160 --lengths 12500 50000 200000

Three tables, all printed as figures and ratios (no pass/fail: the machine is shared):

1. **Run-directory size per step**: real prompt-optimization runs (scripted engine, in process)
   of each ``--steps`` length, with a short prompt, and with a 50,000-character prompt and a
   momentum window of 3. Per file kind: the log and the usage ledger grow with the run (they are
   its record); the checkpoints stay bounded (the newest three are kept, each without the random
   generator's state).
2. **Resume time**: opening a finished run's directory once more and resuming a run stopped
   before its last step.
3. **Report time** (``build_report``) against steps (short prompt) and against prompt length (3
   steps, each rewriting a few words of the prompt; varied text and one phrase repeated over and
   over), from logs written with :class:`~wordgrad.train.events.EventLog`. Time per step and per
   1,000 characters should stay flat.

The bootstrap intervals are cut to 200 resamples here: they are not what is measured, and at
10,000 resamples per evaluation they would be most of the time.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # python benchmarks/runs.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import wordgrad as tg
from wordgrad.llm import Request
from wordgrad.report import build_report
from wordgrad.train import stats
from wordgrad.train.events import EventLog
from wordgrad.train.prompt_optimization import PromptOptimizationConfig, optimize_prompt
from wordgrad.train.runs import Run

DATA = Path(
    os.environ.get("WORDGRAD_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def _few_resamples() -> None:
    real = stats._percentile_interval

    def capped(numbers: list[float], confidence: float, n_resamples: int, seed: Any) -> Any:
        return real(numbers, confidence, min(n_resamples, 200), seed)

    stats._percentile_interval = capped  # type: ignore[assignment]


def long_text(length: int, seed: int = 0, repetitive: bool = False) -> str:
    """``length`` characters of prompt-like text: varied words, or one phrase over and over."""
    if repetitive:
        phrase = "Count every object in the list carefully and then add the counts. "
        return (phrase * (length // len(phrase) + 1))[:length]
    rng = random.Random(seed)
    vocabulary = [f"{w}{rng.randrange(400)}" for w in ("count", "item", "list", "step", "sum")]
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(vocabulary)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:length]


def edited(text: str, step: int) -> str:
    """``text`` with a few words changed at three places, different for each step."""
    rng = random.Random(step)
    parts = text.split(" ")
    for _ in range(3):
        parts[rng.randrange(len(parts))] = f"edit{step}x{rng.randrange(1000)}"
    return " ".join(parts)


class Script:
    """Replies for the scripted engine: answers, feedback, and rewrites that keep the prompt's
    length (a few words edited per update)."""

    def __init__(self, prompt: str) -> None:
        self.prompt = prompt
        self.updates = 0

    def __call__(self, request: Request) -> str:
        if (request.system_prompt or "").startswith("You revise"):
            self.updates += 1
            self.prompt = edited(self.prompt, self.updates)
            return f"<IMPROVED_VARIABLE>{self.prompt}</IMPROVED_VARIABLE>"
        if "How many" in request.prompt or "how many" in request.prompt:
            return f"I counted. Answer: {len(request.prompt) % 9}"
        return "List the objects first, then count them."


def real_run(run_dir: Path, steps: int, prompt: str | None, momentum: int) -> float:
    """Seconds for a prompt optimization of ``steps`` steps in ``run_dir``."""
    config = PromptOptimizationConfig(
        model="scripted",
        steps=steps,
        steps_per_epoch=None,
        max_epochs=1000,
        batch_size=1,
        train_size=10,
        val_size=2,
        test_size=0,
        validation=False,
        starting_prompt=prompt,
        momentum_window=momentum,
    )
    engine = tg.ScriptedEngine(Script(prompt or "Count the objects."), model_string="scripted")
    start = time.perf_counter()
    optimize_prompt(config, run_dir, data_dir=DATA, forward_engine=engine, backward_engine=engine)
    return time.perf_counter() - start


def sizes(run_dir: Path) -> dict[str, int]:
    """Bytes per kind of file in a run directory."""
    kinds = {"events": 0, "usage": 0, "checkpoints": 0, "graphs": 0, "other": 0}
    for path in run_dir.rglob("*"):
        if not path.is_file():
            continue
        size = path.stat().st_size
        if path.name.startswith("events.jsonl"):
            kinds["events"] += size
        elif path.name.startswith("usage.jsonl"):
            kinds["usage"] += size
        elif path.parent.name in ("checkpoints", "graphs"):
            kinds[path.parent.name] += size
        else:
            kinds["other"] += size
    return kinds


def size_table(work: Path, step_counts: list[int]) -> None:
    print(
        "\n1. Run-directory size (KB) by steps; per step = (total - the 1-step run) / (steps - 1)"
    )
    print(
        f"{'prompt':<26} {'steps':>5} {'total':>9} {'per step':>9} {'events':>8} {'usage':>7} "
        f"{'checkpts':>8} {'graphs':>8} {'run s':>7}"
    )
    for label, prompt, momentum in (
        ("short", None, 0),
        ("50,000 chars, momentum 3", long_text(50_000), 3),
    ):
        baseline: dict[str, int] | None = None
        for steps in [1, *step_counts]:
            run_dir = work / f"size-{label[:5]}-{steps}"
            seconds = real_run(run_dir, steps, prompt, momentum)
            found = sizes(run_dir)
            total = sum(found.values())
            if baseline is None:
                baseline = found
                per_step = "–"
            else:
                per_step = f"{(total - sum(baseline.values())) / (steps - 1) / 1024:.1f}"
            print(
                f"{label:<26} {steps:>5} {total / 1024:>9.1f} {per_step:>9} "
                f"{found['events'] / 1024:>8.1f} {found['usage'] / 1024:>7.1f} "
                f"{found['checkpoints'] / 1024:>8.1f} {found['graphs'] / 1024:>8.1f} "
                f"{seconds:>7.2f}"
            )


def resume_table(work: Path, step_counts: list[int]) -> None:
    print("\n2. Resume: opening a finished run again; finishing a run killed after its last step")
    print(f"{'steps':>5} {'open finished s':>16} {'resume and finish s':>20}")
    for steps in step_counts:
        finished = work / f"size-short-{steps}"
        config = {**_config_of(finished)}
        start = time.perf_counter()
        with Run(finished, kind="prompt", config=config) as run:
            assert run.results is not None
        opened = time.perf_counter() - start
        stopped = work / f"resume-{steps}"
        real_run(stopped, steps - 1, None, 0)
        (stopped / "results.json").unlink()
        _drop_final(stopped)
        resumed = real_run(stopped, steps - 1, None, 0)
        print(f"{steps:>5} {opened:>16.3f} {resumed:>20.3f}")


def _config_of(run_dir: Path) -> dict[str, Any]:
    import json

    config: dict[str, Any] = json.loads((run_dir / "config.json").read_text())
    return config


def _drop_final(run_dir: Path) -> None:
    """Cut the log back to the newest checkpoint (as if the process died before its end)."""
    from wordgrad.train.runs import RunDir

    checkpoint = RunDir(run_dir).latest_checkpoint()
    assert checkpoint is not None
    os.truncate(run_dir / "events.jsonl", int(checkpoint["events_offset"]))


def synthetic_log(run_dir: Path, steps: int, prompt: str) -> None:
    """A log of ``steps`` steps, each rewriting a few words of ``prompt``."""
    run_dir.mkdir(parents=True)
    log = EventLog(run_dir / "events.jsonl")
    log.write("run_start", kind="prompt", config={"task": "bench"}, resumed_from=None)
    log.write("evaluation", 0, split="val", label="initial", accuracy=0.5, n=10, scores=[0.5] * 10)
    text = prompt
    for step in range(1, steps + 1):
        new = edited(text, step)
        log.write("forward", step, epoch=0, indices=[1, 2], predictions=["a", "b"], scores=[1, 0])
        log.write("backward", step, feedback=[{"parameter": "prompt", "text": "be precise"}])
        log.write(
            "step",
            step,
            epoch=0,
            parameter="prompt",
            old_value=text,
            new_value=new,
            feedback=["be precise"],
            decision="kept",
            val_before=0.5,
            val_after=0.6,
        )
        log.write(
            "evaluation",
            step,
            split="val",
            label=f"step {step}",
            accuracy=0.6,
            n=10,
            scores=[0.6] * 10,
        )
        text = new
    log.close()


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def report_table(work: Path, step_counts: list[int], lengths: list[int]) -> None:
    print("\n3a. Report time against steps (short prompt)")
    print(f"{'steps':>6} {'report s':>9} {'ms per step':>12}")
    for steps in step_counts:
        run_dir = work / f"report-steps-{steps}"
        synthetic_log(run_dir, steps, "Count the objects one by one, then give the total.")
        seconds = timed(lambda run_dir=run_dir: build_report(run_dir))
        print(f"{steps:>6} {seconds:>9.3f} {1000 * seconds / steps:>12.2f}")
    print("\n3b. Report time against prompt length (3 steps)")
    print(f"{'characters':>10} {'text':<11} {'report s':>9} {'ms per 1,000 chars':>19}")
    for length in lengths:
        for kind in ("varied", "repetitive"):
            run_dir = work / f"report-length-{length}-{kind}"
            synthetic_log(run_dir, 3, long_text(length, repetitive=kind == "repetitive"))
            seconds = timed(lambda run_dir=run_dir: build_report(run_dir))
            per_thousand = 1000 * seconds / (length / 1000)
            print(f"{length:>10,} {kind:<11} {seconds:>9.3f} {per_thousand:>19.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 40, 160])
    parser.add_argument("--report-steps", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--lengths", type=int, nargs="+", default=[12_500, 50_000, 200_000])
    args = parser.parse_args()
    _few_resamples()
    with tempfile.TemporaryDirectory(prefix="wordgrad-bench-runs-") as folder:
        os.environ.setdefault("WORDGRAD_CACHE_DIR", str(Path(folder) / "cache"))
        work = Path(folder)
        size_table(work, args.steps)
        resume_table(work, args.steps)
        report_table(work, args.report_steps, args.lengths)


if __name__ == "__main__":
    main()
