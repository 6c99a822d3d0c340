"""Running untrusted Python against test cases, isolated from the machine.

Every run is a fresh process in its own session (so its own process group), started through
bubblewrap (https://github.com/containers/bubblewrap, Debian package ``bubblewrap``) when it
works here:

- new user, PID, network, IPC and UTS namespaces (``--unshare-all``): no network at all, not even
  the host's loopback; the PID namespace dies with its first process, so nothing the code forks
  outlives the run, ``setsid`` and double forks included;
- the root file system read-only, a private ``/tmp``, and one fresh temporary directory, the
  working directory, as the only writable place (deleted after the run);
- all capabilities dropped; when wordgrad runs as root, the code runs as ``nobody``.

Inside, the harness sets resource limits with :func:`resource.setrlimit` before it loads the
code: CPU seconds, address space, processes, size of written files, no core files. The parent
enforces the wall-clock limit and the output cap by killing the whole process group.

Without bubblewrap (not installed, not Linux, or unable to create namespaces, as inside some
containers) the same process runs with the same resource limits but no namespaces: the network
and the file system are then reachable as the user running wordgrad, and a process that leaves
the session can outlive the run. :class:`WeakSandboxWarning` says so once per process.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from wordgrad.errors import InvalidInputError
from wordgrad.sandbox.cases import TestCase

HARNESS = (Path(__file__).with_name("_harness.py")).read_text(encoding="utf-8")
INSIDE_DIR = "/tmp/work"  # where the working directory appears inside the namespaces
NOBODY = 65534

StopReason = Literal["finished", "wall_clock", "cpu_time", "memory", "output", "exited", "crashed"]
Isolation = Literal["bubblewrap", "limits-only"]


class WeakSandboxWarning(UserWarning):
    """The sandbox runs without namespaces (resource limits only); see the message for why."""


@dataclass(frozen=True)
class Limits:
    """What one run may use.

    Args:
        wall_s: wall-clock seconds before the process group is killed.
        cpu_s: CPU seconds (``RLIMIT_CPU``; whole seconds, at least 1).
        memory_bytes: address space of each process (``RLIMIT_AS``).
        processes: processes and threads the code may start (``RLIMIT_NPROC``; counted per
            user, so without a dedicated user the count includes the user's other processes).
        file_bytes: largest file the code may write (``RLIMIT_FSIZE``).
        output_bytes: stdout plus stderr before the run is killed.
    """

    wall_s: float = 10.0
    cpu_s: int = 5
    memory_bytes: int = 1 << 30
    processes: int = 32
    file_bytes: int = 16 << 20
    output_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        bad = [name for name, value in vars(self).items() if value <= 0]
        if bad:
            raise InvalidInputError(
                f"sandbox limits must be positive, got {', '.join(bad)} <= 0; raise them"
            )


@dataclass(frozen=True)
class CaseResult:
    """One test case's outcome. Values are ``repr`` strings (cut at 2,000 characters)."""

    name: str
    passed: bool
    expected: str | None = None
    actual: str | None = None
    error_type: str | None = None
    error: str | None = None
    duration_s: float = 0.0

    def describe(self) -> str:
        """One or two lines: the case, and what went wrong."""
        if self.passed:
            return f"PASS {self.name}"
        if self.error_type is not None:
            return f"FAIL {self.name}\n  raised {self.error}"
        if self.actual is None:
            return f"FAIL {self.name}\n  did not run"
        return f"FAIL {self.name}\n  expected {self.expected}, got {self.actual}"


@dataclass(frozen=True)
class SandboxResult:
    """How a run went.

    ``passed`` only when every case ran and passed and the run finished normally.
    ``stopped`` says why it ended: ``finished`` (the harness ran to its end), ``wall_clock``,
    ``cpu_time``, ``memory``, ``output`` (a limit), ``exited`` (the code ended the process or
    raised ``SystemExit`` before the tests were done), ``crashed`` (killed by a signal of its
    own). ``error_type``/``error`` hold the first exception (loading the code or in a case);
    ``stdout`` holds its first 8,000 characters, ``stderr_tail`` the last 4,000 of stderr.
    """

    passed: bool
    cases: tuple[CaseResult, ...]
    stopped: StopReason
    duration_s: float
    error_type: str | None = None
    error: str | None = None
    stdout: str = ""
    stderr_tail: str = ""
    exit_code: int | None = None
    isolation: Isolation = "bubblewrap"
    expected_cases: int = 0

    @property
    def failures(self) -> list[CaseResult]:
        return [case for case in self.cases if not case.passed]

    @property
    def passed_count(self) -> int:
        return sum(case.passed for case in self.cases)

    def feedback(self) -> str:
        """The results as text for a critic: each case's outcome, then errors and output."""
        total = self.expected_cases
        lines = [f"{self.passed_count} of {total} tests passed."]
        reasons = {
            "wall_clock": "The run was stopped: it took longer than the time limit.",
            "cpu_time": "The run was stopped: it used more CPU time than allowed.",
            "memory": "The run was stopped: it ran out of memory.",
            "output": "The run was stopped: it printed more output than allowed.",
            "exited": "The program exited before the tests were done.",
            "crashed": f"The process crashed (exit status {self.exit_code}).",
        }
        if self.stopped in reasons:
            lines.append(reasons[self.stopped])
        lines += [case.describe() for case in self.cases]
        if len(self.cases) < total:
            lines.append(f"{total - len(self.cases)} test(s) did not run.")
        if self.error and not self.cases:
            lines.append(f"Error before the tests ran:\n{self.error}")
        if self.stdout.strip():
            lines.append(f"Printed output:\n{self.stdout[-1000:]}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (for run logs)."""
        return {
            "passed": self.passed,
            "stopped": self.stopped,
            "duration_s": round(self.duration_s, 4),
            "error_type": self.error_type,
            "error": self.error,
            "stdout": self.stdout,
            "stderr_tail": self.stderr_tail,
            "exit_code": self.exit_code,
            "isolation": self.isolation,
            "expected_cases": self.expected_cases,
            "cases": [
                {
                    "name": c.name,
                    "passed": c.passed,
                    "expected": c.expected,
                    "actual": c.actual,
                    "error_type": c.error_type,
                    "error": c.error,
                }
                for c in self.cases
            ],
        }


@dataclass
class _Setup:
    """How runs start on this machine (probed once per interpreter and user)."""

    isolation: Isolation
    python: str
    user: tuple[int, int] | None
    reason: str = ""
    bwrap: str | None = None


_setup_lock = threading.Lock()
_setups: dict[tuple[str, bool], _Setup] = {}
_warned: set[str] = set()
_slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))


