"""Wall time of optimization steps: wordgrad concurrent vs sequential (vs upstream textgrad).

Run from the repository root::

    python -m benchmarks.speed            # or: python benchmarks/speed.py
    python -m benchmarks.speed --latency 0.3 --steps 2

It starts a fake OpenAI-compatible server on 127.0.0.1 (:mod:`benchmarks.server`) that answers
every call after ``--latency`` seconds, and runs the three workloads of
:mod:`benchmarks.workloads` through ``get_engine("openai/...", base_url=...)``: once with the
default concurrency, once with ``set_max_concurrency(1)``, and, when ``import textgrad`` works,
once through upstream textgrad. For each it prints seconds per step, the speed-up, the
critical-path lower bound (depth x latency), requests and tokens per step. Then: wordgrad's own
overhead per call against a zero-latency in-process engine, and a run with injected faults.
Nothing here talks to any address but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

if not __package__:  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import wordgrad as tg
from benchmarks import barriers
from benchmarks.server import Counters, FakeOpenAIServer, Faults, reply_for, serve
from benchmarks.workloads import BUILDERS, Workload, prompt_optimization
from wordgrad.engine import RetryPolicy
from wordgrad.llm import Request

MODEL = "bench-model"
TARGET_SPEEDUP = 4.0
TARGET_CRITICAL_RATIO = 1.3
TARGET_LATENCY_S = 0.3
"""The two timing targets hold from this latency up; below it, fixed per-call costs (HTTP, the
SDK) weigh more, so they are printed for information only."""
TARGET_OVERHEAD_MS = 1.0
TARGET_MIXED_START_MS = 10.0
""""A few milliseconds": the idle engine's call may not wait for another engine's queue."""

Builder = Callable[[ModuleType, Any], Workload]


@dataclass(frozen=True)
class Run:
    """One workload run: seconds per step and what the server saw, per step."""

    seconds: float
    requests: float
    tokens: float
    prompts: list[str]
    values: list[str]


# ---------------------------------------------------------------------------- engines


def wordgrad_engine(base_url: str, timeout_s: float = 10.0) -> tg.EngineLM:
    """wordgrad's OpenAI engine pointed at the fake server, cache off so every call is sent."""
    return tg.get_engine(
        f"openai/{MODEL}",
        base_url=base_url,
        api_key="bench",
        cache=False,
        retry=RetryPolicy(max_attempts=8, timeout_s=timeout_s),
    )


def upstream_available() -> bool:
    return importlib.util.find_spec("textgrad") is not None


def upstream_engine(base_url: str, cache_root: str) -> Any:
    """Upstream's engine for an OpenAI-compatible server; its always-on cache goes to a new
    directory, so no call is answered from an earlier run."""
    import openai
    from textgrad.engine.local_model_openai_api import ChatExternalClient

    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(dir=cache_root)
    return ChatExternalClient(
        client=openai.OpenAI(base_url=base_url, api_key="bench"), model_string=MODEL
    )


@contextlib.contextmanager
def upstream_environment() -> Iterator[tuple[ModuleType, str]]:
    """Import textgrad without side effects outside a temporary directory or the loopback.

    Its logs and caches go to a temporary directory, LiteLLM (which it imports) uses its bundled
    price table instead of downloading one, and the environment is restored afterwards.
    """
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="wordgrad-bench-") as root:
        os.environ["TEXTGRAD_LOG_DIR"] = root
        os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        os.environ.setdefault("OPENAI_API_KEY", "bench")
        try:
            import textgrad

            yield textgrad, root
        finally:
            os.environ.clear()
            os.environ.update(saved)


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """Refuse any connection that is not to 127.0.0.1 (a guard for the whole benchmark)."""
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(f"the benchmark only talks to 127.0.0.1, not {host}")
        real_connect(sock, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]


# ---------------------------------------------------------------------------- measuring


def warm_up(engine: tg.EngineLM, library: ModuleType = tg) -> None:
    """Open the client's connections with a burst of calls, as a long-running job has them."""
    model = library.BlackboxLLM(engine)
    answers = [
        model(library.Variable(f"warm-up {i}", requires_grad=False, role_description="q"))
        for i in range(16)
    ]
    for answer in answers:
        answer.value  # noqa: B018 (reading waits)


def measure(
    server: FakeOpenAIServer, library: ModuleType, engine: Any, build: Builder, steps: int
) -> Run:
    """Build the workload afresh, run ``steps`` steps, and read the server's counters."""
    server.reset()
    workload = build(library, engine)
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        workload.step()
        times.append(time.perf_counter() - started)
    counters = server.reset()
    return Run(
        seconds=statistics.mean(times),
        requests=counters.answered / steps,
        tokens=counters.tokens / steps,
        prompts=sorted(counters.prompts),
        values=[str(p.value) for p in workload.parameters],
    )


