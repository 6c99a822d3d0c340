"""A sandbox for model-written code: isolated processes, resource limits, structured results.

::

    from wordgrad.sandbox import Sandbox, cases_from_asserts
    code = "def add(a, b):\n    return a + b"
    result = Sandbox().run(code, cases_from_asserts("assert add(1, 2) == 3"))
    result.passed, result.stopped, result.feedback()

See :mod:`wordgrad.sandbox.runner` for what is isolated and how, and what is weaker without
bubblewrap.
"""

from wordgrad.sandbox.cases import (
    TestCase,
    cases_from_asserts,
    cases_from_docstring,
    describe_cases,
)
from wordgrad.sandbox.runner import (
    CaseResult,
    Isolation,
    Limits,
    Sandbox,
    SandboxResult,
    StopReason,
    WeakSandboxWarning,
    default_sandbox,
)

__all__ = [
    "CaseResult",
    "Isolation",
    "Limits",
    "Sandbox",
    "SandboxResult",
    "StopReason",
    "TestCase",
    "WeakSandboxWarning",
    "cases_from_asserts",
    "cases_from_docstring",
    "default_sandbox",
    "describe_cases",
]
