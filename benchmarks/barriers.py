"""How much the backward pass's waves cost when call latencies vary, as real ones do.

The minibatch step runs against an in-process engine whose latency is a fixed function of each
request, uniform in [``low_s``, ``high_s``]. From the latencies of one step's calls it computes two
lower bounds: *dataflow*, where each item's chain (answer, loss, feedback to the answer, feedback
to the prompt) runs on its own and only the update waits for all of them, and *waves*, where each
level of the backward pass waits for the slowest call of the level before it (how
:func:`wordgrad.graph.run_backward` schedules). With a fixed latency the two coincide, so the main
benchmark cannot show the difference; this one can.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import wordgrad as tg
from benchmarks.server import digest, reply_for
from benchmarks.workloads import QUESTIONS, prompt_optimization
from wordgrad.llm import Request


@dataclass(frozen=True)
class Bounds:
    wall_s: float
    dataflow_s: float
    waves_s: float


def _kind(request: Request) -> str:
    """Which of the step's calls this is: F(orward), L(oss), A (feedback to the answer), B
    (feedback to the prompt) or U(pdate), from the prompts the workload and wordgrad use."""
    system = request.system_prompt or ""
    if system.startswith("You revise"):
        return "U"
    if system.startswith("Check the answer"):
        return "L"
    if system.startswith("You are the feedback writer"):
        return "A" if "Check the answer" in request.prompt else "B"
    return "F"


def measure(low_s: float = 0.05, high_s: float = 0.55, steps: int = 3) -> list[Bounds]:
    """Wall time and both bounds for ``steps`` minibatch steps (after one unmeasured step)."""
    latency: dict[int, float] = {}

    def script(request: Request) -> str:
        texts = [message.text for message in request.messages]
        seconds = low_s + (int(digest(texts), 16) % 1000) / 1000 * (high_s - low_s)
        time.sleep(seconds)
        latency[id(request)] = seconds
        return reply_for(texts)

    engine = tg.ScriptedEngine(script)
    workload = prompt_optimization(tg, engine)
    workload.step()
    results = []
    for _ in range(steps):
        engine.reset()
        latency.clear()
        started = time.perf_counter()
        workload.step()
        wall = time.perf_counter() - started
        chains: dict[int, dict[str, float]] = {}
        update = 0.0
        for request in engine.requests:
            kind = _kind(request)
            if kind == "U":
                update = latency[id(request)]
                continue
            text = (request.system_prompt or "") + request.prompt
            item = next(i for i, question in enumerate(QUESTIONS) if question in text)
            chains.setdefault(item, {})[kind] = latency[id(request)]
        dataflow = max(sum(chain.values()) for chain in chains.values()) + update
        waves = (
            max(c["F"] + c["L"] for c in chains.values())
            + max(c["A"] for c in chains.values())
            + max(c["B"] for c in chains.values())
            + update
        )
        results.append(Bounds(wall, dataflow, waves))
    return results
