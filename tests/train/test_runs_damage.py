"""Run directories damaged the way disks, editors and impatient users damage them: each damaged
file is named in one line and the run resumes to the state of an uninterrupted run (or refuses
with a clear error); a log is never padded; one process per directory; every call is counted.

The run is the small prompt optimization of ``runs_helpers``: 4 steps, the newest two
checkpoints kept. A run "crashed in step 4" raised inside step 4's optimizer call, so
checkpoints 2 and 3 are on disk.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import wordgrad as tg
from wordgrad.report import build_report
from wordgrad.train import stats
from wordgrad.train.events import Repair, read_log
from wordgrad.train.runs import (
    Budget,
    Run,
    RunConfigError,
    RunDir,
    RunLockedError,
    RunStopped,
    RunStorageError,
    iter_checkpoints,
)

from .runs_helpers import (
    CrashingScript,
    comparable_events,
    final_state,
    ledger_calls,
    log_problems,
    run_prompt,
)

STEPS = 4


@pytest.fixture(scope="module")
def _few_resamples() -> Iterator[None]:
    real = stats._percentile_interval

    def capped(numbers: list[float], confidence: float, n_resamples: int, seed: Any) -> Any:
        return real(numbers, confidence, min(n_resamples, 200), seed)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stats, "_percentile_interval", capped)
        yield


@pytest.fixture(autouse=True)
def _quick(_few_resamples: None) -> None:
    """Every test here uses the capped bootstrap (the reference too)."""


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, _few_resamples: None) -> Path:
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    run_prompt(run_dir, steps=STEPS)
    return run_dir


def crashed_in_step_4(run_dir: Path) -> None:
    with pytest.raises(Exception, match="crash in optimizer call 4"):
        run_prompt(run_dir, steps=STEPS, crash_at=4)
    assert RunDir(run_dir).checkpoint_steps() == [2, 3]


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("wordgrad.")]


def assert_same_end(run_dir: Path, reference: Path) -> None:
    assert final_state(run_dir) == final_state(reference)
    assert log_problems(run_dir) == []


# --------------------------------------------------------------------------- checkpoints


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 8] = b"\xff\x00garb!"
    path.write_bytes(bytes(data))


def _cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _key_missing(path: Path) -> None:
    content = json.loads(path.read_text())
    del content["prompt"]
    path.write_text(json.dumps(content))


def _value_edited(path: Path) -> None:
    content = json.loads(path.read_text())
    content["val_current"] = [1.0 for _ in content["val_current"]]
    path.write_text(json.dumps(content))


CHECKPOINT_DAMAGE: dict[str, Callable[[Path], None]] = {
    "corrupt": _corrupt,
    "cut short": _cut,
    "empty": _empty,
    "key missing": _key_missing,
    "value edited": _value_edited,
}


@pytest.mark.parametrize("damage", CHECKPOINT_DAMAGE, ids=list(CHECKPOINT_DAMAGE))
def test_a_damaged_checkpoint_is_named_and_the_one_before_is_used(
    damage: str, reference: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_dir = tmp_path / "run"
    crashed_in_step_4(run_dir)
    newest = RunDir(run_dir).checkpoint_path(3)
    CHECKPOINT_DAMAGE[damage](newest)

    with caplog.at_level(logging.WARNING):
        run_prompt(run_dir, steps=STEPS)

    (message,) = warnings_of(caplog)
    assert str(newest) in message and "resuming from step 2" in message
    assert "\n" not in message
    assert newest.with_name("step-0003.json.damaged").exists()  # kept for the user to see
    assert_same_end(run_dir, reference)
    assert comparable_events(run_dir) == comparable_events(reference)


def test_with_every_checkpoint_damaged_the_run_starts_over(
    reference: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_dir = tmp_path / "run"
    crashed_in_step_4(run_dir)
    for step in (2, 3):
        _cut(RunDir(run_dir).checkpoint_path(step))
    with caplog.at_level(logging.WARNING):
        run_prompt(run_dir, steps=STEPS)
    checkpoints, log = warnings_of(caplog)[:2], warnings_of(caplog)[2:]
    assert all("resuming from the start" in m for m in checkpoints)
    assert len(log) == 1 and "records saved steps but no checkpoint" in log[0]
    assert list(run_dir.glob("events.jsonl.damaged-*"))  # the old record is kept
    assert_same_end(run_dir, reference)
    assert comparable_events(run_dir) == comparable_events(reference)


def test_deleted_checkpoints_start_the_run_over_keeping_the_old_log(
    reference: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_dir = tmp_path / "run"
    crashed_in_step_4(run_dir)
    shutil.rmtree(run_dir / "checkpoints")
    with caplog.at_level(logging.WARNING):
        run_prompt(run_dir, steps=STEPS)
    (message,) = warnings_of(caplog)
    assert "no checkpoint" in message
    assert_same_end(run_dir, reference)
    assert comparable_events(run_dir) == comparable_events(reference)


def test_checkpoints_are_lean_and_only_the_newest_are_kept(reference: Path, tmp_path: Path) -> None:
    assert RunDir(reference).checkpoint_steps() == [3, 4]
    checkpoint = RunDir(reference).latest_checkpoint()
    assert checkpoint is not None
    assert "epoch_rng_state" not in checkpoint and checkpoint["shuffles"] == 1  # epoch 2
    assert len(json.dumps(checkpoint)) < 4000  # no 8 KB generator state, no indentation
    everything = tmp_path / "all"
    run_prompt(everything, steps=STEPS, keep_checkpoints=None)
    assert RunDir(everything).checkpoint_steps() == [0, 1, 2, 3, 4]
    assert [c["step"] for c in iter_checkpoints(everything)] == [0, 1, 2, 3, 4]


def test_resume_replays_the_shuffle_from_the_seed(reference: Path, tmp_path: Path) -> None:
    """Step 4 is the first of the second epoch (3 steps per epoch): resuming from step 3 must
    draw the second epoch's order as the uninterrupted run did."""
    run_dir = tmp_path / "run"
    crashed_in_step_4(run_dir)
    run_prompt(run_dir, steps=STEPS)
    indices = [e.indices for e in read_log(run_dir).events if e.type == "forward"]  # type: ignore[attr-defined]
    expected = [e.indices for e in read_log(reference).events if e.type == "forward"]  # type: ignore[attr-defined]
    assert indices == expected