def zero_latency_overhead_ms(steps: int = 5) -> dict[str, float]:
    """Milliseconds of wordgrad per LLM call against an in-process engine that answers at once.

    The minibatch step runs against a :class:`~wordgrad.ScriptedEngine` with the server's reply
    function; all wall time is wordgrad's (graph, prompts, executor, usage) plus a hash per reply.
    """

    def script(request: Request) -> str:
        return reply_for([message.text for message in request.messages])

    result = {}
    for mode, limit in (("concurrent", tg.get_max_concurrency()), ("sequential", 1)):
        engine = tg.ScriptedEngine(script)
        with tg.max_concurrency(limit):
            workload = prompt_optimization(tg, engine)
            workload.step()  # warm caches (templates, imports)
            engine.reset()
            started = time.perf_counter()
            for _ in range(steps):
                workload.step()
            elapsed = time.perf_counter() - started
        result[mode] = 1000 * elapsed / len(engine.requests)
    return result


def http_round_trip_ms(base_url: str, calls: int = 30) -> float:
    """Milliseconds per call through the SDK and the fake server at zero latency (not wordgrad)."""
    engine = wordgrad_engine(base_url)
    started = time.perf_counter()
    for i in range(calls):
        engine.send(Request.chat(f"ping {i}"))
    return 1000 * (time.perf_counter() - started) / calls


def mixed_engine_start_ms(queued: int = 12, limit: int = 4, repeats: int = 5) -> float:
    """Milliseconds from a call to an idle engine until it starts, while another engine that takes
    one call at a time has ``queued`` calls waiting (process-wide limit ``limit``); the worst of
    ``repeats`` tries."""
    worst = 0.0
    previous = tg.get_max_concurrency()
    tg.set_max_concurrency(limit)
    try:
        for _ in range(repeats):
            gate = threading.Event()
            started: list[float] = []
            slow = tg.ScriptedEngine(lambda r, gate=gate: str(gate.wait(30)), max_concurrency=1)
            idle = tg.ScriptedEngine(
                lambda r, started=started: str(started.append(time.perf_counter()))
            )
            slow_model = tg.BlackboxLLM(slow)
            waiting = [
                slow_model(tg.Variable(f"q{i}", role_description="q")) for i in range(queued)
            ]
            time.sleep(0.05)
            asked = time.perf_counter()
            answer = tg.BlackboxLLM(idle)(tg.Variable("now", role_description="q"))
            answer.get_value()
            worst = max(worst, (started[0] - asked) * 1000)
            gate.set()
            for variable in waiting:
                variable.get_value()
    finally:
        tg.set_max_concurrency(previous)
    return worst


def fault_run(latency_s: float, steps: int, faults: Faults, timeout_s: float) -> dict[str, Any]:
    """The minibatch workload against a server that fails some attempts; every step must end."""
    with serve(latency_s, faults) as server:
        engine = wordgrad_engine(server.base_url, timeout_s=timeout_s)
        warm_up(engine)
        server.reset()
        workload = prompt_optimization(tg, engine)
        completed, started = 0, time.perf_counter()
        for _ in range(steps):
            workload.step()
            completed += 1
        elapsed = time.perf_counter() - started
        counters: Counters = server.reset()
    return {"steps": completed, "seconds": elapsed / steps, "counters": counters}