def _nobody() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return NOBODY, NOBODY
    return entry.pw_uid, entry.pw_gid


def _works(command: list[str], user: tuple[int, int] | None) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory(prefix="wordgrad-probe-") as folder:
        if user is not None:
            os.chown(folder, *user)
        try:
            done = subprocess.run(
                [part.replace("{dir}", folder) for part in command],
                capture_output=True,
                text=True,
                timeout=30,
                stdin=subprocess.DEVNULL,
                **_user_options(user),
            )
        except (OSError, subprocess.SubprocessError) as error:
            return False, str(error)
    return done.returncode == 0, (done.stderr or done.stdout).strip()[-500:]


def _user_options(user: tuple[int, int] | None) -> dict[str, Any]:
    if user is None:
        return {}
    return {"user": user[0], "group": user[1], "extra_groups": []}


def _bwrap_command(bwrap: str, workdir: str) -> list[str]:
    return [
        bwrap,
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
        "--bind", workdir, INSIDE_DIR,
        "--chdir", INSIDE_DIR,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop", "ALL",
        "--",
    ]  # fmt: skip


def _probe(python: str, use_bubblewrap: bool) -> _Setup:
    """Find out how runs can start: which user, which interpreter, and whether bwrap works."""
    user: tuple[int, int] | None = None
    notes = []
    if os.geteuid() == 0:
        # Root ignores RLIMIT_NPROC, so the code runs as nobody, with an interpreter nobody
        # can execute (a virtualenv under /root is not one).
        candidates = [python, shutil.which("python3") or "", "/usr/bin/python3"]
        chosen = next(
            (p for p in candidates if p and _works([p, "-I", "-c", "pass"], _nobody())[0]), None
        )
        if chosen is not None:
            user, python = _nobody(), chosen
        else:
            notes.append(
                "the code runs as root, which ignores the process limit, because no Python "
                "is executable by the user nobody"
            )
    bwrap = shutil.which("bwrap") if use_bubblewrap else None
    if not use_bubblewrap:
        reason = "bubblewrap was turned off"
    elif sys.platform != "linux":
        reason = f"bubblewrap needs Linux (this is {sys.platform})"
    elif bwrap is None:
        reason = "bubblewrap is not installed (Debian: apt-get install bubblewrap)"
    else:
        ok, message = _works([*_bwrap_command(bwrap, "{dir}"), python, "-I", "-c", "pass"], user)
        if ok:
            return _Setup("bubblewrap", python, user, reason="; ".join(notes), bwrap=bwrap)
        reason = f"bubblewrap cannot create namespaces here ({message or 'no message'})"
    notes.insert(0, reason)
    return _Setup("limits-only", python, user, reason="; ".join(notes))


