"""Prompt optimization on one's own data in Python, and what every run now does: a request log,
a budget checked before each call, a projection, a pre-flight call, and a result that loads."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest

import wordgrad as tg
from wordgrad import calls
from wordgrad.engine.scripted import ScriptedEngine
from wordgrad.errors import ConfigurationError
from wordgrad.llm import Request
from wordgrad.tasks.objectives import Example
from wordgrad.tasks.user import make_task
from wordgrad.train import PromptOptimizationConfig, optimize_prompt
from wordgrad.train.events import Evaluation, Forward, RunEnd, read_events
from wordgrad.train.loop import PreflightError
from wordgrad.train.requests import read_requests
from wordgrad.train.results import load_result
from wordgrad.train.runs import Budget, RunStopped

from ..tasks.sums import IMPROVED, RECORDS, script


def ends_with_answer(prediction: str, example: Example) -> tuple[float, str]:
    """Checks that the reply ends with 'Answer: <the sum>'."""
    if prediction.strip().endswith(f"Answer: {example.target}"):
        return 1.0, ""
    return 0.0, f"the last line must be 'Answer: {example.target}'"


def run(tmp_path: Path, engine: ScriptedEngine | None = None, **options: object) -> dict:  # type: ignore[type-arg]
    engine = engine or ScriptedEngine(script, model_string="scripted-sums")
    task = make_task(RECORDS[:2], RECORDS[2:], RECORDS, metric=ends_with_answer, prompt="Add them.")
    config = PromptOptimizationConfig(model="scripted-sums", batch_size=2, steps=1)
    return optimize_prompt(
        config,
        tmp_path,
        task=task,
        forward_engine=engine,
        backward_engine=engine,
        **options,  # type: ignore[arg-type]
    )


def test_own_records_with_a_function_metric_end_to_end(tmp_path: Path) -> None:
    engine = ScriptedEngine(script, model_string="scripted-sums")
    results = run(tmp_path, engine)
    assert results["final_prompt"] == IMPROVED
    assert (
        results["val"]["before"]["accuracy"] == 0.0 and results["val"]["after"]["accuracy"] == 1.0
    )
    # the metric's feedback reached the feedback writer
    gradients = [r.prompt for r in engine.requests_for("backward")]
    assert any("the last line must be 'Answer: 42'" in g for g in gradients)
    # minibatch rows carry input, target and prediction
    forward = next(e for e in read_events(tmp_path) if isinstance(e, Forward))
    assert forward.extra["inputs"][0].startswith("What is") and forward.extra["targets"]
    evaluations = [e for e in read_events(tmp_path) if isinstance(e, Evaluation)]
    assert evaluations[0].extra["predictions"][0].startswith("It is")
    # the result loads back in one call, as variables or as a model
    result = load_result(tmp_path)
    assert result.values == {"system_prompt": IMPROVED} and result.kind == "prompt"
    assert result.variables["system_prompt"].requires_grad
    reply = result.model(engine)(
        tg.Variable("What is 2 + 2?", requires_grad=False, role_description="q")
    )
    assert reply.value == "Answer: 4"


def test_every_request_is_logged_with_secrets_redacted(tmp_path: Path) -> None:
    def leaky(request: Request) -> str:
        reply = script(request)
        return reply if "IMPROVED" in reply else reply + " (key sk-abcdefghijklmnop1234)"

    engine = ScriptedEngine(leaky, model_string="scripted-sums")
    results = run(tmp_path, engine)
    logged = read_requests(tmp_path)
    assert len(logged) == len(engine.requests) == results["usage"]["calls"]
    text = (tmp_path / "requests.jsonl").read_text()
    assert "sk-abcdefghijklmnop1234" not in text and "[REDACTED]" in text
    first = logged[0]
    assert first["purpose"] == "evaluation" and first["model"] == "scripted-sums"
    assert first["messages"][0] == {"role": "system", "content": "Add them."}
    assert {"prompt_tokens", "completion_tokens", "latency_s", "role"} <= set(first)
    assert {r["purpose"] for r in logged} == {"evaluation", "forward", "backward", "optimizer"}
    assert calls.last_calls(1)[0].purpose in ("evaluation", "optimizer")
    shown = calls.inspect_history(2, file=io.StringIO())
    assert shown.count("--- reply") == 2


def test_the_budget_is_checked_before_every_call_the_first_evaluation_included(
    tmp_path: Path,
) -> None:
    engine = ScriptedEngine(script, model_string="gpt-4o")  # priced: $2.50 per million prompt
    with pytest.raises(RunStopped, match="would exceed the budget") as stopped:
        run(tmp_path, engine, budget=Budget(max_cost=0.00001))
    assert stopped.value.status == "budget"
    assert "Raise the budget (--max-cost / --max-tokens)" in str(stopped.value)
    assert engine.requests == []  # refused before the first evaluation's first call was sent
    assert [e.status for e in read_events(tmp_path) if isinstance(e, RunEnd)] == ["budget"]
    # with room for a few calls only, it stops in the middle of the first evaluation
    counted = ScriptedEngine(script, model_string="gpt-4o")
    with pytest.raises(RunStopped):
        run(tmp_path / "few", counted, budget=Budget(max_tokens=60), max_concurrency=1)
    logged = read_requests(tmp_path / "few")
    assert 0 < len(counted.requests) == len(logged) < 10  # a full run sends 22 calls
    spent = 0
    for record in logged:  # each call was sent only when its prompt still fit the budget
        assert spent + record["prompt_tokens"] <= 60
        spent += record["prompt_tokens"] + record["completion_tokens"]


def test_a_cost_budget_with_a_model_of_unknown_price_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wordgrad.engine import usage

    monkeypatch.setattr(usage, "PRICES", dict(usage.PRICES))  # set_price below stays here

    class Paid(ScriptedEngine):
        provider = "openai"  # a paid provider: its models need a price

    engine = Paid(script, model_string="brand-new-model-9")
    with pytest.raises(
        ConfigurationError,
        match=r"no price in wordgrad's table .*--price brand-new-model-9=INPUT,OUTPUT",
    ):
        run(tmp_path, engine, budget=Budget(max_cost=1.0))
    assert engine.requests == []
    tg.engine.set_price("brand-new-model-9", 1.0, 2.0)
    results = run(tmp_path / "priced", engine, budget=Budget(max_cost=1.0))
    assert results["usage"]["cost_usd"] > 0


def test_projection_is_reported_and_a_refused_confirmation_spends_nothing(tmp_path: Path) -> None:
    messages: list[str] = []

    class Collect:
        def message(self, text: str) -> None:
            messages.append(text)

        def task(self, description: str, total: int):  # type: ignore[no-untyped-def]
            from contextlib import nullcontext

            return nullcontext(lambda: None)

    engine = ScriptedEngine(script, model_string="gpt-4o")
    asked: list[str] = []
    with pytest.raises(RunStopped, match="not confirmed"):
        run(
            tmp_path,
            engine,
            reporter=Collect(),
            confirm=lambda q: asked.append(q) or False,
            confirm_above=0.0,
        )
    assert engine.requests == [] and "projected" in asked[0]
    projection = next(m for m in messages if m.startswith("projected"))
    projected = {
        purpose: int(count)
        for purpose, count in re.findall(r"^\s+(\w+)\s+(\d+) calls", projection, flags=re.M)
    }
    assert "cost: about $" in projection
    # the projected calls are the calls a run of these settings makes
    done = run(tmp_path / "done")
    actual = {purpose: row["calls"] for purpose, row in done["usage"]["by_purpose"].items()}
    assert projected == {**actual, "total": done["usage"]["calls"]}


def test_preflight_sends_one_call_per_engine_and_stops_a_broken_one(tmp_path: Path) -> None:
    from wordgrad.errors import InvalidRequestError

    def unknown_model(request: Request) -> str:
        raise InvalidRequestError("model 'nope' not found", status=404)

    good = ScriptedEngine(script, model_string="scripted-sums")
    bad = ScriptedEngine(unknown_model, model_string="nope")
    config = PromptOptimizationConfig(
        model="scripted-sums", backward_model="nope", steps=1, batch_size=2
    )
    task = make_task(RECORDS[:2], RECORDS[2:], metric="numeric", prompt="Add them.")
    with pytest.raises(PreflightError, match="'scripted/nope' failed its pre-flight call"):
        optimize_prompt(
            config, tmp_path, task=task, forward_engine=good, backward_engine=bad, preflight=True
        )
    assert len(good.requests) == 1 and len(bad.requests) == 1  # nothing else was sent
    assert read_requests(tmp_path)[0]["role"] == "pre-flight"


def test_sends_are_logged_at_debug(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="wordgrad.calls"):
        run(tmp_path)
    sent = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sending")]
    assert sent and "Add them." in sent[0]


def test_result_files_refuse_runs_that_did_not_finish(tmp_path: Path) -> None:
    from wordgrad.errors import DataError

    with pytest.raises(DataError, match="has not completed"):
        load_result(tmp_path)
    (tmp_path / "result.json").write_text(json.dumps({"nothing": 1}))
    with pytest.raises(DataError, match="not a wordgrad result file"):
        load_result(tmp_path)


class TwoVariables(tg.autograd.Module):
    """A program of one's own: two trainable texts joined into the system prompt, a model call,
    then plain Python on the reply."""

    def __init__(self, engine: ScriptedEngine) -> None:
        self.engine = engine
        self.instruction = tg.Variable(
            "Add them.", requires_grad=True, role_description="instruction to the adder"
        )
        self.format = tg.Variable(
            "Be brief.", requires_grad=True, role_description="rule for the reply's format"
        )

    def parameters(self) -> list[tg.Variable]:
        return [self.instruction, self.format]

    def forward(self, x: tg.Variable) -> tg.Variable:
        system = self.instruction + self.format
        reply = tg.autograd.LLMCall(self.engine, system)(x)
        tidy = tg.autograd.StringBasedFunction(
            lambda reply: reply.value.strip(), "strips spaces around the reply"
        )
        return tidy(inputs={"reply": reply})


def test_a_program_with_two_variables_and_python_between_calls(tmp_path: Path) -> None:
    engine = ScriptedEngine(script, model_string="scripted-sums")
    program = TwoVariables(engine)
    task = make_task(RECORDS[:2], RECORDS[2:], metric=ends_with_answer)
    config = PromptOptimizationConfig(model="scripted-sums", batch_size=2, steps=1)
    results = optimize_prompt(
        config,
        tmp_path,
        task=task,
        program=program,
        forward_engine=engine,
        backward_engine=engine,
    )
    assert results["val"]["after"]["accuracy"] == 1.0
    assert results["final_values"] == {
        "instruction to the adder": IMPROVED,
        "rule for the reply's format": IMPROVED,
    }
    steps = [e for e in read_events(tmp_path) if e.type == "step"]
    assert sorted(s.parameter for s in steps) == [
        "instruction to the adder",
        "rule for the reply's format",
    ]  # type: ignore[attr-defined]
    assert load_result(tmp_path).values["rule for the reply's format"] == IMPROVED
    config_saved = json.loads((tmp_path / "config.json").read_text())
    assert config_saved["program"].endswith(":TwoVariables")
    no_variables = TwoVariables(engine)
    no_variables.instruction.requires_grad = False
    no_variables.format.requires_grad = False
    with pytest.raises(ConfigurationError, match="lists no trainable Variable"):
        optimize_prompt(config, tmp_path / "x", task=task, program=no_variables)
