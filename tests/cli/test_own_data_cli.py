"""The command line on one's own data: optimize, eval, show, results kept, budgets, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wordgrad.train.events import RunEnd, read_events
from wordgrad.train.requests import read_requests
from wordgrad.train.results import load_result

from ..tasks.sums import IMPROVED, RECORDS

REPO = Path(__file__).resolve().parents[2]
PLUGIN = "tests.tasks.sums_plugin"


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORDGRAD_TEST_")}
    env.update(
        PYTHONPATH=str(
            REPO
        ),  # for the plugin; a metric module in the working directory is found too
        WORDGRAD_PLUGINS=PLUGIN,
        WORDGRAD_CACHE_DIR=str(tmp_path / "cache"),
        WORDGRAD_OFFLINE="1",
    )
    env.update(extra)
    return env


def wordgrad(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "wordgrad"), *args],  # the installed command
        cwd=tmp_path,
        env=environment(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in RECORDS[:2]) + "\n")
    (tmp_path / "val.jsonl").write_text("\n".join(json.dumps(r) for r in RECORDS[2:]) + "\n")
    return tmp_path


OWN = ("--train", "train.jsonl", "--val", "val.jsonl", "--input-field", "question")
OWN += ("--target-field", "answer", "--model", "scripted-sums")


def test_optimize_eval_and_show_on_own_files(data: Path) -> None:
    done = wordgrad(
        data,
        "optimize",
        "prompt",
        *OWN,
        "--metric",
        "exact",
        "--prompt",
        "Add them.",
        "--steps",
        "1",
        "--batch-size",
        "2",
        "--run-dir",
        "run",
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    assert f"--- final system_prompt:\n{IMPROVED}" in done.stdout  # the final value is printed
    assert "validation accuracy before: 0.000" in done.stdout
    assert "validation accuracy after:  1.000" in done.stdout
    assert load_result(data / "run").values["system_prompt"] == IMPROVED
    requests = read_requests(data / "run")
    assert requests[0]["role"] == "pre-flight"  # one pre-flight call, before anything else

    before = wordgrad(data, "eval", *OWN, "--metric", "exact", "--prompt", "Add them.")
    assert before.returncode == 0, before.stderr
    assert "val accuracy: 0.000" in before.stdout
    after = wordgrad(data, "eval", "--run-dir", "run", "--model", "scripted-sums")
    assert after.returncode == 0, after.stderr
    assert "val accuracy: 1.000" in after.stdout
    numeric = wordgrad(data, "eval", *OWN, "--metric", "numeric", "--prompt", "Add them.")
    assert "val accuracy: 1.000" in numeric.stdout  # the number was right all along

    shown = wordgrad(data, "show", "run")
    assert shown.returncode == 0, shown.stderr
    assert "status: completed" in shown.stdout and IMPROVED in shown.stdout
    assert "answers (training)" in shown.stdout and "pre-flight and other" in shown.stdout
    as_json = json.loads(wordgrad(data, "show", "run", "--json").stdout)
    assert as_json["final_prompt"] == IMPROVED


def test_a_function_metric_and_a_registered_task_work_from_the_command_line(data: Path) -> None:
    (data / "my_metric.py").write_text(
        "def ends_right(prediction, example):\n"
        "    if prediction.strip().endswith('Answer: ' + example.target):\n"
        "        return 1.0\n"
        "    return 0.0, 'the last line must be Answer: ' + example.target\n"
    )
    done = wordgrad(
        data,
        "optimize",
        "prompt",
        *OWN,
        "--metric",
        "my_metric:ends_right",
        "--prompt",
        "Add.",
        "--steps",
        "1",
        "--batch-size",
        "2",
        "--run-dir",
        "run",
        "--quiet",
        PYTHONPATH=f"{REPO}:{data}",
    )
    assert done.returncode == 0, done.stderr
    assert IMPROVED in done.stdout
    listed = wordgrad(data, "tasks")
    assert "sums" in listed.stdout and "eval, optimize prompt" in listed.stdout
    registered = wordgrad(
        data,
        "optimize",
        "prompt",
        "--task",
        "sums",
        "--model",
        "scripted-sums",
        "--steps",
        "1",
        "--batch-size",
        "2",
        "--run-dir",
        "reg",
        "--quiet",
    )
    assert registered.returncode == 0, registered.stderr
    evaluated = wordgrad(
        data, "eval", "--task", "sums", "--model", "scripted-sums", "--split", "test"
    )
    assert "sums test accuracy: 1.000" in evaluated.stdout, evaluated.stderr


def test_wrong_fields_and_tasks_give_clear_usage_errors(data: Path) -> None:
    wrong = wordgrad(data, "eval", "--val", "val.jsonl", "--input-field", "q", "--prompt", "x")
    assert wrong.returncode == 1 and "has no field 'q'" in wrong.stderr
    code_task = wordgrad(data, "optimize", "solution", "--task", "HumanEval")
    assert (
        code_task.returncode == 2
        and "does not work with `wordgrad optimize solution`" in code_task.stderr
    )
    unknown = wordgrad(data, "optimize", "prompt", "--task", "nope")
    assert unknown.returncode == 2 and "unknown task 'nope'" in unknown.stderr


def test_budget_stop_says_how_to_continue_and_a_higher_budget_does(data: Path) -> None:
    args = (
        "optimize",
        "prompt",
        *OWN,
        "--prompt",
        "Add them.",
        "--steps",
        "1",
        "--batch-size",
        "2",
    )
    args += ("--run-dir", "run", "--quiet")
    stopped = wordgrad(data, *args, "--max-tokens", "40")
    assert stopped.returncode == 3, stopped.stderr
    assert "Raise the budget (--max-cost / --max-tokens)" in stopped.stderr
    resumed = wordgrad(data, *args, "--max-tokens", "100000")
    assert resumed.returncode == 0, resumed.stderr
    unknown = wordgrad(
        data,
        "optimize",
        "prompt",
        *OWN[:-2],
        "--model",
        "openai/new-model-x",
        "--prompt",
        "x",
        "--max-cost",
        "1",
        "--run-dir",
        "other",
        "--quiet",
        OPENAI_BASE_URL="http://127.0.0.1:9/v1",  # never reached: refused before any call
        OPENAI_API_KEY="sk-unused-in-this-test",
    )
    assert unknown.returncode == 1 and "--price new-model-x=INPUT,OUTPUT" in unknown.stderr


@pytest.mark.parametrize("where", ["answer", "feedback", "update"])
def test_ctrl_c_always_prints_its_message_and_logs_the_end(data: Path, where: str) -> None:
    marker = data / "marker"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wordgrad.cli",
            "optimize",
            "prompt",
            *OWN,
            "--prompt",
            "Add.",
            "--steps",
            "1",
            "--batch-size",
            "2",
            "--run-dir",
            "run",
            "--quiet",
        ],
        cwd=data,
        env=environment(data, WORDGRAD_TEST_HANG_IN=where, WORDGRAD_TEST_MARKER=str(marker)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # a second Ctrl-C must not cut the clean stop short
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted (Ctrl-C)" in err and "Run the same command again" in err
    ends = [e for e in read_events(data / "run") if isinstance(e, RunEnd)]
    assert [e.status for e in ends] == ["interrupted"]
