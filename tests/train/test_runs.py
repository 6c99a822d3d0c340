"""Run directories and the event log: atomic files, config checks, redaction, typed reading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wordgrad.train.events import (
    EVENT_TYPES,
    Event,
    EventLog,
    RunStart,
    Step,
    read_events,
    redact,
)
from wordgrad.train.runs import Budget, Run, RunConfigError, RunDir, RunStopped, write_json_atomic


def test_secrets_are_redacted_everywhere() -> None:
    record = {
        "api_key": "abc123",
        "headers": {"Authorization": "Bearer tok-123", "x": "ok"},
        "text": "key sk-proj-ABCDEFGH12345678 and Authorization: Bearer abc.def",
        "items": ["api_key=zzz999", "plain"],
    }
    cleaned = json.dumps(redact(record))
    for secret in ("abc123", "tok-123", "sk-proj-ABCDEFGH12345678", "abc.def", "zzz999"):
        assert secret not in cleaned
    assert redact(record)["headers"]["x"] == "ok"
    assert redact(record)["items"][1] == "plain"


def test_events_read_back_as_typed_objects(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.jsonl")
    log.write("run_start", kind="prompt", config={"model": "m"}, resumed_from=None)
    log.write("step", 1, parameter="p", old_value="a", new_value="b", decision="kept", new_field=1)
    log.close()
    with open(tmp_path / "events.jsonl", "a", encoding="utf-8") as file:
        file.write('{"v": 1, "type": "step", "ti')  # a torn last line, as after a crash
    start, step = read_events(tmp_path)
    assert isinstance(start, RunStart) and start.config == {"model": "m"}
    assert isinstance(step, Step) and (step.step, step.decision, step.new_value) == (1, "kept", "b")
    assert step.extra == {"new_field": 1}  # unknown fields are kept, not lost


def test_unknown_event_types_are_refused_when_written_and_tolerated_when_read(
    tmp_path: Path,
) -> None:
    log = EventLog(tmp_path / "events.jsonl")
    with pytest.raises(ValueError, match="unknown event type"):
        log.write("stepp", 1)
    log.close()
    (tmp_path / "events.jsonl").write_text('{"v": 2, "type": "future", "time": "t", "step": 3}\n')
    (event,) = read_events(tmp_path)
    assert type(event) is Event and event.type == "future"
    assert set(EVENT_TYPES) >= {"run_start", "step", "evaluation", "usage", "error", "run_end"}


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]


def test_a_run_refuses_other_settings_unless_forced(tmp_path: Path) -> None:
    with Run(tmp_path, kind="prompt", config={"seed": 1}) as run:
        run.commit(0, {})
    with (
        pytest.raises(RunConfigError, match="seed: 1 -> 2"),
        Run(tmp_path, kind="prompt", config={"seed": 2}),
    ):
        pass
    with Run(tmp_path, kind="prompt", config={"seed": 2}, force=True) as run:
        assert run.checkpoint is None
    assert RunDir(tmp_path).checkpoint_steps() == []


def test_events_of_an_unfinished_step_are_dropped_on_resume(tmp_path: Path) -> None:
    with Run(tmp_path, kind="prompt", config={}) as run:
        run.emit("step", 1, decision="kept")
        run.commit(1, {"x": 1})
        run.emit("step", 2, decision="kept")
        run.commit(2, {"x": 2})
    # a crash after step 3's events reached the log but before its checkpoint
    with open(tmp_path / "events.jsonl", "a", encoding="utf-8") as file:
        file.write(json.dumps({"v": 1, "type": "step", "time": "t", "step": 3}) + "\n")
    with Run(tmp_path, kind="prompt", config={}) as run:
        assert run.checkpoint is not None and run.checkpoint["x"] == 2
        run.emit("step", 3, decision="kept")
        run.commit(3, {"x": 3})
    assert [e.step for e in read_events(tmp_path) if e.type == "step"] == [1, 2, 3]


def test_ctrl_c_inside_a_run_keeps_the_last_checkpoint_and_records_the_stop(
    tmp_path: Path,
) -> None:
    with (
        pytest.raises(RunStopped, match="Run the same command again") as stopped,
        Run(tmp_path, kind="prompt", config={}) as run,
    ):
        run.commit(0, {"x": 0})
        run.emit("step", 1, decision="kept")  # never committed
        raise KeyboardInterrupt
    assert stopped.value.status == "interrupted"
    with Run(tmp_path, kind="prompt", config={}) as run:
        assert run.last_step == 0
    types = [e.type for e in read_events(tmp_path)]
    assert types == ["run_start", "usage", "run_end", "run_start"]


def test_budget_uses_the_average_step() -> None:
    budget = Budget(max_tokens=1000)
    before = {"total_tokens": 100, "cost_usd": 0.0}
    assert budget.refusal({"total_tokens": 500, "cost_usd": 0.0}, 2, before) is None  # 500+200
    refusal = budget.refusal({"total_tokens": 900, "cost_usd": 0.0}, 2, before)  # 900+400
    assert refusal is not None and "tokens budget" in refusal
    assert Budget(max_cost=1.0).refusal({"total_tokens": 0, "cost_usd": 1.0}, 0, {}) is not None
    assert Budget().refusal({"total_tokens": 10**9, "cost_usd": 1e9}, 1, before) is None
