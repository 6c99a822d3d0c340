"""The sandbox against hostile and broken code; after each run the parent is unharmed.

Unharmed means: the test process is alive and its memory did not grow with the code's, no
process the code started is left anywhere on the machine, nothing outside the sandbox's working
directory was written, and the next run works normally.
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from wordgrad.errors import InvalidInputError
from wordgrad.sandbox import (
    Limits,
    Sandbox,
    SandboxResult,
    TestCase,
    WeakSandboxWarning,
    cases_from_asserts,
)
from wordgrad.sandbox import runner as runner_module

ADD = cases_from_asserts("assert add(2, 3) == 5")
FAST = Limits(wall_s=4.0, cpu_s=2)
HARNESS_MARK = "The program that runs inside the sandbox"  # in every sandboxed process's cmdline


def processes_with(text: str) -> list[int]:
    """Processes whose command line contains ``text``."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry.name))
    return found


def gone(text: str, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while processes_with(text):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    box = Sandbox(FAST)
    if box.isolation != "bubblewrap":
        pytest.skip("bubblewrap cannot create namespaces on this machine")
    return box


@pytest.fixture(autouse=True)
def parent_unharmed() -> Iterator[None]:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    yield
    assert gone(HARNESS_MARK), "a sandboxed process outlived its run"
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mb < 100, f"the test process grew by {grown_mb:.0f} MB"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakSandboxWarning)  # said once already, if at all
        after = Sandbox(FAST).run("def add(a, b):\n    return a + b", ADD)
    assert after.passed, "the next run after this one did not work"


def check_not_passed(result: SandboxResult) -> None:
    assert not result.passed
    assert result.passed_count == 0 or len(result.cases) < result.expected_cases


def test_a_correct_solution_passes_with_values(sandbox: Sandbox) -> None:
    result = sandbox.run("def add(a, b):\n    return a + b", ADD)
    assert result.passed and result.stopped == "finished" and result.isolation == "bubblewrap"
    assert (result.cases[0].expected, result.cases[0].actual) == ("5", "5")
    assert result.duration_s < FAST.wall_s


def test_a_wrong_solution_fails_with_expected_and_actual(sandbox: Sandbox) -> None:
    result = sandbox.run("def add(a, b):\n    return a * b", ADD)
    assert not result.passed and result.stopped == "finished"
    assert result.failures[0].expected == "5" and result.failures[0].actual == "6"
    assert "expected 5, got 6" in result.feedback()


def test_infinite_loop_is_stopped(sandbox: Sandbox) -> None:
    result = sandbox.run("def add(a, b):\n    while True:\n        pass", ADD)
    check_not_passed(result)
    assert result.stopped in ("cpu_time", "wall_clock")
    assert result.duration_s < FAST.wall_s + 2


def test_sleeping_forever_hits_the_wall_clock(sandbox: Sandbox) -> None:
    result = sandbox.run("import time\ntime.sleep(60)", ADD, limits=Limits(wall_s=1.0))
    assert result.stopped == "wall_clock" and not result.passed
    assert result.duration_s < 3


def test_memory_bomb_is_stopped_and_the_parent_does_not_grow(sandbox: Sandbox) -> None:
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))"
    result = sandbox.run(code, ADD, limits=Limits(wall_s=10, memory_bytes=512 << 20))
    check_not_passed(result)
    assert result.stopped == "memory" and result.error_type == "MemoryError"
    assert "ran out of memory" in result.feedback()


def test_fork_bomb_is_contained(sandbox: Sandbox) -> None:
    code = "import os\nwhile True:\n    os.fork()"
    started = time.monotonic()
    result = sandbox.run(code, ADD, limits=Limits(wall_s=5, cpu_s=3, processes=16))
    check_not_passed(result)
    assert time.monotonic() - started < 8
    assert result.error_type == "BlockingIOError" or result.stopped != "finished"


@pytest.mark.parametrize("ending", ["finishes", "is killed"])
def test_a_child_cannot_outlive_the_run(sandbox: Sandbox, ending: str) -> None:
    tag = f"{uuid.uuid4().int % 10**6}.{os.getpid()}"  # a unique sleep length to look for
    code = (
        "import os\n"
        "def add(a, b):\n    return a + b\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"  # leave the process group and the session
        "    if os.fork() == 0:\n"
        f"        os.execvp('sleep', ['sleep', '{tag}'])\n"
        "    os._exit(0)\n"
    )
    if ending == "is killed":
        code += "import time\ntime.sleep(60)\n"
    result = sandbox.run(code, ADD, limits=Limits(wall_s=1.5))
    assert result.passed == (ending == "finishes")
    assert gone(tag), "the detached grandchild outlived the run"


def test_no_network_not_even_the_hosts_loopback(sandbox: Sandbox) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            accepted.append(listener.accept())

    code = (
        "import socket\n"
        f"socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hello')\n"
        "def add(a, b):\n    return a + b\n"
    )
    try:
        result = sandbox.run(code, ADD)
        waiter = threading.Thread(target=accept)
        waiter.start()
        waiter.join()
    finally:
        listener.close()
    check_not_passed(result)
    assert result.error_type in ("ConnectionRefusedError", "OSError", "TimeoutError")
    assert accepted == [], "the sandboxed code reached a server on the host"


