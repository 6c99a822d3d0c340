"""Coding problems and running model-written code against their tests, always in the sandbox.

A :class:`CodeProblem` holds what the model sees (the signature and docstring), the *visible*
tests an optimizer may run (HumanEval: the docstring's examples; LeetCode-Hard: the statement's
examples) and, where the benchmark has them, the *hidden* tests used only for scoring (HumanEval's
``check``). Every run goes through :mod:`wordgrad.sandbox`: a separate isolated process with
time, CPU, memory, process and output limits.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from wordgrad.errors import InvalidInputError
from wordgrad.sandbox import (
    Limits,
    Sandbox,
    SandboxResult,
    TestCase,
    cases_from_asserts,
    default_sandbox,
    describe_cases,
)

DEFAULT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class CodeProblem:
    """One coding problem.

    Args:
        task_id: the benchmark's id (``"HumanEval/0"``, a LeetCode slug).
        prompt: the signature with the problem statement as its docstring.
        entry_point: the name of the function under test.
        visible: tests the optimizer may run (may be empty when the statement gives none).
        hidden: tests used only for scoring (empty when the benchmark has none offline).
        hidden_setup: trusted code the hidden tests need (HumanEval's ``check`` definition).
        prelude: trusted imports run before the code.
        reference: a known correct solution, when the benchmark ships one.
    """

    task_id: str
    prompt: str
    entry_point: str
    visible: tuple[TestCase, ...]
    hidden: tuple[TestCase, ...] = ()
    hidden_setup: str = ""
    prelude: str = ""
    reference: str | None = None

    def visible_tests_text(self) -> str:
        """The visible tests as ``assert`` lines (what a prompt shows the model)."""
        return describe_cases(self.visible) or "(the statement gives no examples)"


def source_of(code: object) -> str:
    """The text of ``code``: a string, or a Variable's value."""
    value = getattr(code, "value", code)
    if not isinstance(value, str):
        raise InvalidInputError(f"code must be a string or a Variable, not {type(value).__name__}")
    return value


_FENCE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*?)```", re.DOTALL)
_OPEN_FENCE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*)\Z", re.DOTALL)


def extract_code(text: str) -> str:
    """The Python in a model's reply: the largest fenced block that parses, else the largest
    fenced block, else what follows a fence that was never closed (a reply cut short), else the
    whole text.

    Models often wrap code in Markdown fences and add prose around it; the sandbox needs only
    the code (and a block that does not parse is still run, so the error reaches the critic).
    """
    blocks = sorted(_FENCE.findall(text), key=len, reverse=True)
    for block in blocks:
        try:
            ast.parse(block)
        except SyntaxError:
            continue
        return str(block).strip("\n") + "\n"
    if blocks:
        return str(blocks[0]).strip("\n") + "\n"
    unclosed = _OPEN_FENCE.search(text)
    if unclosed:
        return unclosed.group(1).strip("\n") + "\n"
    return text


def run_cases(
    problem: CodeProblem,
    code: object,
    *,
    hidden: bool = False,
    sandbox: Sandbox | None = None,
    limits: Limits | None = None,
) -> SandboxResult:
    """Run a solution against the problem's visible tests (or hidden ones) in the sandbox.

    Raises:
        InvalidInputError: the problem has no tests of the kind asked for.
    """
    cases = problem.hidden if hidden else problem.visible
    if not cases:
        kind = "hidden" if hidden else "visible"
        raise InvalidInputError(f"{problem.task_id} has no {kind} tests to run")
    return (sandbox or default_sandbox()).run(
        extract_code(source_of(code)),
        cases,
        prelude=problem.prelude,
        setup=problem.hidden_setup if hidden else "",
        limits=limits,
    )


def split_tests(tests: str) -> tuple[str, list[TestCase]]:
    """Split a test script into set-up code and cases.

    ``assert`` statements and bare expressions (e.g. ``check(candidate)``) are cases;
    definitions, assignments and imports are set-up that runs before them.

    Raises:
        InvalidInputError: the tests are not valid Python.
    """
    try:
        tree = ast.parse(tests)
    except SyntaxError as error:
        raise InvalidInputError(f"the tests are not valid Python: {error}") from error
    setup: list[str] = []
    checks: list[str] = []
    for node in tree.body:
        text = ast.get_source_segment(tests, node) or ast.unparse(node)
        (checks if isinstance(node, (ast.Assert, ast.Expr)) else setup).append(text)
    return "\n".join(setup), cases_from_asserts("\n".join(checks))


def run_tests(
    code: object,
    tests: str,
    timeout: float = DEFAULT_TIMEOUT_S,
    prelude: str = "",
    *,
    sandbox: Sandbox | None = None,
) -> SandboxResult:
    """Run ``code`` (a string or Variable), then ``tests`` (asserts, or defs and a call).

    Each ``assert``/expression of ``tests`` is one case; the rest is set-up.
    """
    setup, cases = split_tests(tests)
    sandbox = sandbox or default_sandbox()
    limits = Limits(**{**vars(sandbox.limits), "wall_s": timeout, "cpu_s": max(1, int(timeout))})
    return sandbox.run(source_of(code), cases, prelude=prelude, setup=setup, limits=limits)
