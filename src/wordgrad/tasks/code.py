"""Running generated code against tests, in a separate Python process with a time limit.

Model-written code is untrusted: it may loop forever, exit the interpreter or clobber globals. So
it never runs inside the caller's process. Each run writes one script into a fresh temporary
folder and runs it with the same interpreter in isolated mode (``-I``: no user site-packages, no
``PYTHON*`` variables); a run that exceeds its time limit is killed. This is containment against
accidents, not a security sandbox: do not run code you would not run yourself.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT_S = 10.0
MAX_OUTPUT_CHARS = 4000


@dataclass(frozen=True)
class CodeRun:
    """How a run went: ``passed`` when the script exited with 0; ``output`` is stderr + stdout."""

    passed: bool
    timed_out: bool
    output: str


def run_python(source: str, timeout: float = DEFAULT_TIMEOUT_S) -> CodeRun:
    """Run ``source`` as a script in a subprocess; it passes when it exits with status 0."""
    with tempfile.TemporaryDirectory(prefix="wordgrad-run-") as folder:
        script = Path(folder) / "program.py"
        script.write_text(source, encoding="utf-8")
        try:
            completed = subprocess.run(
                [sys.executable, "-I", str(script)],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return CodeRun(False, True, f"timed out after {timeout:g} s")
    output = (completed.stderr + completed.stdout)[-MAX_OUTPUT_CHARS:]
    return CodeRun(completed.returncode == 0, False, output)


def run_tests(
    code: object, tests: str, timeout: float = DEFAULT_TIMEOUT_S, prelude: str = ""
) -> CodeRun:
    """Run ``prelude``, then ``code`` (a string or Variable), then ``tests`` (e.g. asserts)."""
    program = "\n".join(
        part for part in (prelude, str(getattr(code, "value", code)), tests) if part
    )
    return run_python(program + "\n", timeout)
