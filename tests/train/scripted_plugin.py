"""A plugin for the ``wordgrad`` command line: registers ``scripted-train``, a scripted engine.

Loaded with ``--plugin tests.train.scripted_plugin`` (or ``WORDGRAD_PLUGINS``). Every reply
depends only on its request, through a hash, so concurrent calls give the same results in any
order: answers are right or wrong by hash, feedback and rewritten prompts vary with their input,
and validation therefore sometimes keeps and sometimes reverts an update.
``WORDGRAD_TEST_LATENCY`` (seconds) slows each call down. With ``WORDGRAD_TEST_HANG_AT=N`` and
``WORDGRAD_TEST_MARKER=path``, the N-th optimizer request creates ``path`` and then never
returns: the process is then certainly in the middle of step N, waiting for a signal.
With ``WORDGRAD_TEST_COUNT_FILE=path``, every answered request appends its token count (prompt
and completion, as the engine reports them) to ``path``: what the engine was asked for.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time
from pathlib import Path

from wordgrad.engine import ScriptedEngine, register_engine
from wordgrad.llm import Request, Response

ENGINE_NAME = "scripted-train"
_updates = itertools.count(1)


def _hash(*texts: str) -> int:
    return int(hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:12], 16)


def script(request: Request) -> str:
    system = request.system_prompt or ""
    prompt = request.prompt
    h = _hash(system, prompt)
    if request.purpose == "optimizer":
        _maybe_hang()
        return (
            f"<IMPROVED_VARIABLE>Count each object one by one (plan {h % 1000}), add the "
            "counts, and end with 'Answer: $VALUE'.</IMPROVED_VARIABLE>"
        )
    if "How many" in prompt or "how many" in prompt:
        return f"I count the items. Answer: {h % 9}"
    if "A) " in prompt and "B) " in prompt and "Answer:" not in system:
        return f"Reasoning {h % 7}. Answer: {'ABCD'[h % 4]}"
    return f"Feedback {h % 1000}: list the objects first and check the final count."


def _maybe_hang() -> None:
    hang_at = os.environ.get("WORDGRAD_TEST_HANG_AT")
    if hang_at is not None and next(_updates) == int(hang_at):
        Path(os.environ["WORDGRAD_TEST_MARKER"]).touch()
        time.sleep(3600)


class CountingEngine(ScriptedEngine):
    """Appends each answered request's tokens to ``$WORDGRAD_TEST_COUNT_FILE``."""

    def complete(self, request: Request) -> Response:
        response = super().complete(request)
        count_file = os.environ.get("WORDGRAD_TEST_COUNT_FILE")
        if count_file:
            tokens = response.usage.prompt_tokens + response.usage.completion_tokens
            descriptor = os.open(count_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(descriptor, f"{tokens}\n".encode())
            finally:
                os.close(descriptor)
        return response


def build(**kwargs: object) -> ScriptedEngine:
    latency = float(os.environ.get("WORDGRAD_TEST_LATENCY", "0"))
    return CountingEngine(script, model_string=ENGINE_NAME, latency_s=latency)


register_engine(ENGINE_NAME, build)