def _setup(python: str, use_bubblewrap: bool) -> _Setup:
    key = (python, use_bubblewrap)
    with _setup_lock:
        if key not in _setups:
            _setups[key] = _probe(python, use_bubblewrap)
        setup = _setups[key]
        if setup.reason and setup.reason not in _warned:
            _warned.add(setup.reason)
            consequence = (
                "Generated code runs in namespaces, but a fork bomb is stopped only by the time "
                "limit."
                if setup.isolation == "bubblewrap"
                else "Generated code runs with resource limits only, without namespaces: it can "
                "reach the network and write wherever this user can, and a process that leaves "
                "its session can outlive the run."
            )
            warnings.warn(
                f"wordgrad's sandbox is weaker here: {setup.reason}. {consequence}",
                WeakSandboxWarning,
                stacklevel=4,
            )
    return setup


def _process_table() -> dict[int, tuple[int, int]]:
    """``{pid: (parent pid, session id)}`` for every process (from /proc; empty elsewhere)."""
    table = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            if len(fields) > 3:
                table[int(entry.name)] = (int(fields[1]), int(fields[3]))
    return table


def _belonging_to(root: int) -> list[int]:
    """The processes of a run: its descendants and anything else in its session."""
    table = _process_table()
    found = {pid for pid, (_, session) in table.items() if session == root}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in table.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    found.discard(root)
    return sorted(found)


