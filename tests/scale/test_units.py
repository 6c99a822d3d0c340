"""Offline parts of the scale-out code: the journal, usage merging, forwarded environment, flags."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import wordgrad as tg
from wordgrad.cli import _optional_values
from wordgrad.distributed import Journal, RayBackend, forwarded_environment
from wordgrad.engine.usage import record_meter
from wordgrad.errors import InvalidInputError


def test_the_journal_survives_a_torn_last_line_and_keeps_later_records(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "done.jsonl")
    journal.add("0", {"score": 1.0})
    with open(journal.path, "a") as file:
        file.write('{"key": "1", "resu')  # a crash in the middle of a write
    assert journal.read() == {"0": {"score": 1.0}}
    journal.add("2", [1, 2])
    assert journal.read() == {"0": {"score": 1.0}, "2": [1, 2]}
    with pytest.raises(InvalidInputError, match="JSON"):
        journal.add("3", object())


def test_a_meter_from_another_process_adds_to_the_active_meters() -> None:
    engine = tg.ScriptedEngine(["one two three", "four"], model_string="gpt-4o-mini")
    with tg.track() as worker:
        tg.BlackboxLLM(engine)(tg.Variable("q", role_description="question")).get_value()
        tg.BlackboxLLM(engine)(tg.Variable("r", role_description="question")).get_value()
    travelled = pickle.loads(pickle.dumps(worker))  # as a Ray task returns it
    with tg.track() as driver:
        record_meter(travelled)
        record_meter(travelled)
    assert driver.calls == 2 * worker.calls == 4
    assert driver.total_tokens == 2 * worker.total_tokens > 0
    assert driver.cost_usd == pytest.approx(2 * worker.cost_usd)
    assert driver.cost_usd > 0
    assert driver.by_model["gpt-4o-mini"].calls == 4


def test_a_merged_meter_keeps_every_total_and_reaches_context_meters_too() -> None:
    from dataclasses import fields

    from wordgrad.engine.usage import UsageMeter, UsageTotals

    worker = UsageMeter()
    for number, field in enumerate(fields(UsageTotals), start=1):
        setattr(worker.total, field.name, type(getattr(worker.total, field.name))(number))
    with tg.track(scope="context") as run_meter, tg.track() as process_meter:
        record_meter(pickle.loads(pickle.dumps(worker)))
    for meter in (run_meter, process_meter):
        assert meter.total == worker.total  # every field, cached prompt tokens included


def test_keys_and_endpoints_are_forwarded_and_nothing_else() -> None:
    environ = {
        "OPENAI_API_KEY": "sk-x",
        "ANTHROPIC_API_KEY": "sk-y",
        "WORDGRAD_PLUGINS": "my.plugin",
        "OPENAI_BASE_URL": "http://127.0.0.1:1",
        "HOME": "/root",
        "PATH": "/usr/bin",
        "MY_SETTING": "1",
    }
    assert forwarded_environment(["MY_SETTING"], environ) == {
        "ANTHROPIC_API_KEY": "sk-y",
        "MY_SETTING": "1",
        "OPENAI_API_KEY": "sk-x",
        "OPENAI_BASE_URL": "http://127.0.0.1:1",
        "WORDGRAD_PLUGINS": "my.plugin",
    }


def test_bad_backend_settings_are_refused_with_the_fix() -> None:
    with pytest.raises(InvalidInputError, match="max_retries"):
        RayBackend(max_retries=-1)
    with pytest.raises(InvalidInputError, match="backend must be"):
        tg.map(str, [1], backend="dask")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="keys"):
        RayBackend().map(str, [1, 2], keys=["a", "a"])


def test_ray_and_mlflow_flags_take_an_optional_value() -> None:
    assert _optional_values(["optimize", "solution", "--ray", "--quiet"]) == [
        "optimize", "solution", "--ray", "local", "--quiet",
    ]  # fmt: skip
    assert _optional_values(["--mlflow"]) == ["--mlflow", "local"]
    assert _optional_values(["--ray", "10.0.0.5:6379", "--mlflow", "http://h:5000"]) == [
        "--ray", "10.0.0.5:6379", "--mlflow", "http://h:5000",
    ]  # fmt: skip


def test_a_loop_on_ray_refuses_engine_objects_which_would_carry_keys(tmp_path: Path) -> None:
    from wordgrad.errors import ConfigurationError
    from wordgrad.train.solution_optimization import (
        SolutionOptimization,
        SolutionOptimizationConfig,
    )

    engine = tg.ScriptedEngine(["A"])
    with pytest.raises(ConfigurationError, match="engine names"):
        SolutionOptimization(
            SolutionOptimizationConfig(), tmp_path, forward_engine=engine, ray=RayBackend()
        )


@pytest.mark.parametrize("command", ["solution", "code", "molecule", "plan"])
def test_every_instance_loop_command_takes_ray(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from wordgrad.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as ended:
        main(["optimize", command, "--help"])
    assert ended.value.code == 0
    assert "--ray" in capsys.readouterr().out
