"""The program that runs inside the sandbox: limits itself, loads the code, runs the test cases.

It is passed to the interpreter with ``-c`` (so it needs no readable file) and reads its job as
one JSON object on stdin: the resource limits, the code, the tests' set-up code, the cases, the
number of the pipe to report on and a nonce. It uses the standard library only and never imports
wordgrad, so any Python >= 3.10 can run it.

Each report is one line on the pipe: the nonce, a space, a JSON object. The parent trusts only
lines that carry the nonce, and counts a run as passed only when the last line says every case
ran, so code that exits early (``sys.exit(0)``, ``os._exit(0)``) or prints what a test expects
cannot pass. Code that deliberately searches this process's memory for the nonce could forge a
report; the sandbox keeps such code away from the machine, not from its own verdict.
"""

from __future__ import annotations

import contextlib
import json
import linecache
import math
import os
import resource
import sys
import time
import traceback
from typing import Any

VALUE_CHARS = 2000
TRACE_CHARS = 3000


def _set_limits(limits: dict[str, int]) -> None:
    """Apply resource limits to this process and everything it starts (setrlimit(2))."""
    for name, value in limits.items():
        kind = getattr(resource, name)
        soft, hard = value, value
        if name == "RLIMIT_CPU":
            hard = value + 1  # SIGXCPU at the soft limit, SIGKILL one second later
        _, old_hard = resource.getrlimit(kind)
        if old_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, old_hard), min(hard, old_hard)
        resource.setrlimit(kind, (soft, hard))


def _adopt_orphans() -> None:
    """Become the child subreaper (Linux prctl), so processes the code starts and abandons
    stay our descendants, where the parent can find and kill them."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _children_table() -> dict[int, int]:
    """``{pid: parent pid}`` of every process (from /proc; empty elsewhere)."""
    table = {}
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat") as file:
                        stat = file.read()
                except OSError:
                    continue
                table[int(name)] = int(stat[stat.rfind(")") + 2 :].split()[1])
    return table


def _end_descendants() -> None:
    """Stop every process below this one until no new one appears, then SIGKILL them all.

    Stopped processes cannot fork, so a process started between two scans is found by the
    next one; orphans come back to us because we are the subreaper.
    """
    me, below = os.getpid(), set[int]()
    for _ in range(50):
        table = _children_table()
        found, frontier = set[int](), [me]
        while frontier:
            parent = frontier.pop()
            for pid, ppid in table.items():
                if ppid == parent and pid not in found:
                    found.add(pid)
                    frontier.append(pid)
        new = found - below
        if not new:
            break
        below |= new
        for pid in new:
            with contextlib.suppress(OSError):
                os.kill(pid, 19)  # SIGSTOP
    for pid in below:
        with contextlib.suppress(OSError):
            os.kill(pid, 9)


def _register(filename: str, source: str) -> None:
    """Make tracebacks show the lines of code that was compiled from a string."""
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)


def _shown(value: object) -> str:
    try:
        text = repr(value)
    except BaseException as error:  # a broken __repr__ is the code's problem, not ours
        text = f"<unprintable {type(value).__name__}: {type(error).__name__}>"
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 15] + "... (truncated)"


def _error(error: BaseException) -> dict[str, str]:
    """Type, message, and the traceback without the harness's own frames."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename.startswith("<") and frame.filename != "<string>"
    ]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(error), error)
    trace = "".join(lines)
    return {
        "type": type(error).__name__,
        "message": str(error)[:VALUE_CHARS],
        "traceback": trace[-TRACE_CHARS:],
    }


def _equal(actual: object, expected: object) -> bool:
    """``==``, except that floats compare with a relative tolerance of 1e-6."""
    if isinstance(actual, float) and isinstance(expected, (int, float)):
        return math.isclose(actual, expected, rel_tol=1e-6, abs_tol=1e-9)
    try:
        return bool(actual == expected)
    except Exception:
        return False


def _run_case(case: dict[str, str], namespace: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    result: dict[str, Any] = {"event": "case", "name": case["name"], "passed": False}
    if case.get("statement") is not None:
        try:
            exec(compile(case["statement"], "<test>", "exec", dont_inherit=True), namespace)
            result["passed"] = True
        except BaseException as error:
            result["error"] = _error(error)
    else:
        try:
            expected = eval(
                compile(case["expected"], "<expected>", "eval", dont_inherit=True), namespace
            )
        except BaseException as error:
            result["error"] = _error(error)
            result["error"]["type"] = "TestError: " + result["error"]["type"]
        else:
            result["expected"] = _shown(expected)
            try:
                actual = eval(compile(case["call"], "<test>", "eval", dont_inherit=True), namespace)
            except BaseException as error:
                result["error"] = _error(error)
            else:
                result["actual"] = _shown(actual)
                result["passed"] = _equal(actual, expected)
    result["duration_s"] = time.perf_counter() - start
    return result


def main() -> None:
    job = json.loads(sys.stdin.read())
    report_fd, nonce = int(job["report_fd"]), str(job["nonce"])
    harness_pid = os.getpid()
    os.set_inheritable(report_fd, False)
    report = os.fdopen(report_fd, "w", encoding="utf-8", buffering=1)
    sys.stdin.close()

    def send(event: dict[str, Any]) -> None:
        if os.getpid() != harness_pid:
            return  # a process the code forked is still running this program
        report.write(nonce + " " + json.dumps(event) + "\n")
        report.flush()

    _set_limits(job["limits"])
    _adopt_orphans()
    try:
        _run_job(job, send)
    finally:
        if os.getpid() == harness_pid:
            _end_descendants()


def _run_job(job: dict[str, Any], send: Any) -> None:
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    for stage, filename, source in (
        ("prelude", "<prelude>", job["prelude"]),
        ("code", "<solution>", job["code"]),
        ("setup", "<tests>", job["setup"]),
    ):
        if not source:
            continue
        _register(filename, source)
        try:
            exec(compile(source, filename, "exec", dont_inherit=True), namespace)
        except BaseException as error:
            namespace.clear()  # frees whatever the code allocated, e.g. after a MemoryError
            send({"event": "load_error", "stage": stage, "error": _error(error)})
            return
        send({"event": "loaded", "stage": stage})
    for case in job["cases"]:
        try:
            result = _run_case(case, namespace)
        except BaseException as error:  # e.g. MemoryError while formatting the result
            namespace.clear()
            send({"event": "case", "name": case["name"], "passed": False, "error": _error(error)})
            break  # the namespace is gone; the parent counts the cases that never ran
        send(result)
    send({"event": "done"})


if __name__ == "__main__":
    main()