def _kill_all(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the run's process group, its descendants and anything left in its session.

    Two passes: processes are stopped first, so none can fork while the others are killed.
    (With bubblewrap the PID namespace already ends them all; this matters without it.)
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGSTOP)
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in _belonging_to(process.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(process.pid, signal.SIGKILL)


class _Output:
    """Keeps the head of stdout, the tail of stderr, and all of the report pipe."""

    HEAD, TAIL = 8000, 4000

    def __init__(self) -> None:
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.report = bytearray()
        self.printed = 0

    def take(self, which: str, data: bytes) -> None:
        if which == "report":
            self.report += data
            return
        self.printed += len(data)
        if which == "stdout":
            self.stdout += data[: max(0, self.HEAD - len(self.stdout))]
        else:
            self.stderr = (self.stderr + data)[-self.TAIL :]


class Sandbox:
    """Runs code against test cases in a fresh isolated process; thread-safe.

    Args:
        limits: the default limits of each run.
        use_bubblewrap: set False to run with resource limits only (weaker; warns once).
        python: the interpreter for the code (default: this one; as root, the first
            interpreter the ``nobody`` user can execute).
        site_packages: let the code import installed packages (default: the standard
            library only, which also starts each run faster, by skipping ``site``).

    Runs at once, across all sandboxes of the process, are at most the CPU count.

    Raises nothing at construction; the first run probes the machine (a fraction of a second).
    """

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        use_bubblewrap: bool = True,
        python: str | None = None,
        site_packages: bool = False,
    ) -> None:
        self.limits = limits or Limits()
        self.use_bubblewrap = use_bubblewrap
        self.python = python or sys.executable
        self.site_packages = site_packages

    @property
    def isolation(self) -> Isolation:
        """``"bubblewrap"`` or ``"limits-only"`` (probes the machine on first use)."""
        return _setup(self.python, self.use_bubblewrap).isolation

    def run(
        self,
        code: str,
        cases: Sequence[TestCase],
        *,
        prelude: str = "",
        setup: str = "",
        limits: Limits | None = None,
    ) -> SandboxResult:
        """Run ``prelude``, ``code`` and ``setup`` (test helpers), then each case, in that order.

        Args:
            code: the untrusted source (a module defining the function under test).
            cases: at least one test case.
            prelude: trusted imports run before the code (e.g. ``from typing import *``).
            setup: trusted test code run after the code (e.g. HumanEval's ``check``).
            limits: this run's limits (default: the sandbox's).

        Raises:
            InvalidInputError: no cases (a run with no tests cannot pass).
        """
        if not cases:
            raise InvalidInputError("no test cases: give at least one TestCase to run")
        limits = limits or self.limits
        machine = _setup(self.python, self.use_bubblewrap)
        nonce = secrets.token_hex(16)
        with _slots, tempfile.TemporaryDirectory(prefix="wordgrad-sandbox-") as workdir:
            if machine.user is not None:
                os.chown(workdir, *machine.user)
            os.chmod(workdir, 0o700)
            return self._run(machine, workdir, nonce, code, cases, prelude, setup, limits)

    def _run(
        self,
        machine: _Setup,
        workdir: str,
        nonce: str,
        code: str,
        cases: Sequence[TestCase],
        prelude: str,
        setup: str,
        limits: Limits,
    ) -> SandboxResult:
        report_read, report_write = os.pipe()
        inside = INSIDE_DIR if machine.bwrap else workdir
        flags = ["-I", "-u"] if self.site_packages else ["-I", "-S", "-u"]
        command = [machine.python, *flags, "-c", HARNESS]
        if machine.bwrap:
            command = [*_bwrap_command(machine.bwrap, workdir), *command]
        job = {
            "report_fd": report_write,
            "nonce": nonce,
            "prelude": prelude,
            "code": code,
            "setup": setup,
            "cases": [case.as_job() for case in cases],
            "limits": {
                "RLIMIT_CPU": max(1, int(limits.cpu_s)),
                "RLIMIT_AS": limits.memory_bytes,
                "RLIMIT_NPROC": limits.processes + _running_tasks(machine.user),
                "RLIMIT_FSIZE": limits.file_bytes,
                "RLIMIT_CORE": 0,
            },
        }
        start = time.monotonic()
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(report_write,),
                cwd=workdir,
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": inside, "TMPDIR": inside,
                     "LANG": "C.UTF-8"},
                start_new_session=True,
                **_user_options(machine.user),
            )  # fmt: skip
        finally:
            os.close(report_write)
        output = _Output()
        killed: StopReason | None = None
        child = _Child(process)
        try:
            killed = _communicate(child, report_read, json.dumps(job).encode(), output, limits)
        finally:
            _kill_all(process)
            child.reap(block=True)
            os.close(report_read)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        cpu_used = child.cpu_s >= max(1, int(limits.cpu_s))
        return _result(
            machine, nonce, output, killed, child.returncode, cpu_used,
            time.monotonic() - start, cases,
        )  # fmt: skip


def _running_tasks(user: tuple[int, int] | None) -> int:
    """Threads the sandbox's user runs already (RLIMIT_NPROC counts them all).

    Zero for a dedicated user nobody else runs as; otherwise read from /proc.
    """
    uid = user[0] if user is not None else os.getuid()
    count = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    if os.stat(entry.path).st_uid == uid:
                        count += len(os.listdir(Path(entry.path, "task")))
                except OSError:
                    continue
    return count


