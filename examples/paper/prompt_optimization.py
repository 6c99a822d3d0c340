"""Reproduce the paper's prompt-optimization table (BBH object counting, word sorting, GSM8K).

Settings as in the paper: forward engine gpt-3.5-turbo-0125, feedback / update / judge engine
gpt-4o, minibatches of 3, 3 epochs of 4 steps (12 updates), validation that reverts worse
prompts, seed 42. Any engine works (``--model local``, ``--model ollama/llama3.2``, or one from
``--plugin``). Each task runs in its own resumable run directory under ``--runs-dir``: stop the
script at any time and start it again to continue.

Prints test accuracy (percent, with 95% bootstrap intervals) of the starting zero-shot
chain-of-thought prompt and of the optimized prompt, and the paired test between them, in the
layout of the paper's table (a row per task, a column per method)::

    python examples/paper/prompt_optimization.py --model gpt-3.5-turbo-0125 --backward-model gpt-4o
"""

from __future__ import annotations

import argparse
import sys

from common import engine_arguments, load_plugins, print_table, run_all

from wordgrad.train.progress import reporter
from wordgrad.train.prompt_optimization import PromptOptimization, PromptOptimizationConfig

TASKS = {
    "BBH_object_counting": "Object Counting",
    "BBH_word_sorting": "Word Sorting",
    "GSM8K_DSPy": "GSM8K",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    engine_arguments(parser, model="gpt-3.5-turbo-0125", backward_model="gpt-4o")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--steps", type=int, default=None, help="total steps (paper: 12)")
    parser.add_argument("--val-size", type=int, default=None, help="first N validation items")
    parser.add_argument("--test-size", type=int, default=None, help="first N test items")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    load_plugins(args.plugin)

    def make_loop(task: str) -> PromptOptimization:
        config = PromptOptimizationConfig(
            task=task,
            model=args.model,
            backward_model=args.backward_model,
            batch_size=3,
            max_epochs=3,
            steps_per_epoch=4,
            steps=args.steps,
            seed=42,
            validation=True,
            val_size=args.val_size,
            test_size=args.test_size,
        )
        return PromptOptimization(
            config,
            f"{args.runs_dir}/prompt-{task}",
            data_dir=args.data_dir,
            max_concurrency=args.max_concurrency,
            reporter=reporter(args.quiet),
        )

    rows = run_all(args.tasks, TASKS, make_loop)
    print_table(
        f"Prompt optimization, test accuracy in % (forward {args.model}, "
        f"backward {args.backward_model})",
        ["Task", "Zero-shot CoT", "TextGrad", "Difference", "Paired p"],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