# --------------------------------------------------------------------------- the event log


def _cut_log(path: Path) -> None:
    _cut(path)


def _delete_log(path: Path) -> None:
    path.unlink()


def _garbage_line(path: Path) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = b"this line was overwritten by an editor\n"
    path.write_bytes(b"".join(lines))


def _nul_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[200:400] = b"\x00" * 200
    path.write_bytes(bytes(data))


def _edited_line(path: Path) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[2])
    record["note"] = "added by hand"
    lines[2] = (json.dumps(record) + "\n").encode()
    path.write_bytes(b"".join(lines))


def _inserted_line(path: Path) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(4, b"a note typed into the log\n")
    path.write_bytes(b"".join(lines))


LOG_DAMAGE: dict[str, Callable[[Path], None]] = {
    "cut in half": _cut_log,
    "deleted": _delete_log,
    "garbage line": _garbage_line,
    "NUL bytes": _nul_bytes,
    "line edited": _edited_line,
    "line inserted": _inserted_line,
}
LOSES_EVENTS = {"cut in half", "deleted", "garbage line", "NUL bytes"}


@pytest.mark.parametrize("damage", LOG_DAMAGE, ids=list(LOG_DAMAGE))
def test_a_damaged_log_is_rebuilt_from_what_the_checkpoint_covers_never_padded(
    damage: str, reference: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_dir = tmp_path / "run"
    crashed_in_step_4(run_dir)
    log = run_dir / "events.jsonl"
    before = read_log(run_dir).events
    LOG_DAMAGE[damage](log)

    with caplog.at_level(logging.WARNING):
        run_prompt(run_dir, steps=STEPS)

    (message,) = warnings_of(caplog)
    assert str(log) in message and "rebuilt" in message
    assert b"\x00" not in log.read_bytes()
    assert_same_end(run_dir, reference)
    events = read_log(run_dir).events
    repairs = [e for e in events if isinstance(e, Repair)]
    assert len(repairs) == 1
    assert (repairs[0].lost_events > 0) == (damage in LOSES_EVENTS)
    # what survived is what was there, in order, each line once; step 4 was redone once
    kept = [e.seq for e in events if e.seq is not None]
    assert kept == sorted(set(kept))
    committed = {e.seq: e for e in before if e.seq is not None}
    for event in events:
        if event.seq in committed and event.type != "run_start" and damage != "line edited":
            assert vars(committed[event.seq]) == vars(event)
    assert [e.step for e in events if e.type == "step"][-1:] == [4]
    if damage != "deleted":
        assert list(run_dir.glob("events.jsonl.damaged-*"))
    assert "About the log" in build_report(run_dir)


def test_the_report_skips_unreadable_lines_and_says_so(
    reference: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(reference, run_dir)
    log = run_dir / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    lines.insert(5, b"{not json\n")
    lines.insert(9, b"\x00" * 50 + b"\n")
    log.write_bytes(b"".join(lines))
    with caplog.at_level(logging.WARNING):
        page = build_report(run_dir)
    assert "2 lines of events.jsonl could not be read and were skipped: 6 (not JSON), 10" in page
    assert any("could not be read" in m for m in warnings_of(caplog))
    assert page.count('class="step ') == STEPS  # the rest of the log is all there


# --------------------------------------------------------------------------- results, config


@pytest.mark.parametrize("damage", ["deleted", "cut short"])
def test_results_lost_after_the_log_was_synced_are_written_again_from_it(
    damage: str, reference: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(reference, run_dir)
    results = run_dir / "results.json"
    if damage == "deleted":
        results.unlink()
    else:
        _cut(results)
    calls = ledger_calls(run_dir)
    engine = tg.ScriptedEngine(CrashingScript(), model_string="scripted-train")
    with caplog.at_level(logging.WARNING):
        again = run_prompt(run_dir, steps=STEPS, engine=engine)
    assert engine.requests == []  # nothing was redone
    assert ledger_calls(run_dir) == calls
    assert {k: v for k, v in again.items() if k != "run_dir"} == {
        k: v
        for k, v in json.loads((reference / "results.json").read_text()).items()
        if k != "run_dir"
    }
    assert any("written again from the log" in m for m in warnings_of(caplog))


def test_a_lost_config_is_written_again_when_the_checkpoints_match_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Run(tmp_path, kind="prompt", config={"seed": 1}) as run:
        run.commit(0, {})
    (tmp_path / "config.json").write_text("{garbage")
    with caplog.at_level(logging.WARNING), Run(tmp_path, kind="prompt", config={"seed": 1}) as run:
        assert run.last_step == 0
    assert json.loads((tmp_path / "config.json").read_text()) == {"seed": 1}
    assert any("config.json cannot be read" in m for m in warnings_of(caplog))
    (tmp_path / "config.json").unlink()
    with (
        pytest.raises(RunConfigError, match=r"config\.json is missing and the checkpoints"),
        Run(tmp_path, kind="prompt", config={"seed": 2}),
    ):
        pass


def test_a_run_that_never_saved_a_step_does_not_block_other_settings(tmp_path: Path) -> None:
    """A typo (e.g. in a task name) fails before step 0: the next try is not refused."""
    with pytest.raises(ValueError, match="typo"), Run(tmp_path, kind="prompt", config={"t": "x"}):
        raise ValueError("typo")
    with Run(tmp_path, kind="prompt", config={"t": "y"}) as run:
        assert run.checkpoint is None
    assert json.loads((tmp_path / "config.json").read_text()) == {"t": "y"}


# --------------------------------------------------------------------------- lock, usage, disk


def test_a_second_run_on_the_same_directory_is_refused_naming_the_first(tmp_path: Path) -> None:
    with Run(tmp_path, kind="prompt", config={}) as first:
        first.commit(0, {})
        with pytest.raises(RunLockedError, match=f"in use by process {os.getpid()}") as refused:
            Run(tmp_path, kind="prompt", config={}).__enter__()
        assert refused.value.pid == os.getpid()
    with Run(tmp_path, kind="prompt", config={}) as again:  # free once the first has ended
        assert again.last_step == 0


def test_calls_of_a_step_cut_short_are_counted(reference: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    crashing = tg.ScriptedEngine(CrashingScript(at=4), model_string="scripted-train")
    with pytest.raises(Exception, match="crash in optimizer call 4"):
        run_prompt(run_dir, steps=STEPS, engine=crashing)
    resuming = tg.ScriptedEngine(CrashingScript(), model_string="scripted-train")
    results = run_prompt(run_dir, steps=STEPS, engine=resuming)

    answered = len(crashing.requests) - 1 + len(resuming.requests)  # the crashing call failed
    assert results["usage"]["calls"] == answered == ledger_calls(run_dir)
    reference_calls = json.loads((reference / "results.json").read_text())["usage"]["calls"]
    assert answered > reference_calls  # step 4 was paid for twice, and both are on record


def test_a_budget_counts_calls_the_crashed_process_made(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    crashed_in_step_4(run_dir)
    checkpoint = RunDir(run_dir).latest_checkpoint()
    assert checkpoint is not None
    with Run(
        run_dir, kind="prompt", config=json.loads((run_dir / "config.json").read_text())
    ) as run:
        assert run.usage["calls"] > checkpoint["usage"]["calls"]
        assert run.usage["calls"] == ledger_calls(run_dir)


def test_a_garbage_line_in_the_usage_ledger_is_named_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_dir = tmp_path / "run"
    crashed_in_step_4(run_dir)
    with open(run_dir / "usage.jsonl", "ab") as ledger:
        ledger.write(b"garbage\n")
    config = json.loads((run_dir / "config.json").read_text())
    with caplog.at_level(logging.WARNING), Run(run_dir, kind="prompt", config=config) as run:
        counted = run.usage["calls"]
    assert any("1 unreadable line(s)" in m for m in warnings_of(caplog))
    with Run(run_dir, kind="prompt", config=config) as run:  # folded into the checkpoint
        assert run.usage["calls"] == counted


@pytest.mark.parametrize(
    ("error_number", "says"),
    [(errno.ENOSPC, "free some space"), (errno.EROFS, "give a writable --run-dir")],
)
def test_a_full_or_read_only_disk_is_one_line_and_the_resume_is_identical(
    error_number: int,
    says: str,
    reference: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_dir = tmp_path / "run"
    real_fsync = os.fsync
    checkpoints = str(run_dir / "checkpoints")

    def refusing_fsync(descriptor: int) -> None:
        if os.readlink(f"/proc/self/fd/{descriptor}").startswith(checkpoints + "/.step-0002"):
            raise OSError(error_number, os.strerror(error_number))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", refusing_fsync)
    with pytest.raises(RunStorageError) as refused:
        run_prompt(run_dir, steps=STEPS)
    message = str(refused.value)
    assert "step-0002.json" in message and says in message and "\n" not in message
    assert not list((run_dir / "checkpoints").glob(".step-*"))  # no temporary file left
    monkeypatch.setattr(os, "fsync", real_fsync)

    run_prompt(run_dir, steps=STEPS)
    assert_same_end(run_dir, reference)
    assert comparable_events(run_dir) == comparable_events(reference)


def test_max_tokens_holds_across_a_crash(tmp_path: Path) -> None:
    """The calls the crashed process made count against the budget of the next one."""
    run_dir = tmp_path / "run"
    crashed_in_step_4(run_dir)
    checkpoint = RunDir(run_dir).latest_checkpoint()
    assert checkpoint is not None
    saved = checkpoint["usage"]["total_tokens"]
    average = (saved - checkpoint["usage_before_steps"]["total_tokens"]) / 3
    ledger = (run_dir / "usage.jsonl").read_bytes()[checkpoint["usage_offset"] :]
    cut_short = sum(
        entry["prompt_tokens"] + entry["completion_tokens"]
        for entry in map(json.loads, ledger.splitlines())
    )
    assert cut_short > 0  # step 4 had made calls before it crashed
    # enough for step 4 by the checkpoint's count, not with the calls of the crashed step
    limit = int(saved + average + cut_short / 2)
    engine = tg.ScriptedEngine(CrashingScript(), model_string="scripted-train")
    with pytest.raises(RunStopped, match="tokens budget") as stopped:
        run_prompt(run_dir, steps=STEPS, engine=engine, budget=Budget(max_tokens=limit))
    assert stopped.value.status == "budget"
    assert engine.requests == []  # refused before sending anything


def test_a_full_disk_while_recording_a_call_leaves_no_half_line_in_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wordgrad.llm import Response, Usage
    from wordgrad.train import runs
    from wordgrad.train.runs import RunStorageError, UsageLedger, read_ledger_tail

    path = tmp_path / "usage.jsonl"
    ledger = UsageLedger(path)
    reply = Response(("ok",), Usage(10, 2), model="m")
    ledger.record("scripted/m", "forward", reply)
    whole = path.stat().st_size

    def half_then_full(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runs, "write_all", half_then_full)
    with pytest.raises(RunStorageError, match="no space left"):
        ledger.record("scripted/m", "forward", reply)
    monkeypatch.undo()
    assert path.stat().st_size == whole  # the half line was cut off
    ledger.record("scripted/m", "backward", reply)
    ledger.close()
    entries, problem = read_ledger_tail(path, 0)
    assert problem is None and [e["purpose"] for e in entries] == ["forward", "backward"]