class _Child:
    """Reaps the process with ``wait4`` so its CPU time (its own and its waited-for
    descendants') is known; Popen's own wait would discard it."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.returncode: int | None = None
        self.cpu_s = 0.0

    def reap(self, block: bool) -> bool:
        """True once the process has ended (and is reaped)."""
        if self.returncode is None:
            try:
                pid, status, usage = os.wait4(self.process.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                return True
            if pid == 0:
                return False
            self.returncode = os.waitstatus_to_exitcode(status)
            self.process.returncode = self.returncode
            self.cpu_s = usage.ru_utime + usage.ru_stime
        return True


def _communicate(
    child: _Child,
    report_read: int,
    job: bytes,
    output: _Output,
    limits: Limits,
) -> StopReason | None:
    """Feed the job, collect output until the process ends; a limit's name if one was hit."""
    process = child.process
    assert process.stdin and process.stdout and process.stderr

    def feed() -> None:
        with contextlib.suppress(OSError):
            assert process.stdin
            process.stdin.write(job)
            process.stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    deadline = time.monotonic() + limits.wall_s
    selector = selectors.DefaultSelector()
    selector.register(process.stdout.fileno(), selectors.EVENT_READ, "stdout")
    selector.register(process.stderr.fileno(), selectors.EVENT_READ, "stderr")
    selector.register(report_read, selectors.EVENT_READ, "report")
    try:
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "wall_clock"
            for key, _ in selector.select(min(remaining, 0.2)):
                data = os.read(key.fd, 65536)
                if not data:
                    selector.unregister(key.fd)
                    continue
                output.take(str(key.data), data)
                if output.printed > limits.output_bytes or len(output.report) > 64 << 20:
                    return "output"
            if child.reap(block=False) and not selector.select(0):
                break  # the process ended; whatever it left behind is killed by the caller
        while not child.reap(block=False):
            if time.monotonic() >= deadline:
                return "wall_clock"
            time.sleep(0.01)
        return None
    finally:
        selector.close()
        writer.join(timeout=1)


def _signal_of(returncode: int | None, bubblewrap: bool) -> int | None:
    if returncode is None:
        return None
    if returncode < 0:
        return -returncode
    if bubblewrap and returncode > 128:
        return returncode - 128  # bwrap exits with 128 + the signal that killed its child
    return None


def _result(
    machine: _Setup,
    nonce: str,
    output: _Output,
    killed: StopReason | None,
    returncode: int | None,
    cpu_exhausted: bool,
    duration: float,
    cases: Sequence[TestCase],
) -> SandboxResult:
    events = []
    for line in output.report.decode("utf-8", "replace").splitlines():
        mark, _, payload = line.partition(" ")
        if mark == nonce:
            with contextlib.suppress(json.JSONDecodeError):
                events.append(json.loads(payload))
    results: list[CaseResult] = []
    error_type = error = None
    done = False
    for event in events:
        failure = event.get("error") or {}
        if event.get("event") == "case":
            results.append(
                CaseResult(
                    name=str(event["name"]),
                    passed=bool(event["passed"]),
                    expected=event.get("expected"),
                    actual=event.get("actual"),
                    error_type=failure.get("type"),
                    error=failure.get("traceback") or None,
                    duration_s=float(event.get("duration_s", 0.0)),
                )
            )
        elif event.get("event") in ("load_error", "done"):
            done = True
        if failure and error_type is None:
            error_type, error = failure.get("type"), failure.get("traceback")
    stopped: StopReason
    sig = _signal_of(returncode, machine.bwrap is not None)
    if killed is not None:
        stopped = killed
    elif error_type == "MemoryError":
        stopped = "memory"
    elif error_type == "SystemExit":
        stopped = "exited"
    elif sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_exhausted):
        stopped = "cpu_time"  # SIGKILL from the kernel comes at the hard CPU limit
    elif sig is not None and not done:
        stopped = "crashed"
    elif not done:
        stopped = "exited"
    else:
        stopped = "finished"
    passed = (
        stopped == "finished"
        and error_type is None
        and len(results) == len(cases)
        and all(case.passed for case in results)
    )
    return SandboxResult(
        passed=passed,
        cases=tuple(results),
        stopped=stopped,
        duration_s=duration,
        error_type=error_type,
        error=error,
        stdout=output.stdout.decode("utf-8", "replace"),
        stderr_tail=output.stderr.decode("utf-8", "replace"),
        exit_code=returncode,
        isolation=machine.isolation,
        expected_cases=len(cases),
    )


_default: Sandbox | None = None


def default_sandbox() -> Sandbox:
    """The process-wide sandbox with default :class:`Limits` (created on first use)."""
    global _default
    if _default is None:
        _default = Sandbox()
    return _default


__all__ = [
    "CaseResult",
    "Isolation",
    "Limits",
    "Sandbox",
    "SandboxResult",
    "StopReason",
    "WeakSandboxWarning",
    "default_sandbox",
]
