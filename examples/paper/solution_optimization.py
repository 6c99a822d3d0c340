"""Reproduce the paper's solution-optimization table (MMLU machine learning and college physics,
GPQA diamond).

Settings as in the paper: gpt-4o answers zero-shot with chain of thought, then 3 iterations of
critique and rewrite per question, and the final answer is the majority vote over all versions.
Any engine works (``--model local``, ``--model ollama/llama3.2``, or one from ``--plugin``).
Each task runs in its own resumable run directory under ``--runs-dir``.

Prints accuracy (percent, with 95% bootstrap intervals) of the zero-shot answers and of the
majority vote, and the paired test between them, in the layout of the paper's table::

    python examples/paper/solution_optimization.py --model gpt-4o
"""

from __future__ import annotations

import argparse
import sys

from common import engine_arguments, load_plugins, print_table, run_all

from wordgrad.train.progress import reporter
from wordgrad.train.solution_optimization import (
    SolutionOptimization,
    SolutionOptimizationConfig,
)

TASKS = {
    "MMLU_machine_learning": "MMLU-Machine Learning",
    "MMLU_college_physics": "MMLU-College Physics",
    "GPQA_diamond": "Google-proof QA",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    engine_arguments(parser, model="gpt-4o", backward_model="gpt-4o")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--iterations", type=int, default=3, help="rewrites (paper: 3)")
    parser.add_argument("--size", type=int, default=None, help="first N questions per task")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    load_plugins(args.plugin)

    def make_loop(task: str) -> SolutionOptimization:
        config = SolutionOptimizationConfig(
            task=task,
            model=args.model,
            backward_model=args.backward_model,
            iterations=args.iterations,
            size=args.size,
        )
        return SolutionOptimization(
            config,
            f"{args.runs_dir}/solution-{task}",
            data_dir=args.data_dir,
            max_concurrency=args.max_concurrency,
            reporter=reporter(args.quiet),
        )

    rows = run_all(args.tasks, TASKS, make_loop)
    print_table(
        f"Solution optimization, accuracy in % ({args.model})",
        ["Benchmark", "Zero-shot CoT", "TextGrad (majority vote)", "Difference", "Paired p"],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
