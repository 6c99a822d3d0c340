"""Running generated code against tests: always in the sandbox, scored by the harness."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from wordgrad.errors import InvalidInputError
from wordgrad.tasks.code import extract_code, run_cases, run_tests, split_tests
from wordgrad.tasks.humaneval import HumanEval, humaneval_problems
from wordgrad.tasks.leetcode import leetcode_problems, run_leetcode_tests


@dataclass
class FakeVariable:
    value: str


def test_passing_and_failing_code_with_values() -> None:
    good = run_tests("def add(a, b):\n    return a + b", "assert add(2, 3) == 5")
    assert good.passed and good.stopped == "finished"
    bad = run_tests(FakeVariable("def add(a, b):\n    return a - b"), "assert add(2, 3) == 5")
    assert not bad.passed
    assert (bad.cases[0].expected, bad.cases[0].actual) == ("5", "-1")


def test_code_that_never_ends_is_stopped() -> None:
    run = run_tests("while True:\n    pass", "assert True", timeout=0.5)
    assert run.stopped in ("wall_clock", "cpu_time") and not run.passed


def test_exiting_early_does_not_pass_and_cannot_touch_the_caller() -> None:
    run = run_tests("import sys\nsys.modules.clear()\nraise SystemExit(0)", "assert True")
    assert not run.passed and run.stopped == "exited" and run.error_type == "SystemExit"
    assert "wordgrad" in sys.modules


def test_tests_split_into_setup_and_cases() -> None:
    setup, cases = split_tests(
        "X = 1\ndef check(f):\n    assert f() == X\n\ncheck(g)\nassert g() == 1"
    )
    assert setup == "X = 1\ndef check(f):\n    assert f() == X"
    assert [c.name for c in cases] == ["check(g)", "assert g() == 1"]
    assert cases[1].call == "g()" and cases[0].statement == "check(g)"
    with pytest.raises(InvalidInputError, match="not valid Python"):
        split_tests("assert (")


def test_leetcode_prelude_provides_typing_names() -> None:
    code = "def total(xs: List[int]) -> int:\n    return sum(Counter(xs).values())"
    assert run_leetcode_tests(code, "assert total([1, 1, 2]) == 3").passed


def test_humaneval_tests_accept_the_canonical_style_completion() -> None:
    task_id, prompt, tests = HumanEval()[53]  # add(x, y)
    assert task_id == "HumanEval/53"
    assert run_tests(prompt + "    return x + y\n", tests).passed
    assert not run_tests(prompt + "    return x - y\n", tests).passed


def test_humaneval_problems_have_docstring_examples_visible_and_check_hidden() -> None:
    problem = humaneval_problems(size=1)[0]
    assert [c.name for c in problem.visible] == [
        "has_close_elements([1.0, 2.0, 3.0], 0.5) == False",
        "has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3) == True",
    ]
    assert "def check(candidate)" in problem.hidden_setup
    assert "check" not in problem.visible_tests_text()
    assert run_cases(problem, problem.reference, hidden=True).passed
    assert run_cases(problem, problem.reference).passed


def test_leetcode_problems_have_visible_examples_only() -> None:
    problems = leetcode_problems()
    assert len(problems) == 39 and all(p.visible and not p.hidden for p in problems)
    assert problems[0].entry_point == "minimumTime"
    with pytest.raises(InvalidInputError, match="no hidden tests"):
        run_cases(problems[0], "def minimumTime(grid): return 7", hidden=True)


def test_code_is_taken_out_of_markdown_fences() -> None:
    reply = "Here it is:\n```python\ndef f():\n    return 1\n```\nThis works because..."
    assert extract_code(reply) == "def f():\n    return 1\n"
    assert extract_code("def f():\n    return 2\n") == "def f():\n    return 2\n"
    cut_short = "Sure:\n```python\ndef f():\n    return [1, 2,"
    assert extract_code(cut_short) == "def f():\n    return [1, 2,\n"


def test_solution_code_is_compiled_without_the_harness_future_imports() -> None:
    # annotations are evaluated as in plain Python: an undefined name in one is an error
    run = run_tests("def f(x: Undefined) -> int:\n    return 1", "assert f(1) == 1")
    assert not run.passed and run.error_type == "NameError"


def test_humaneval_prompt_imports_are_the_prelude() -> None:
    problem = humaneval_problems(size=1)[0]
    assert problem.prelude == "from typing import List"
    code = "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
    code += "    return any(abs(a - b) < threshold for i, a in enumerate(numbers)"
    code += " for b in numbers[i + 1:])\n"
    assert run_cases(problem, code, hidden=True).passed


MINIMUM_TIME = """
def minimumTime(grid: List[List[int]]) -> int:
    if grid[0][1] > 1 and grid[1][0] > 1:
        return -1
    rows, cols = len(grid), len(grid[0])
    best = [[math.inf] * cols for _ in range(rows)]
    best[0][0] = 0
    queue = [(0, 0, 0)]
    while queue:
        time, r, c = heapq.heappop(queue)
        if (r, c) == (rows - 1, cols - 1):
            return time
        if time > best[r][c]:
            continue
        for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if 0 <= nr < rows and 0 <= nc < cols:
                wait = max(0, grid[nr][nc] - time - 1)
                arrive = time + 1 + wait + (wait % 2)
                if arrive < best[nr][nc]:
                    best[nr][nc] = arrive
                    heapq.heappush(queue, (arrive, nr, nc))
    return -1
"""


def test_a_leetcode_hard_solution_runs_with_the_judges_imports_in_the_sandbox() -> None:
    problem = leetcode_problems(size=1)[0]
    assert problem.task_id == "minimum-time-to-visit-a-cell-in-a-grid"
    result = run_cases(problem, MINIMUM_TIME)  # uses List, math and heapq from the prelude
    assert result.passed and [c.actual for c in result.cases] == ["7", "-1"]
    wrong = run_cases(problem, MINIMUM_TIME.replace("(wait % 2)", "0"))
    assert not wrong.passed and wrong.failures[0].expected == "7"
