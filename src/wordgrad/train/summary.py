"""``wordgrad show RUN``: a run summarized for a person to read.

What was run (kind, task, models), where it stands (completed, or the last checkpoint and how
the run ended), the optimized values, each before/after comparison with its 95% interval and
paired test, and the tokens and cost by what they were spent on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from wordgrad.errors import WordgradError
from wordgrad.train.evaluate import format_results
from wordgrad.train.events import RunEnd, RunStart, Usage, read_events
from wordgrad.train.results import load_result
from wordgrad.train.runs import RunDir

USAGE_LABELS = {
    "forward": "answers (training)",
    "backward": "feedback (gradients)",
    "optimizer": "updates",
    "evaluation": "evaluations, judges, critics",
    "other": "pre-flight and other",
}
"""What each purpose of the usage totals stands for, as reports and summaries show it."""


def summarize(run_dir: str | os.PathLike[str], *, value_chars: int = 600) -> str:
    """The summary text of the run in ``run_dir`` (see the module docs)."""
    directory = RunDir(run_dir)
    events = read_events(run_dir)
    results = directory.results()
    start = next((e for e in events if isinstance(e, RunStart)), None)
    config: Mapping[str, Any] = start.config if start else {}
    lines = [f"run {directory.path}"]
    what = [f"kind {start.kind}" if start else "kind ?"]
    for key in ("task", "model", "backward_model", "metric", "train_file"):
        if config.get(key):
            what.append(f"{key.replace('_', ' ')} {config[key]}")
    lines.append("  " + " · ".join(what))
    if results is not None:
        lines.append("  status: completed")
    else:
        steps = directory.checkpoint_steps()
        ends = [e for e in events if isinstance(e, RunEnd)]
        how = f"; it ended: {ends[-1].status} ({ends[-1].message})" if ends else ""
        last = f"last checkpoint after step {steps[-1]}" if steps else "no checkpoint yet"
        lines.append(f"  status: not finished, {last}{how}")
    try:
        result = load_result(run_dir)
    except WordgradError:
        result = None
    if result is not None:
        lines.append("")
        lines.append("optimized values (result.json; wordgrad.train.load_result loads them):")
        for name, value in list(result.values.items())[:10]:
            shown = value if len(value) <= value_chars else value[: value_chars - 3] + "..."
            lines.append(f"--- {name}\n{shown}")
        if len(result.values) > 10:
            lines.append(f"--- and {len(result.values) - 10} more")
    if results is not None and results.get("comparisons"):
        lines.append("")
        lines.append(format_results(results))
    usage = results["usage"] if results else _last_usage(events)
    if usage:
        lines.append("")
        lines.append(
            f"usage: {usage.get('calls', 0):,} calls, {usage.get('total_tokens', 0):,} tokens, "
            f"estimated cost ${float(usage.get('cost_usd', 0.0)):.4f}"
        )
        for purpose, row in usage.get("by_purpose", {}).items():
            tokens = int(row.get("prompt_tokens", 0) + row.get("completion_tokens", 0))
            lines.append(
                f"  {USAGE_LABELS.get(purpose, purpose):<30} {int(row.get('calls', 0)):>6,} "
                f"calls {tokens:>10,} tokens  ${float(row.get('cost_usd', 0.0)):.4f}"
            )
    return "\n".join(lines)


def _last_usage(events: list[Any]) -> dict[str, Any]:
    found = [e for e in events if isinstance(e, Usage)]
    if not found:
        return {}
    last = found[-1]
    return {
        "calls": last.calls,
        "total_tokens": last.total_tokens,
        "cost_usd": last.cost_usd,
        "by_purpose": last.by_purpose,
    }
