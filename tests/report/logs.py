"""Event logs written with the ``train.events`` writer, shaped like a prompt-optimization run.

Three steps: the first update is kept, the second reverted by validation, the third left the
text unchanged. Usage totals grow by known amounts, so per-step numbers can be checked exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wordgrad.train.events import EventLog

PROMPT_0 = "Answer the question."
PROMPT_1 = "Answer the question step by step.\nEnd with 'Answer: <number>'."
PROMPT_REVERTED = "Guess the answer <quickly> & move on."
SECRET = "sk-abcdefghijklmnop1234"


def usage(step: int) -> dict[str, Any]:
    """Running totals after ``step``: 100 prompt + 10 completion tokens per purpose and step."""
    calls = step + 1
    rows = {
        purpose: {
            "calls": calls,
            "prompt_tokens": 100 * calls,
            "completion_tokens": 10 * calls,
            "cost_usd": 0.001 * calls,
            "latency_s": 0.5 * calls,
        }
        for purpose in ("forward", "backward", "optimizer")
    }
    return {
        "calls": 3 * calls,
        "total_tokens": 330 * calls,
        "cost_usd": 0.003 * calls,
        "by_purpose": rows,
    }


def evaluation(split: str, label: str, accuracy: float) -> dict[str, Any]:
    return {
        "split": split,
        "label": label,
        "accuracy": accuracy,
        "ci_low": max(0.0, accuracy - 0.2),
        "ci_high": min(1.0, accuracy + 0.2),
        "n": 10,
        "scores": [1.0] * round(accuracy * 10) + [0.0] * (10 - round(accuracy * 10)),
    }


def write_run(run_dir: Path, *, ended: bool = True) -> Path:
    """Write a three-step run's ``events.jsonl`` into ``run_dir`` (created)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log = EventLog(run_dir / "events.jsonl")
    try:
        config = {"task": "toy", "steps": 3, "api_key": SECRET}
        log.write(
            "run_start", kind="prompt", config=config, resumed_from=None, wordgrad_version="0.1.0"
        )
        log.write("evaluation", 0, **evaluation("val", "initial", 0.4))
        log.write("evaluation", 0, **evaluation("test", "initial", 0.3))
        log.write("usage", 0, **usage(0))
        steps = [
            (1, PROMPT_0, PROMPT_1, "kept", 0.6),
            (2, PROMPT_1, PROMPT_REVERTED, "reverted", 0.2),
            (3, PROMPT_1, PROMPT_1, "unchanged", None),
        ]
        for step, old, new, decision, val_after in steps:
            feedback = f"Feedback {step}: say how to format the answer (key {SECRET})."
            log.write(
                "forward",
                step,
                epoch=0,
                indices=[step, step + 1],
                predictions=[f"prediction {step}", "<b>bold</b>"],
                scores=[1.0, 0.0],
            )
            log.write("loss", step, values=[f"loss text {step}", "wrong answer"])
            log.write("backward", step, feedback=[{"parameter": "system prompt", "text": feedback}])
            if val_after is not None:
                log.write("evaluation", step, **evaluation("val", f"step {step}", val_after))
            log.write(
                "step",
                step,
                epoch=0,
                parameter="system prompt",
                old_value=old,
                new_value=new,
                feedback=[feedback],
                decision=decision,
                val_before=0.4,
                val_after=val_after,
                parse_errors=[],
            )
            log.write("usage", step, **usage(step))
        log.write("error", 3, error_type="RateLimitError", message="slow down (retried)")
        if ended:
            log.write("evaluation", 0, **evaluation("test", "final", 0.5))
            log.write("run_end", status="completed", message="done", results={"usage": usage(4)})
    finally:
        log.close()
    return run_dir
