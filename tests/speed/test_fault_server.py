"""The minibatch workload through the OpenAI engine against the benchmark's fault server: every
step completes despite 500s, 429s and hangs, and ends exactly as a run without faults does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from benchmarks.server import FakeOpenAIServer, Faults, serve
from benchmarks.speed import loopback_only
from benchmarks.workloads import prompt_optimization

import wordgrad as tg
from wordgrad.engine import RetryPolicy

# Enough attempts that no request fails them all: with 18% of attempts faulty, ten in a row for
# one of the 66 requests has a chance of about 1e-6 (five attempts: about 1%, seen in CI).
FAST_RETRIES = RetryPolicy(
    max_attempts=10, initial_backoff_s=0.01, max_backoff_s=0.05, timeout_s=0.5
)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with loopback_only(), serve(latency_s=0.01) as running:
        yield running


def run_steps(server: FakeOpenAIServer, steps: int) -> list[str]:
    engine = tg.get_engine(
        "openai/bench-model",
        base_url=server.base_url,
        api_key="test",
        cache=False,
        retry=FAST_RETRIES,
    )
    workload = prompt_optimization(tg, engine)
    try:
        for _ in range(steps):
            workload.step()
    finally:  # its pooled connections (a timed-out attempt's too) close here, not at collection
        engine._client.close()  # type: ignore[attr-defined]
    return [str(p.value) for p in workload.parameters]


def test_every_step_completes_despite_faults_and_ends_as_without_them(
    server: FakeOpenAIServer,
) -> None:
    steps = 2
    clean_values = run_steps(server, steps)
    clean = server.reset(
        Faults(error_500=0.10, error_429=0.05, hang=0.03, retry_after_s=0.01, hang_s=1.5, seed=7)
    )
    faulty_values = run_steps(server, steps)
    faulty = server.reset()

    assert faulty_values == clean_values
    assert clean.attempts == clean.answered == 33 * steps
    # Every request is answered exactly once; each failed attempt was retried.
    assert faulty.answered == 33 * steps
    assert faulty.attempts == faulty.answered + sum(faulty.faults.values())
    assert faulty.attempts > faulty.answered, faulty.faults
    assert sorted(faulty.prompts) == sorted(clean.prompts)