def test_writes_outside_the_working_directory_fail(sandbox: Sandbox, tmp_path: Path) -> None:
    target = tmp_path / "written-by-sandbox.txt"
    home = Path.home() / f"wordgrad-sandbox-{uuid.uuid4().hex}"
    for path in (target, home):
        result = sandbox.run(f"open({str(path)!r}, 'w').write('x')", ADD)
        check_not_passed(result)
        assert result.error_type in ("OSError", "PermissionError", "FileNotFoundError")
        assert not path.exists()


def test_the_working_directory_and_tmp_are_writable_and_private(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    name = f"wordgrad-private-{uuid.uuid4().hex}"
    code = (
        f"open('notes.txt', 'w').write('kept')\nopen('/tmp/{name}', 'w').write('x')\n"
        "def add(a, b):\n    return a + b if open('notes.txt').read() == 'kept' else 0\n"
    )
    assert sandbox.run(code, ADD).passed
    assert not Path("/tmp", name).exists() and not (Path.cwd() / "notes.txt").exists()


def test_100_mb_of_output_is_cut_off(sandbox: Sandbox) -> None:
    code = "import sys\nfor _ in range(100):\n    sys.stdout.write('x' * 2**20)\n"
    started = time.monotonic()
    result = sandbox.run(code + "def add(a, b):\n    return a + b\n", ADD)
    check_not_passed(result)
    assert result.stopped == "output"
    assert len(result.stdout) <= 8000 and time.monotonic() - started < FAST.wall_s


def test_a_syntax_error_is_reported(sandbox: Sandbox) -> None:
    result = sandbox.run("def add(a, b)\n    return a + b", ADD)
    check_not_passed(result)
    assert result.error_type == "SyntaxError" and result.stopped == "finished"
    assert "SyntaxError" in result.feedback() and "<solution>" in (result.error or "")


@pytest.mark.parametrize("exit_call", ["import sys\nsys.exit(0)", "import os\nos._exit(0)"])
def test_exiting_before_the_tests_does_not_pass(sandbox: Sandbox, exit_call: str) -> None:
    result = sandbox.run(f"def add(a, b):\n    return a + b\n{exit_call}\n", ADD)
    check_not_passed(result)
    assert result.stopped == "exited" and result.cases == ()
    assert "exited before the tests were done" in result.feedback()


def test_exiting_inside_a_test_fails_that_test(sandbox: Sandbox) -> None:
    result = sandbox.run("import sys\ndef add(a, b):\n    sys.exit(0)", ADD)
    assert not result.passed and result.failures[0].error_type == "SystemExit"


def test_printing_the_expected_output_instead_of_returning_it_fails(sandbox: Sandbox) -> None:
    result = sandbox.run("def add(a, b):\n    print(a + b)", ADD)
    check_not_passed(result)
    assert result.stdout.strip() == "5"
    assert (result.cases[0].expected, result.cases[0].actual) == ("5", "None")


def test_printing_a_fake_report_does_not_pass(sandbox: Sandbox) -> None:
    fake = '{"event": "case", "name": "assert add(2, 3) == 5", "passed": true}'
    code = f'print({fake!r})\nprint(\'{{"event": "done"}}\')\nimport os\nos._exit(0)'
    assert not sandbox.run(code, ADD).passed


def test_statement_cases_and_test_setup(sandbox: Sandbox) -> None:
    setup = "def check(f):\n    assert f(1, 1) == 2\n    assert f(0, 5) == 5"
    cases = [TestCase.run("check(add)")]
    assert sandbox.run("def add(a, b):\n    return a + b", cases, setup=setup).passed
    failed = sandbox.run("def add(a, b):\n    return 2", cases, setup=setup)
    assert not failed.passed and "assert f(0, 5) == 5" in (failed.failures[0].error or "")


def test_limits_and_cases_are_checked() -> None:
    with pytest.raises(InvalidInputError, match="wall_s"):
        Limits(wall_s=0)
    with pytest.raises(InvalidInputError, match="no test cases"):
        Sandbox().run("x = 1", [])
    with pytest.raises(InvalidInputError, match="either call and expected"):
        TestCase("t", call="f()")


# ---------------------------------------------------------------------------- without namespaces


def test_limits_only_warns_once_and_still_enforces_the_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner_module, "_warned", set())
    weak = Sandbox(FAST, use_bubblewrap=False)
    with pytest.warns(WeakSandboxWarning, match="bubblewrap was turned off"):
        assert weak.isolation == "limits-only"
    loop = weak.run("def add(a, b):\n    while True:\n        pass", ADD)
    assert loop.stopped in ("cpu_time", "wall_clock") and loop.isolation == "limits-only"
    bomb = weak.run("x = bytearray(2**40)", ADD)
    assert bomb.stopped == "memory"
    assert weak.run("import sys\nsys.exit(0)", ADD).stopped == "exited"


def test_limits_only_still_ends_a_detached_child(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "_warned", set())
    tag = f"{uuid.uuid4().int % 10**6}.{os.getpid() + 1}"
    code = (
        "import os\ndef add(a, b):\n    return a + b\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        f"        os.execvp('sleep', ['sleep', '{tag}'])\n    os._exit(0)\n"
    )
    with pytest.warns(WeakSandboxWarning):
        result = Sandbox(FAST, use_bubblewrap=False).run(code, ADD)
    assert result.passed
    assert gone(tag), "the detached grandchild outlived the run"
