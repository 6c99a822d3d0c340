"""The demo: optimize a prompt on a small slice of BBH object counting with the embedded model.

``make demo`` (or ``python -m wordgrad.demo``) runs it. No network is used: the model runs in
this process, the data is read from ``$WORDGRAD_DATA`` (or the download cache), downloads are
switched off, and the response cache is kept inside the run directory. It prints the validation
accuracy before and after with 95% intervals and a paired test, the tokens used, the final
prompt, and where the run directory is. Run it again and it reports the finished run at once
(``--fresh`` starts over).

The model is tiny (135M parameters), so do not expect gains; the demo shows the machinery end to
end. See ``docs/demo.md`` for what it can and cannot show and how to use a stronger engine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

DEMO_STEPS = 3
DEMO_BATCH = 3
DEMO_VAL_SIZE = 10
DEMO_REPLY_TOKENS = 128


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wordgrad.demo", description=__doc__)
    parser.add_argument("--run-dir", default="runs/demo", help="where the run is kept")
    parser.add_argument("--model", default="local", help="engine name (default: embedded model)")
    parser.add_argument("--fresh", action="store_true", help="discard an earlier demo run")
    args = parser.parse_args(argv)

    os.environ.setdefault("WORDGRAD_OFFLINE", "1")  # never reach for the network
    run_dir = Path(args.run_dir)
    cache = run_dir / "cache"  # replies are cached with the run, so a resumed demo is quick
    if args.fresh:
        shutil.rmtree(cache, ignore_errors=True)
    os.environ.setdefault("WORDGRAD_CACHE_DIR", str(cache))

    from wordgrad.errors import WordgradError
    from wordgrad.report import write_report
    from wordgrad.train.evaluate import format_results
    from wordgrad.train.progress import reporter
    from wordgrad.train.prompt_optimization import PromptOptimization, PromptOptimizationConfig
    from wordgrad.train.runs import RunDir, RunStopped

    config = PromptOptimizationConfig(
        task="BBH_object_counting",
        model=args.model,
        batch_size=DEMO_BATCH,
        steps=DEMO_STEPS,
        val_size=DEMO_VAL_SIZE,
        test_size=0,
        reply_tokens=DEMO_REPLY_TOKENS if args.model == "local" else None,
    )
    print(
        f"wordgrad demo: {DEMO_STEPS} steps of {DEMO_BATCH} BBH object-counting questions, "
        f"validation on {DEMO_VAL_SIZE}, model {args.model!r}",
        flush=True,
    )
    finished_before = not args.fresh and RunDir(run_dir).results() is not None
    started = time.perf_counter()
    loop = PromptOptimization(config, run_dir, force=args.fresh, reporter=reporter())
    try:
        results = loop.run()
    except RunStopped as stopped:
        print(f"demo stopped: {stopped}", file=sys.stderr)
        return 130 if stopped.status == "interrupted" else 3
    except WordgradError as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
    usage = results["usage"]
    print()
    print(format_results(results))
    print(f"final prompt: {results['final_prompt']!r}")
    print(f"tokens used: {usage['total_tokens']:,} in {usage['calls']} calls")
    print(f"run directory: {results['run_dir']}")
    print(f"report: {write_report(results['run_dir'])}")
    if not finished_before:
        print(f"wall time: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
