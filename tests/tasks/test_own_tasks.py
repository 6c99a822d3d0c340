"""One's own data: files and records, field names, metrics, and tasks registered by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import wordgrad as tg
from wordgrad.errors import ConfigurationError, DataError, InvalidInputError
from wordgrad.tasks.objectives import (
    ExactMatch,
    Example,
    FunctionMetric,
    LLMJudge,
    MultipleChoice,
    NumericMatch,
    RegexMatch,
    make_metric,
    parse_verdict,
)
from wordgrad.tasks.score import Score
from wordgrad.tasks.user import (
    examples_from,
    get_registered_task,
    make_task,
    read_records,
    register_task,
    registered_tasks,
)


def ex(target: str, **record: object) -> Example:
    return Example("input", target, record)


def test_exact_numeric_choice_and_regex_metrics() -> None:
    assert ExactMatch()("Thinking...\nAnswer: Paris.", ex("paris")).value == 1.0
    wrong = ExactMatch()("Answer: Lyon", ex("Paris"))
    assert wrong.value == 0.0 and "'Lyon' is not 'Paris'" in wrong.feedback
    assert NumericMatch()("so the total is $1,250.", ex("1250")).value == 1.0
    assert NumericMatch()("Answer: 0.1", ex("0.10000000001")).value == 1.0
    assert NumericMatch()("Answer: 12", ex("13")).feedback == "the answer 12 is not 13"
    assert NumericMatch()("no idea", ex("3")).value == 0.0
    assert MultipleChoice()("Answer: (C)", ex("C")).value == 1.0
    assert MultipleChoice()("Answer: B", ex("(C)")).feedback == "the prediction picks B, not C"
    assert RegexMatch(r"^\d{3}-\d{4}$")("call 555-1234", ex("")).value == 0.0
    assert RegexMatch(r"\d{3}-\d{4}")("call 555-1234", ex("")).value == 1.0
    grouped = RegexMatch(r"ID: (\w+)")
    assert grouped("ID: abc then ID: XYZ", ex("xyz")).value == 1.0  # the last match, any case
    assert "captured 'abc'" in grouped("ID: abc", ex("xyz")).feedback


def test_metrics_refuse_targets_they_cannot_read() -> None:
    with pytest.raises(ConfigurationError, match="no number in the target"):
        NumericMatch()("Answer: 3", ex("three"))
    with pytest.raises(ConfigurationError, match="no option letter"):
        MultipleChoice()("Answer: A", ex("the first one"))
    with pytest.raises(ConfigurationError, match="bad --pattern"):
        RegexMatch("(unclosed")


def test_make_metric_by_name_function_and_module_path() -> None:
    assert isinstance(make_metric("exact"), ExactMatch)
    assert isinstance(make_metric("judge", rubric="Be brief."), LLMJudge)
    with pytest.raises(ConfigurationError, match="needs --pattern"):
        make_metric("regex")
    with pytest.raises(ConfigurationError, match="unknown metric 'exakt'"):
        make_metric("exakt")
    by_path = make_metric("tests.tasks.test_own_tasks:level_metric")
    assert isinstance(by_path, FunctionMetric)
    assert by_path("x", ex("y", level="hard")) == Score(0.5, "hard example")
    with pytest.raises(ConfigurationError, match="has no function 'nope'"):
        make_metric("tests.tasks.test_own_tasks:nope")
    with pytest.raises(ConfigurationError, match="cannot import 'no_such_module_x'"):
        make_metric("no_such_module_x:f")
    bad = make_metric(lambda prediction, example: "fine")
    with pytest.raises(InvalidInputError, match="returned str"):
        bad("x", ex("y"))


def level_metric(prediction: str, example: Example) -> tuple[float, str]:
    """Scores by the record's level field."""
    return (0.5, "hard example") if example.record.get("level") == "hard" else (1.0, "")


def test_a_function_metric_verdict_carries_its_feedback_into_the_graph() -> None:
    metric = make_metric(level_metric)
    question = tg.Variable("q", requires_grad=False, role_description="question")
    answer = tg.Variable("a", requires_grad=False, role_description="answer")
    prediction = tg.Variable("p", requires_grad=True, role_description="prediction")
    verdict = metric.loss(question, answer, prediction, ex("a", level="hard"))
    assert verdict.text == "score: 0.5\nfeedback: hard example"
    assert metric.score_of(verdict) == 0.5
    assert parse_verdict("garbage") == 0.0
    assert metric.purpose == "Scores by the record's level field"


def test_files_in_three_formats_read_the_named_fields(tmp_path: Path) -> None:
    rows = [{"q": "2+2?", "a": 4, "extra": "x"}, {"q": "3+3?", "a": 6, "extra": "y"}]
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    as_json = tmp_path / "d.json"
    as_json.write_text(json.dumps(rows))
    as_csv = tmp_path / "d.csv"
    as_csv.write_text("q,a,extra\n2+2?,4,x\n3+3?,6,y\n")
    for path in (jsonl, as_json, as_csv):
        examples = examples_from(path, "q", "a")
        assert [(e.input, e.target) for e in examples] == [("2+2?", "4"), ("3+3?", "6")]
        assert examples[1].record["extra"] == "y"


def test_bad_files_and_missing_fields_say_where_and_how_to_fix(tmp_path: Path) -> None:
    broken = tmp_path / "b.jsonl"
    broken.write_text('{"q": 1}\n{"q": \n')
    with pytest.raises(DataError, match=r"b\.jsonl, line 2: not JSON"):
        read_records(broken)
    empty = tmp_path / "e.jsonl"
    empty.write_text("\n")
    with pytest.raises(DataError, match="holds no records"):
        read_records(empty)
    (tmp_path / "x.txt").write_text("a")
    with pytest.raises(DataError, match=r"use a \.jsonl, \.json or \.csv"):
        read_records(tmp_path / "x.txt")
    with pytest.raises(DataError, match="no data file"):
        read_records(tmp_path / "missing.jsonl")
    fine = tmp_path / "f.jsonl"
    fine.write_text('{"question": "q", "reply": "r"}\n')
    with pytest.raises(
        DataError,
        match=r"record 1 has no field 'answer'; its fields are \['question', 'reply'\]\. Name the fields with --input-field",
    ):
        examples_from(fine, "question", "answer")


def test_tasks_register_by_name_and_by_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    import wordgrad.tasks.user as user

    monkeypatch.setattr(user, "_registry", {})  # what this test registers stays in it
    records = [{"question": "q1", "answer": "a1"}, {"question": "q2", "answer": "a2"}]
    register_task("mine_for_test", lambda: make_task(records, records[:1], prompt="Do it."))
    task = get_registered_task("mine_for_test")
    assert task is not None and task.prompt == "Do it." and len(task.val) == 1
    assert "mine_for_test" in registered_tasks()
    assert get_registered_task("not_a_task") is None
    register_task("broken_for_test", lambda: "not a task")  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigurationError, match="returned str, not a Task"):
        get_registered_task("broken_for_test")

    from importlib import metadata

    point = metadata.EntryPoint(
        "from_entry_point", "tests.tasks.test_own_tasks:entry_task", user.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(user, "_entry_points", lambda: [point])
    monkeypatch.setattr(user, "_entry_points_loaded", False)
    found = get_registered_task("from_entry_point")
    assert found is not None and found.name == "from entry point"


def entry_task() -> object:
    return make_task([{"question": "q", "answer": "a"}], prompt="p", name="from entry point")
