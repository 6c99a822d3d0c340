"""Running generated code against tests in a subprocess."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from wordgrad.tasks.code import run_tests
from wordgrad.tasks.humaneval import HumanEval
from wordgrad.tasks.leetcode import run_leetcode_tests


@dataclass
class FakeVariable:
    value: str


def test_passing_and_failing_code() -> None:
    good = run_tests("def add(a, b):\n    return a + b", "assert add(2, 3) == 5")
    assert good.passed and not good.timed_out
    bad = run_tests(FakeVariable("def add(a, b):\n    return a - b"), "assert add(2, 3) == 5")
    assert not bad.passed and "AssertionError" in bad.output


def test_code_that_never_ends_is_stopped() -> None:
    run = run_tests("while True:\n    pass", "", timeout=0.5)
    assert run.timed_out and not run.passed


def test_code_cannot_touch_the_callers_process() -> None:
    run = run_tests("import sys\nsys.modules.clear()\nraise SystemExit(0)", "")
    assert run.passed
    assert "wordgrad" in sys.modules


def test_leetcode_prelude_provides_typing_names() -> None:
    code = "def total(xs: List[int]) -> int:\n    return sum(Counter(xs).values())"
    assert run_leetcode_tests(code, "assert total([1, 1, 2]) == 3").passed


def test_humaneval_tests_accept_the_canonical_style_completion() -> None:
    task_id, prompt, tests = HumanEval()[53]  # add(x, y)
    assert task_id == "HumanEval/53"
    assert run_tests(prompt + "    return x + y\n", tests).passed
    assert not run_tests(prompt + "    return x - y\n", tests).passed
