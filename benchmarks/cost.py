"""What one prompt-optimization step costs in input tokens: by request role, what a provider's
prefix cache could serve, and the input a provider bills; wordgrad against upstream textgrad.

Run from the repository root::

    python -m benchmarks.cost                 # or: python benchmarks/cost.py
    python -m benchmarks.cost --latency 0.3 --no-upstream

The workload is :func:`benchmarks.workloads.prompt_optimization` (a minibatch of 8: answers,
losses, feedback, one update), once with a short starting prompt (about 50 tokens) and once
with a long one (about 1,450 tokens). Every request goes to the fake OpenAI-compatible server of
:mod:`benchmarks.server`, which here also models automatic prefix caching the way OpenAI
documents it for its API: a request can be served from the cache for the longest prefix it
shares with a request that was *answered before it arrived*, when that prefix is at least 1,024
tokens, in steps of 128 tokens. Cached input is billed at half price (gpt-4o-mini's rate).
Tokens are the server's count (4 characters a token) for both libraries, so the ratios compare
like with like.

Roles: ``forward`` (the model answering with the trained system prompt), ``loss`` (the
evaluator), ``feedback`` (gradient requests), ``optimizer`` (the update). The server tells them
apart by what the request holds, the same way for both libraries.

Targets (issue 16): billed input at most 0.6x textgrad's for both prompt lengths; wall time per
step still at least 5x faster than textgrad. Printed as PASS / FAIL; the exit code is non-zero
when a target is missed (only when textgrad is installed; see ``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

if not __package__:  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import wordgrad as tg
from benchmarks.server import UPDATE_TAG, FakeOpenAIServer, count_tokens
from benchmarks.speed import (
    loopback_only,
    upstream_available,
    upstream_engine,
    upstream_environment,
    warm_up,
    wordgrad_engine,
)
from benchmarks.workloads import STARTING_PROMPT, Workload, prompt_optimization

CACHE_MIN_TOKENS = 1024
"""The shortest prefix a provider caches (OpenAI: 1,024 tokens)."""
CACHE_STEP_TOKENS = 128
"""Cached prefixes count in steps of this many tokens beyond the minimum (OpenAI)."""
CACHED_INPUT_PRICE = 0.5
"""Price of a cached input token relative to an uncached one (gpt-4o-mini: half)."""
TARGET_BILLED_RATIO = 0.6
TARGET_SPEEDUP = 5.0
ROLES = ("forward", "loss", "feedback", "optimizer")

LONG_PROMPT = "\n".join(
    [STARTING_PROMPT, "", "Guidelines you follow on every question:"]
    + [
        f"{n}. When the question lists items of kind {n}, count each kind separately, write the "
        f"count of each next to its name, check that no item of kind {n} was counted twice, and "
        "only then add the counts; state which items are fruit and which are not before adding."
        for n in range(1, 23)
    ]
)
"""A starting prompt of about 1,450 tokens (by the server's count)."""


def canonical_prompt(body: Mapping[str, Any]) -> str:
    """The request's messages as one string, in order: what a prefix cache compares."""
    parts = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        parts.append(f"<|{message.get('role')}|>{content or ''}")
    return "".join(parts)


def shared_prefix_length(a: str, b: str) -> int:
    """Length of the longest common prefix of ``a`` and ``b`` (binary search on slices)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def cacheable_tokens(prefix_chars: int) -> int:
    """Tokens of a shared prefix a provider would serve from its cache."""
    tokens = count_tokens("x" * prefix_chars) if prefix_chars else 0
    if tokens < CACHE_MIN_TOKENS:
        return 0
    return CACHE_MIN_TOKENS + (tokens - CACHE_MIN_TOKENS) // CACHE_STEP_TOKENS * CACHE_STEP_TOKENS


@dataclass
class RoleTally:
    requests: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0

    @property
    def billed(self) -> float:
        return self.prompt_tokens - (1 - CACHED_INPUT_PRICE) * self.cached_tokens


@dataclass
class Tally:
    roles: dict[str, RoleTally] = field(default_factory=lambda: {r: RoleTally() for r in ROLES})

    def total(self) -> RoleTally:
        out = RoleTally()
        for tally in self.roles.values():
            out.requests += tally.requests
            out.prompt_tokens += tally.prompt_tokens
            out.cached_tokens += tally.cached_tokens
        return out


class PrefixCacheServer(FakeOpenAIServer):
    """The fake server, also counting input tokens by role and what a prefix cache could serve.

    ``classify`` gets the request body and returns its role.
    """

    def __init__(self, latency_s: float, classify: Callable[[Mapping[str, Any]], str]) -> None:
        super().__init__(latency_s)
        self.classify = classify
        self.tally = Tally()
        self._answered: list[str] = []
        self._cache_lock = threading.Lock()

    def reset_tally(self) -> Tally:
        with self._cache_lock:
            old, self.tally, self._answered = self.tally, Tally(), []
        return old

    def answer(self, body: Mapping[str, Any]) -> dict[str, Any]:
        prompt = canonical_prompt(body)
        with self._cache_lock:  # on arrival: only requests answered before now can serve it
            answered = list(self._answered)
        prefix = max((shared_prefix_length(prompt, seen) for seen in answered), default=0)
        completion = super().answer(body)
        tally = self.tally.roles[self.classify(body)]
        with self._cache_lock:
            tally.requests += 1
            tally.prompt_tokens += completion["usage"]["prompt_tokens"]
            tally.cached_tokens += cacheable_tokens(prefix)
            self._answered.append(prompt)
        return completion


class Classifier:
    """Tells a request's role from what it holds; ``prompt`` is the trained variable."""

    def __init__(self) -> None:
        self.prompt: Any = None

    def __call__(self, body: Mapping[str, Any]) -> str:
        texts = [str(m.get("content")) for m in body.get("messages", [])]
        system = next(
            (str(m.get("content")) for m in body.get("messages", []) if m.get("role") == "system"),
            "",
        )
        if body.get("response_format") or any(UPDATE_TAG in text for text in texts):
            return "optimizer"
        if self.prompt is not None and system == str(self.prompt.value):
            return "forward"
        if system.startswith("Check the answer to this question"):
            return "loss"
        return "feedback"


@dataclass(frozen=True)
class Measured:
    seconds: float
    tally: Tally
    steps: int


def measure(
    server: PrefixCacheServer,
    classifier: Classifier,
    library: ModuleType,
    engine: Any,
    prompt: str,
    steps: int,
) -> Measured:
    server.reset_tally()
    workload: Workload = prompt_optimization(library, engine, prompt=prompt)
    classifier.prompt = workload.parameters[0]
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        workload.step()
        times.append(time.perf_counter() - started)
    return Measured(statistics.mean(times), server.reset_tally(), steps)


def describe(name: str, measured: Measured) -> list[str]:
    lines = []
    n = measured.steps
    for role, tally in [*measured.tally.roles.items(), ("total", measured.tally.total())]:
        lines.append(
            f"  {name:9} {role:9} {tally.requests / n:6.1f} req  "
            f"{tally.prompt_tokens / n:9,.0f} prompt tok  {tally.cached_tokens / n:9,.0f} cacheable"
            f"  {tally.billed / n:9,.0f} billed"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per call (0.3)")
    parser.add_argument("--steps", type=int, default=1, help="optimization steps per run (1)")
    parser.add_argument("--no-upstream", action="store_true", help="skip upstream textgrad")
    args = parser.parse_args(argv)
    upstream = not args.no_upstream and upstream_available()
    print(
        f"cost benchmark: minibatch of 8, latency {args.latency:g} s, {args.steps} step(s) per "
        f"run; cache: prefix >= {CACHE_MIN_TOKENS} tokens answered earlier, cached input at "
        f"{CACHED_INPUT_PRICE:g}x; upstream textgrad: {'yes' if upstream else 'not run'}\n"
    )
    failures = 0
    classifier = Classifier()
    with contextlib.ExitStack() as stack:
        stack.enter_context(loopback_only())
        server = PrefixCacheServer(args.latency, classifier)
        server.start()
        stack.callback(server.stop)
        engine = wordgrad_engine(server.base_url)
        warm_up(engine)
        if upstream:
            textgrad, cache_root = stack.enter_context(upstream_environment())
        for label, prompt in (("short", STARTING_PROMPT), ("long", LONG_PROMPT)):
            print(f"{label} starting prompt ({count_tokens(prompt):,} tokens):")
            ours = measure(server, classifier, tg, engine, prompt, args.steps)
            for line in describe("wordgrad", ours):
                print(line)
            if upstream:
                theirs = measure(
                    server,
                    classifier,
                    textgrad,
                    upstream_engine(server.base_url, cache_root),
                    prompt,
                    args.steps,
                )
                for line in describe("textgrad", theirs):
                    print(line)
                billed = ours.tally.total().billed / theirs.tally.total().billed
                tokens = ours.tally.total().prompt_tokens / theirs.tally.total().prompt_tokens
                speedup = theirs.seconds / ours.seconds
                ok_billed, ok_speed = billed <= TARGET_BILLED_RATIO, speedup >= TARGET_SPEEDUP
                failures += (not ok_billed) + (not ok_speed)
                print(
                    f"  prompt tokens {tokens:.2f}x textgrad's; billed input {billed:.2f}x "
                    f"(target <= {TARGET_BILLED_RATIO}: {'PASS' if ok_billed else 'FAIL'}); "
                    f"{ours.seconds:.2f} s vs {theirs.seconds:.2f} s a step, {speedup:.1f}x "
                    f"faster (target >= {TARGET_SPEEDUP:g}x: {'PASS' if ok_speed else 'FAIL'})"
                )
            else:
                print(f"  {ours.seconds:.2f} s a step")
            print()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
