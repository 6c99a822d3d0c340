"""Test cases for the sandbox, and reading them from ``assert`` lines and docstring examples.

A case is either a *comparison* (a call expression and the expression of its expected value,
evaluated separately so a failure shows both values) or a *statement* that passes when it runs
without raising (e.g. HumanEval's ``check(candidate)``).
"""

from __future__ import annotations

import ast
import builtins
import doctest
import re
from collections.abc import Sequence
from dataclasses import dataclass

from wordgrad.errors import InvalidInputError


@dataclass(frozen=True)
class TestCase:
    """One test: ``call == expected`` (both Python expressions) or a ``statement`` to run.

    ``name`` is what reports show (by default the test's source). Exactly one of ``statement``
    and the pair ``call``/``expected`` is set.
    """

    name: str
    call: str | None = None
    expected: str | None = None
    statement: str | None = None

    __test__ = False  # not a pytest test class

    def __post_init__(self) -> None:
        comparison = self.call is not None and self.expected is not None
        if comparison == (self.statement is not None) or (
            not comparison and (self.call is not None or self.expected is not None)
        ):
            raise InvalidInputError(
                f"test case {self.name!r}: give either call and expected, or statement"
            )

    @classmethod
    def comparison(cls, call: str, expected: str) -> TestCase:
        """The case ``call == expected``, named ``"call == expected"``."""
        return cls(f"{call} == {expected}", call=call, expected=expected)

    @classmethod
    def run(cls, statement: str, name: str | None = None) -> TestCase:
        """The case that passes when ``statement`` runs without raising."""
        return cls(name or statement, statement=statement)

    def as_job(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "call": self.call,
            "expected": self.expected,
            "statement": self.statement,
        }


def _parses(expression: str) -> bool:
    try:
        ast.parse(expression, mode="eval")
    except SyntaxError:
        return False
    return True


def _example(call: str, expected: str, entry_point: str) -> tuple[str, str] | None:
    """``(call, expected)`` when both are self-contained expressions and ``call`` calls
    ``entry_point``; ``None`` for prose that only looks like an example."""
    expected = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", expected))
    try:
        trees = [ast.parse(call, mode="eval"), ast.parse(expected, mode="eval")]
    except SyntaxError:
        return None
    calls = [n for n in ast.walk(trees[0]) if isinstance(n, ast.Call)]
    if not (
        isinstance(trees[0].body, ast.Call)
        and any(getattr(n.func, "id", None) == entry_point for n in calls)
    ):
        return None  # e.g. "f([1, 2]) [1, 2]" is a subscript, not a call with its output
    known = {entry_point, *dir(builtins)}
    for tree in trees:
        if any(isinstance(n, ast.Name) and n.id not in known for n in ast.walk(tree)):
            return None  # free names, e.g. "f(abc)" where the string lost its quotes
    return ast.unparse(trees[0]), ast.unparse(trees[1])


def cases_from_asserts(source: str) -> list[TestCase]:
    """One case per top-level statement of ``source`` (e.g. LeetCode's visible examples).

    ``assert left == right`` becomes a comparison (so failures show the actual value); any other
    statement becomes a statement case.

    Raises:
        InvalidInputError: ``source`` is not valid Python.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise InvalidInputError(f"the tests are not valid Python: {error}") from error
    cases = []
    for node in tree.body:
        text = ast.get_source_segment(source, node) or ast.unparse(node)
        test = node.test if isinstance(node, ast.Assert) and node.msg is None else None
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
            call = ast.get_source_segment(source, test.left) or ast.unparse(test.left)
            expected = ast.get_source_segment(source, test.comparators[0]) or ast.unparse(
                test.comparators[0]
            )
            cases.append(TestCase(text, call=call, expected=expected))
        else:
            cases.append(TestCase.run(text))
    return cases


# "f(1, 2) == 3", "f(1, 2) ➞ 3", "f(1, 2) => 3", "f(1, 2) -> 3", "f(1, 2) should return 3"
_ARROW = re.compile(r"\s*(==>|==|➞|=>|->|should return|returns|return|=)\s*(.+?)\s*$")
# "For lst = [1, 2] the output should be 3"
_FOR_OUTPUT = re.compile(r"For (\w+\s*=.+?),? the output should be (.+?)\s*$")
# "Input: arr = [1, 2], k = 4" followed by "Output: 3"
_INPUT = re.compile(r"^\s*Input:\s*(\w+\s*=.+?)\s*$")
_OUTPUT = re.compile(r"^\s*Output:\s*(.+?)\s*(#.*)?$")


def _balanced_call(line: str, start: int) -> int | None:
    """The index just past the parenthesis that closes the one at ``start``."""
    depth = 0
    for index in range(start, len(line)):
        if line[index] in "([{":
            depth += 1
        elif line[index] in ")]}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _docstring(prompt: str, entry_point: str) -> str:
    """The docstring of ``entry_point`` in ``prompt`` (the whole prompt if it does not parse)."""
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return prompt
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry_point:
            return ast.get_docstring(node) or ""
    return prompt


def cases_from_docstring(prompt: str, entry_point: str) -> list[TestCase]:
    """The examples in a function's docstring, as comparisons (HumanEval's visible tests).

    Reads doctest examples (``>>> f(x)`` then the output; no output means ``None``) and,
    failing those, lines such as ``f(x) == y``, ``f(x) ➞ y``, ``f(x) => y``, ``For x = 1 the
    output should be y``, or an ``Input: x = 1`` line followed by ``Output: y``. An example whose
    call or output is not a Python expression is skipped. Returns ``[]`` when the docstring has
    no usable example.
    """
    text = _docstring(prompt, entry_point)
    cases: list[TestCase] = []
    seen: set[str] = set()

    def add(call: str, expected: str) -> None:
        example = _example(call.strip(), expected.strip().rstrip(".,;"), entry_point)
        if example is not None and example[0] not in seen:
            seen.add(example[0])
            cases.append(TestCase.comparison(*example))

    try:
        examples = doctest.DocTestParser().get_examples(text)
    except ValueError:  # inconsistent indentation; the line patterns below may still match
        examples = []
    for example in examples:
        source, want = example.source.strip(), example.want.strip()
        if not want:  # no output: either "f(x) == y" written as a check, or f(x) is None
            try:
                check = ast.parse(source, mode="eval").body
            except SyntaxError:
                continue
            if isinstance(check, ast.Compare) and [type(o) for o in check.ops] == [ast.Eq]:
                left, right = check.left, check.comparators[0]
                source, want = ast.unparse(left), ast.unparse(right)
            else:
                want = "None"
        add(source, want)
    if cases:
        return cases
    lines = text.splitlines()
    for number, line in enumerate(lines):
        for match in re.finditer(rf"\b{re.escape(entry_point)}\(", line):
            end = _balanced_call(line, match.end() - 1)
            arrow = _ARROW.match(line[end:]) if end is not None else None
            if end is not None and arrow:
                add(line[match.start() : end], arrow.group(2))
        described = _FOR_OUTPUT.search(line)
        if described:
            add(f"{entry_point}({described.group(1)})", described.group(2))
        given = _INPUT.match(line)
        if given and number + 1 < len(lines):
            output = _OUTPUT.match(lines[number + 1])
            if output:
                add(f"{entry_point}({given.group(1)})", output.group(1))
    return cases


def describe_cases(cases: Sequence[TestCase]) -> str:
    """The cases as lines of Python, for a prompt that shows which tests the code must pass."""
    return "\n".join(
        f"assert {case.call} == {case.expected}" if case.call is not None else str(case.statement)
        for case in cases
    )
