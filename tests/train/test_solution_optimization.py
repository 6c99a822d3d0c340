"""Test-time solution optimization: critique-and-rewrite iterations and the majority vote."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

import wordgrad as tg
from wordgrad.llm import Request
from wordgrad.train.events import Iterate, Question, read_events
from wordgrad.train.runs import RunDir, RunStopped
from wordgrad.train.solution_optimization import (
    SolutionOptimizationConfig,
    majority_vote,
    optimize_solutions,
)

from ..conftest import SHARED_DATA


def test_majority_vote_counts_letters_and_breaks_ties_by_first_seen() -> None:
    assert majority_vote(["A", "B", "B", None]) == "B"
    assert majority_vote(["C", "A", "A", "C"]) == "C"
    assert majority_vote([None, None]) is None


def script(request: Request) -> str:
    """Zero-shot answers say A; each rewrite moves one letter on (A -> B -> C -> D)."""
    if request.purpose == "optimizer":
        current = re.findall(r"Answer: ([A-D])", request.prompt)
        letter = current[0] if current else "A"
        following = "ABCD"[min("ABCD".index(letter) + 1, 3)]
        return f"<IMPROVED_VARIABLE>Thought again. Answer: {following}</IMPROVED_VARIABLE>"
    if "Answer: $LETTER" in request.prompt and "<" not in request.prompt[:1]:
        return "Zero-shot reasoning. Answer: A"
    return "The reasoning skips a step."


def test_each_question_is_rewritten_and_voted_on(tmp_path: Path) -> None:
    engine = tg.ScriptedEngine(script, model_string="scripted")
    config = SolutionOptimizationConfig(model="scripted", iterations=3, batch_size=2, size=3)
    results = optimize_solutions(
        config, tmp_path, data_dir=SHARED_DATA, forward_engine=engine, backward_engine=engine
    )

    questions = [e for e in read_events(tmp_path) if isinstance(e, Question)]
    assert [q.index for q in questions] == [0, 1, 2]
    # two questions side by side, one version each per step: 4 versions end at step 4; the
    # third question starts at step 5 and ends at step 8
    assert [q.step for q in questions] == [4, 4, 8]
    iterates = [e for e in read_events(tmp_path) if isinstance(e, Iterate)]
    assert [(e.step, e.iteration) for e in iterates if e.instance == "q2"] == [
        (5, 0),
        (6, 1),
        (7, 2),
        (8, 3),
    ]
    # each version's correctness is in the log; the critic never saw it
    assert [e.score for e in iterates if e.instance == "q0"] == [
        float(v == questions[0].answer) for v in questions[0].votes
    ]
    critic_prompts = [r.prompt for r in engine.requests if "Proposed solution" in r.prompt]
    assert critic_prompts and not any("score:" in p for p in critic_prompts)
    first = questions[0]
    assert len(first.iterates) == 4  # zero-shot + 3 rewrites
    assert first.votes == ["A", "B", "C", "D"]
    assert first.majority == majority_vote(first.votes)
    assert first.majority_score == float(first.majority == first.answer)
    test = results["test"]
    assert test["before_label"] == "zero-shot" and test["after_label"] == "majority vote"
    assert test["before"]["n"] == test["after"]["n"] == 3
    assert results["questions"] == 3
    # calls made on the questions' threads are counted in the run's usage
    assert results["usage"]["calls"] == len(engine.requests)
    assert results["usage"]["by_purpose"]["optimizer"]["calls"] == 3 * 3


def test_a_stopped_run_resumes_at_the_next_unfinished_step(tmp_path: Path) -> None:
    config = SolutionOptimizationConfig(model="scripted", iterations=2, batch_size=2, size=5)
    reference = tmp_path / "reference"
    engine = tg.ScriptedEngine(script, model_string="scripted")
    expected = optimize_solutions(
        config, reference, data_dir=SHARED_DATA, forward_engine=engine, backward_engine=engine
    )

    calls = itertools.count(1)

    def interrupted(request: Request) -> str:
        if request.purpose == "optimizer" and next(calls) == 6:
            raise KeyboardInterrupt  # Ctrl-C in the middle of step 5
        return script(request)

    stopping = tg.ScriptedEngine(interrupted, model_string="scripted")
    run_dir = tmp_path / "run"
    with pytest.raises(RunStopped):
        optimize_solutions(
            config, run_dir, data_dir=SHARED_DATA, forward_engine=stopping, backward_engine=stopping
        )
    # steps 1-3: zero-shot answers and two rewrites of questions 0 and 1 (rewrites 1-4);
    # step 4: zero-shot answers of questions 2 and 3; step 5 holds rewrites 5 and 6.
    # The newest three checkpoints are kept (keep_checkpoints' default), the last of step 4.
    assert RunDir(run_dir).checkpoint_steps() == [2, 3, 4]

    again = tg.ScriptedEngine(script, model_string="scripted")
    results = optimize_solutions(
        config, run_dir, data_dir=SHARED_DATA, forward_engine=again, backward_engine=again
    )
    indices = [e.index for e in read_events(run_dir) if isinstance(e, Question)]
    assert indices == [0, 1, 2, 3, 4]
    assert results["test"] == expected["test"]
    assert results["instances"] == expected["instances"]
