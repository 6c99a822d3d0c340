"""What the paper-reproduction scripts share: engine options, plugins, and the results table."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Sequence
from typing import Any


def engine_arguments(
    parser: argparse.ArgumentParser, *, model: str, backward_model: str
) -> argparse.ArgumentParser:
    """Add the options every script takes (engines default to the paper's)."""
    parser.add_argument("--model", default=model, help=f"forward engine (paper: {model})")
    parser.add_argument(
        "--backward-model",
        default=backward_model,
        help=f"feedback, update and judge engine (paper: {backward_model})",
    )
    parser.add_argument("--runs-dir", default="runs/paper", help="one run directory per task")
    parser.add_argument("--data-dir", default=None, help="benchmark data (default $WORDGRAD_DATA)")
    parser.add_argument("--max-concurrency", type=int, default=None, help="LLM calls at once")
    parser.add_argument(
        "--plugin", action="append", default=[], help="import a module that registers engines"
    )
    return parser


def load_plugins(modules: Sequence[str]) -> None:
    for module in modules:
        importlib.import_module(module)


def percent(summary: dict[str, Any]) -> str:
    """``"77.8 [72.0, 83.0]"``: accuracy in percent with its 95% interval."""
    if not summary.get("n"):
        return "n/a"
    return (
        f"{100 * summary['accuracy']:.1f} "
        f"[{100 * summary['ci_low']:.1f}, {100 * summary['ci_high']:.1f}]"
    )


def comparison_row(label: str, comparison: dict[str, Any]) -> list[str]:
    """A table row: before, after, their difference (points) and the paired p-value."""
    return [
        label,
        percent(comparison["before"]),
        percent(comparison["after"]),
        f"{100 * comparison['difference']:+.1f}" if "difference" in comparison else "n/a",
        f"{comparison['p_value']:.3g}" if "p_value" in comparison else "n/a",
    ]


def run_all(
    tasks: Sequence[str],
    labels: dict[str, str],
    make_loop: Callable[[str], Any],
) -> list[list[str]]:
    """Run (or resume) each task's loop and return its table row."""
    return [comparison_row(labels[task], make_loop(task).run()["test"]) for task in tasks]


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain-text table: the paper's rows and columns, numbers in percent."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows)]
    line = "  ".join("-" * width for width in widths)
    print(title)
    print(line)
    print("  ".join(f"{cell:<{width}}" for cell, width in zip(columns, widths)))
    print(line)
    for row in rows:
        print("  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths)))
    print(line)