# ---------------------------------------------------------------------------- reporting


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(
        cell.rjust(width) if i else cell.ljust(width)
        for i, (cell, width) in enumerate(zip(cells, widths))
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per call (0.3)")
    parser.add_argument("--steps", type=int, default=2, help="optimization steps per run (2)")
    parser.add_argument("--no-upstream", action="store_true", help="skip upstream textgrad")
    parser.add_argument("--no-faults", action="store_true", help="skip the fault run")
    parser.add_argument("--fault-seed", type=int, default=1, help="seed of the fault RNG (1)")
    args = parser.parse_args(argv)
    with loopback_only():
        return run_all(
            args.latency,
            args.steps,
            not args.no_upstream,
            None if args.no_faults else args.fault_seed,
        )


def run_all(latency: float, steps: int, with_upstream: bool, fault_seed: int | None) -> int:
    """Run everything, print the figures and the verdicts; 0 when every target is met."""
    concurrency = tg.get_max_concurrency()
    checks: list[tuple[str, bool]] = []
    upstream = with_upstream and upstream_available()
    print(
        f"wordgrad speed benchmark: latency {latency * 1000:.0f} ms/call, {steps} steps per run, "
        f"max_concurrency {concurrency} (sequential: 1); upstream textgrad: "
        f"{'yes' if upstream else 'not installed' if with_upstream else 'skipped'}\n"
    )
    header = [
        "workload",
        "calls",
        "depth",
        "crit s",
        "conc s",
        "seq s",
        "speed-up",
        "conc/crit",
        "req conc",
        "req seq",
        "tokens",
        "same",
    ]
    if upstream:
        header += ["upstream s", "vs upstream"]
    widths = [max(len(h), 8) for h in header]
    widths[0] = 24
    print(_row(header, widths))
    with serve(latency) as server:
        engine = wordgrad_engine(server.base_url)
        warm_up(engine)
        with contextlib.ExitStack() as stack:
            if upstream:
                textgrad, cache_root = stack.enter_context(upstream_environment())
            for build in BUILDERS:
                concurrent_run = measure(server, tg, engine, build, steps)
                with tg.max_concurrency(1):
                    sequential_run = measure(server, tg, engine, build, steps)
                workload = build(tg, engine)  # only for its description
                critical = workload.depth * latency
                same = (concurrent_run.prompts, concurrent_run.values) == (
                    sequential_run.prompts,
                    sequential_run.values,
                )
                cells = [
                    workload.name,
                    f"{workload.calls}",
                    f"{workload.depth}",
                    f"{critical:.2f}",
                    f"{concurrent_run.seconds:.2f}",
                    f"{sequential_run.seconds:.2f}",
                    f"{sequential_run.seconds / concurrent_run.seconds:.1f}x",
                    f"{concurrent_run.seconds / critical:.2f}x",
                    f"{concurrent_run.requests:.0f}",
                    f"{sequential_run.requests:.0f}",
                    f"{concurrent_run.tokens:.0f}",
                    "yes" if same else "NO",
                ]
                if upstream:
                    upstream_run = measure(
                        server, textgrad, upstream_engine(server.base_url, cache_root), build, steps
                    )
                    cells += [
                        f"{upstream_run.seconds:.2f}",
                        f"{upstream_run.seconds / concurrent_run.seconds:.1f}x",
                    ]
                print(_row(cells, widths), flush=True)
                checks.append((f"{workload.name}: same prompts and values", same))
                checks.append(
                    (
                        f"{workload.name}: no more requests than sequential",
                        concurrent_run.requests <= sequential_run.requests,
                    )
                )
                if build is prompt_optimization and latency >= TARGET_LATENCY_S:
                    checks.append(
                        (
                            f"minibatch: >= {TARGET_SPEEDUP:g}x faster than sequential",
                            sequential_run.seconds >= TARGET_SPEEDUP * concurrent_run.seconds,
                        )
                    )
                    checks.append(
                        (
                            f"minibatch: within {TARGET_CRITICAL_RATIO:g}x of the critical path",
                            concurrent_run.seconds <= TARGET_CRITICAL_RATIO * critical,
                        )
                    )
        server.latency_s = 0.0
        round_trip = http_round_trip_ms(server.base_url)

    print(
        "\n(s = seconds per step; crit = depth x latency; req and tokens per step, from the server)"
    )
    overhead = zero_latency_overhead_ms()
    print(
        f"\nwordgrad overhead per call, zero-latency in-process engine: "
        f"{overhead['concurrent']:.2f} ms concurrent, {overhead['sequential']:.2f} ms sequential"
        f"\n(for scale: one call through the openai SDK to the local server at zero latency "
        f"takes {round_trip:.2f} ms; that is HTTP and the SDK, not wordgrad)"
    )
    checks.append(
        (
            f"overhead < {TARGET_OVERHEAD_MS:g} ms per call",
            max(overhead.values()) < TARGET_OVERHEAD_MS,
        )
    )

    mixed_ms = mixed_engine_start_ms()
    print(
        f"\nmixed engines: a call to an idle engine started {mixed_ms:.2f} ms after it was made "
        "(worst of 5) while a one-at-a-time engine had 12 calls queued (max_concurrency 4)"
    )
    checks.append(
        (
            f"mixed engines: an idle engine's call starts within {TARGET_MIXED_START_MS:g} ms",
            mixed_ms < TARGET_MIXED_START_MS,
        )
    )

    low, high = 0.05, 0.55
    bounds = barriers.measure(low, high)
    print(
        f"\nvariable latency ({low * 1000:.0f}-{high * 1000:.0f} ms per call, in-process), "
        "minibatch step, seconds: "
        + "; ".join(
            f"wall {b.wall_s:.2f} / wave bound {b.waves_s:.2f} / dataflow bound {b.dataflow_s:.2f}"
            for b in bounds
        )
        + "\n(the backward pass schedules each variable as soon as its own successors are done,"
        " so the wall time should track the dataflow bound, not the wave bound)"
    )

    if fault_seed is not None:
        fault_steps = max(steps, 3)
        faults = Faults(
            error_500=0.10,
            error_429=0.05,
            hang=0.03,
            retry_after_s=0.2,
            hang_s=4.0,
            seed=fault_seed,
        )
        timeout_s = 1.5
        result = fault_run(latency, fault_steps, faults, timeout_s)
        counters = result["counters"]
        print(
            f"\nfaults: 10% HTTP 500, 5% HTTP 429 (Retry-After {faults.retry_after_s:g} s), "
            f"3% hangs of {faults.hang_s:g} s (client time-out {timeout_s:g} s; seed "
            f"{fault_seed}): "
            f"{result['steps']}/{fault_steps} minibatch steps completed, "
            f"{result['seconds']:.2f} s/step; "
            f"{counters.attempts} attempts for {counters.answered} answers; injected: "
            + ", ".join(f"{name} x{count}" for name, count in sorted(counters.faults.items()))
        )
        checks.append(("faults: every step completed", result["steps"] == fault_steps))

    print()
    for name, ok in checks:
        print(f"{verdict(ok)}  {name}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
