"""Split sizes, order and determinism of every task, read from the shared offline data."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from wordgrad.tasks.bbh import BBH_TASKS, BigBenchHard
from wordgrad.tasks.gpqa import load_questions as load_gpqa
from wordgrad.tasks.gsm8k import GSM8K_DSPy
from wordgrad.tasks.humaneval import HumanEval
from wordgrad.tasks.leetcode import LeetCodeHardEval
from wordgrad.tasks.mmlu import MMLU

SMALL_BBH = {"causal_judgement": (68, 69), "penguins_in_a_table": (48, 48), "snarks": (64, 64)}


def test_there_are_27_bbh_tasks() -> None:
    assert len(BBH_TASKS) == 27


@pytest.mark.parametrize("task", BBH_TASKS)
def test_bbh_splits_follow_file_order(task: str, offline_data: Path) -> None:
    examples = json.loads((offline_data / f"bbh/bbh/{task}.json").read_text())["examples"]
    splits = {split: BigBenchHard(task, split) for split in ("train", "val", "test")}
    val_size, test_size = SMALL_BBH.get(task, (100, 100))
    assert [len(s) for s in splits.values()] == [50, val_size, test_size]
    joined = [*splits["train"], *splits["val"], *splits["test"]]
    assert joined == [(e["input"], e["target"]) for e in examples]
    assert all(isinstance(x, str) and isinstance(y, str) for x, y in joined)
    assert list(BigBenchHard(task, "val")) == list(splits["val"])


def test_bbh_shuffle_seed_is_optional_and_deterministic() -> None:
    plain = BigBenchHard("object_counting", "train")
    shuffled = BigBenchHard("object_counting", "train", shuffle_seed=1)
    again = BigBenchHard("object_counting", "train", shuffle_seed=1)
    assert list(shuffled) == list(again)
    assert list(shuffled) != list(plain)
    assert len(shuffled) == 50


def test_bbh_rejects_unknown_task_and_split() -> None:
    with pytest.raises(ValueError, match="object_counting"):
        BigBenchHard("object_countin")
    with pytest.raises(ValueError, match="split"):
        BigBenchHard("object_counting", "validation")  # type: ignore[arg-type]


def test_bbh_task_description_asks_for_an_answer_line() -> None:
    assert "Answer: $VALUE" in BigBenchHard("word_sorting").get_task_description()


def _gsm8k_questions(path: Path) -> list[str]:
    return ["Question: " + json.loads(line)["question"] for line in path.read_text().splitlines()]


def test_gsm8k_dspy_split_matches_the_published_indices(offline_data: Path) -> None:
    train_file = _gsm8k_questions(offline_data / "gsm8k/train.jsonl")
    test_file = _gsm8k_questions(offline_data / "gsm8k/test.jsonl")
    train, val, test = (GSM8K_DSPy(split) for split in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (200, 300, 1319)
    # Check values from the data folder's SOURCE.md (DSPy's split, random.Random(0)).
    assert [x for x, _ in train[:3]] == [train_file[i] for i in (4530, 6017, 4120)]
    assert [x for x, _ in val[:3]] == [train_file[i] for i in (1872, 1933, 400)]
    assert [x for x, _ in test[:3]] == [test_file[i] for i in (1101, 120, 474)]
    assert not {x for x, _ in train} & {x for x, _ in val}
    assert list(GSM8K_DSPy("train")) == list(train)


def test_gsm8k_answers_are_plain_integer_strings() -> None:
    test = GSM8K_DSPy("test")
    assert all(str(int(y)) == y for _, y in test)
    first_file_problem = next(
        item for item in test if item[0].startswith("Question: Janet’s ducks")
    )
    assert first_file_problem[1] == "18"


@pytest.mark.parametrize(
    ("subset", "split", "size"),
    [
        ("machine_learning", "test", 112),
        ("college_physics", "test", 102),
        ("machine_learning", "train", 5),
        ("college_physics", "dev", 5),
    ],
)
def test_mmlu_sizes(subset: str, split: str, size: int) -> None:
    data = MMLU(subset, split)  # type: ignore[arg-type]
    assert len(data) == size
    prompt, letter = data[0]
    assert letter in "ABCD"
    assert "A) " in prompt and "D) " in prompt and "Answer: $LETTER" in prompt


def test_mmlu_first_dev_question_keeps_option_order() -> None:
    prompt, letter = MMLU("college_physics", "train")[0]
    assert letter == "A"
    assert "A) 4\nB) 5\nC) 6\nD) 20" in prompt


def test_gpqa_letters_vary_and_are_deterministic() -> None:
    questions = load_gpqa()
    assert len(questions) == 198
    counts = collections.Counter(q.answer for q in questions)
    assert set(counts) == set("ABCD") and max(counts.values()) < 80
    assert load_gpqa() == questions
    assert load_gpqa(seed=7) != questions


def test_gpqa_upstream_order_puts_every_right_answer_at_c() -> None:
    # Upstream reseeds before every question, so every question gets the same permutation.
    assert {q.answer for q in load_gpqa(upstream_order=True)} == {"C"}


def test_leetcode_hard_has_39_problems_with_asserts() -> None:
    problems = LeetCodeHardEval()
    assert len(problems) == 39
    task_id, prompt, tests = problems[0]
    assert task_id == "minimum-time-to-visit-a-cell-in-a-grid"
    assert prompt.startswith("def minimumTime(")
    assert tests.startswith("assert minimumTime(")
    assert sum(t.count("assert ") for _, _, t in problems) == 90


def test_humaneval_has_164_problems_whose_tests_call_check() -> None:
    problems = HumanEval()
    assert len(problems) == 164
    assert [p[0] for p in problems[:2]] == ["HumanEval/0", "HumanEval/1"]
    assert problems[0][2].rstrip().endswith("check(has_close_elements)")
