"""The live terminal view: what it shows after each kind of event, drawn on a recording console."""

from __future__ import annotations

import io
import json
import re
import threading
from pathlib import Path

from rich.console import Console

from tests.report.logs import SECRET, evaluation, usage, write_run
from wordgrad.report import LiveView, follow, tail_events
from wordgrad.train.events import Event, read_events


def recording() -> Console:
    return Console(record=True, width=110, file=io.StringIO(), color_system=None)


def shown(view: LiveView) -> str:
    view.console.print(view)
    return view.console.export_text()


def test_the_view_of_a_whole_run(tmp_path: Path) -> None:
    view = LiveView(recording(), title="toy run")
    for event in read_events(write_run(tmp_path / "run")):
        view(event)
    text = shown(view)
    assert "toy run · prompt" in text and "completed" in text
    assert "3 / 3, epoch 0" in text
    assert "minibatch    50.0%" in text
    assert "validation   60.0% [40.0%, 80.0%] n=10 (step 1)" in text  # step 2 was reverted
    assert "test         50.0% [30.0%, 70.0%] n=10 (final)" in text
    assert "1 kept  1 reverted  1 unchanged" in text
    assert "step 3: unchanged" in text
    assert "tokens       1,650" in text and "$0.0150" in text  # with the final
    assert "calls        15 done" in text
    assert "RateLimitError: slow down (retried)" in text


def test_a_loop_can_hand_events_over_as_it_logs_them() -> None:
    view = LiveView(recording())
    view.write("run_start", kind="prompt", config={"max_epochs": 3, "steps_per_epoch": 4})
    view.write("evaluation", 0, **evaluation("val", "initial", 0.5))
    view.write("forward", 1, epoch=0, indices=[0], predictions=["p"], scores=[1.0])
    view.write("error", 1, error_type="EngineError", message=f"bad key {SECRET}")
    text = shown(view)
    assert "1 / 12, epoch 0  (forward)" in text
    assert "validation   50.0%" in text and "running" in text
    assert SECRET not in text and "[REDACTED]" in text


def test_live_redraws_in_place_and_stops_cleanly() -> None:
    out = io.StringIO()
    with LiveView(Console(file=out, force_terminal=True, width=100)) as view:
        view.write("usage", 1, **usage(1))
    assert "660" in out.getvalue()


def test_tailing_a_finished_log_stops_at_its_end(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run")
    events = list(tail_events(run_dir, poll_s=0.01))
    assert events[-1].type == "run_end" and len(events) == len(read_events(run_dir))
    view = follow(run_dir, LiveView(recording()), poll_s=0.01)
    assert view.status == "completed"


def test_tailing_picks_up_lines_as_they_are_written(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", ended=False)
    stop = threading.Event()
    seen: list[Event] = []

    def read() -> None:
        seen.extend(tail_events(run_dir, poll_s=0.01, stop=stop.is_set))

    reader = threading.Thread(target=read)
    reader.start()
    with open(run_dir / "events.jsonl", "a", encoding="utf-8") as log:
        record = {"v": 1, "type": "run_end", "time": "t", "step": None, "status": "failed"}
        log.write(json.dumps(record)[:20])
        log.flush()
        log.write(json.dumps(record)[20:] + "\n")
    reader.join(timeout=10)
    stop.set()
    reader.join()
    assert seen[-1].type == "run_end"


def test_tailing_waits_for_the_log_and_can_be_stopped(tmp_path: Path) -> None:
    calls = iter([False, True])
    assert list(tail_events(tmp_path, poll_s=0.01, stop=lambda: next(calls))) == []


def test_tailing_skips_lines_it_cannot_read(tmp_path: Path) -> None:
    write_run(tmp_path)
    lines = (tmp_path / "events.jsonl").read_bytes().splitlines(keepends=True)
    damaged = [lines[0], b"garbage\n", b"\x00" * 40 + b"\n", *lines[1:]]
    (tmp_path / "events.jsonl").write_bytes(b"".join(damaged))
    assert [e.type for e in tail_events(tmp_path, poll_s=0.01)] == [
        e.type for e in read_events(tmp_path)
    ]
    assert len(read_events(tmp_path)) == len(lines)


def test_the_view_moves_during_evaluations_with_calls_time_and_budget(tmp_path: Path) -> None:
    """Snapshots taken inside the model's calls: before any step has committed, the view
    already counts calls, says what is being evaluated, and shows spending against the budget."""
    from tests.tasks.sums import RECORDS, script
    from wordgrad.engine.scripted import ScriptedEngine
    from wordgrad.llm import Request
    from wordgrad.tasks.user import make_task
    from wordgrad.train import Budget, PromptOptimization, PromptOptimizationConfig
    from wordgrad.train.progress import LiveReporter

    view = LiveView(recording(), title="live", max_cost=5.0)
    snapshots: list[str] = []

    def watched(request: Request) -> str:
        snapshots.append(shown(view))
        return script(request)

    engine = ScriptedEngine(watched, model_string="gpt-4o-mini")
    task = make_task(RECORDS[:2], RECORDS[2:], RECORDS, metric="exact", prompt="Add them.")
    loop = PromptOptimization(
        PromptOptimizationConfig(model="gpt-4o-mini", batch_size=2, steps=1),
        tmp_path / "run",
        task=task,
        forward_engine=engine,
        backward_engine=engine,
        budget=Budget(max_cost=5.0),
        max_concurrency=1,
        on_event=view.write,
        reporter=LiveReporter(view),
    )
    loop.run()
    during_first_evaluation = snapshots[3]  # the fourth call: still before step 1
    assert "step         0 / 1  (test (initial))" in during_first_evaluation
    assert "calls        3 done · about 16 to go (of ~19 projected)" in during_first_evaluation
    assert re.search(r"now          test \(initial\): \d / 4", during_first_evaluation)
    assert "elapsed" in during_first_evaluation and "left" in during_first_evaluation
    assert "of $5.00 budget" in during_first_evaluation
    assert "19 done" in shown(view)
