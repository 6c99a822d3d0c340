"""MathVista and ScienceQA from small Parquet files the test writes in the release's layout,
read locally and downloaded from a mirror on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wordgrad as tg
from tests import imaging
from wordgrad.errors import DataError
from wordgrad.images import InvalidImageError
from wordgrad.tasks import data
from wordgrad.tasks.multimodal import load_multimodal_instance_task, mathvista, scienceqa

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
REAL_URLOPEN = urllib.request.urlopen

MATHVISTA_ROWS: list[dict[str, Any]] = [
    {
        "pid": "1",
        "question": "How many bars are taller than 5?",
        "query": "Hint: answer with an integer.\nQuestion: How many bars are taller than 5?",
        "decoded_image": {"bytes": imaging.png(3, 2), "path": "1.png"},
        "choices": None,
        "unit": None,
        "precision": None,
        "answer": "3",
        "question_type": "free_form",
        "answer_type": "integer",
        "metadata": {"source": "synthetic"},
    },
    {
        "pid": "2",
        "question": "Which colour is the largest region?",
        "query": "Question: Which colour is the largest region?\nChoices:\n(A) red\n(B) blue",
        "decoded_image": {"bytes": imaging.png(2, 2), "path": "2.png"},
        "choices": ["red", "blue"],
        "unit": None,
        "precision": None,
        "answer": "red",
        "question_type": "multi_choice",
        "answer_type": "text",
        "metadata": {"source": "synthetic"},
    },
    {
        "pid": "3",
        "question": "What is the slope?",
        "query": "Question: What is the slope? (one decimal place)",
        "decoded_image": {"bytes": imaging.png(2, 3), "path": "3.png"},
        "choices": None,
        "unit": None,
        "precision": 1.0,
        "answer": "1.5",
        "question_type": "free_form",
        "answer_type": "float",
        "metadata": {"source": "synthetic"},
    },
]

SCIENCEQA_ROWS: list[dict[str, Any]] = [
    {
        "image": {"bytes": imaging.png(4, 4), "path": None},
        "question": "Which of these states is farthest north?",
        "choices": ["Arizona", "Maine", "Georgia"],
        "answer": 1,
        "hint": "",
    },
    {
        "image": None,  # a text-only question: not part of the image task
        "question": "What is the capital of France?",
        "choices": ["Paris", "Rome"],
        "answer": 0,
        "hint": "",
    },
    {
        "image": {"bytes": imaging.jpeg(), "path": None},
        "question": "Which material is this spoon made of?",
        "choices": ["wood", "metal"],
        "answer": 0,
        "hint": "Look at the grain.",
    },
]


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "data"
    write_parquet(root / mathvista.source().path, MATHVISTA_ROWS)
    write_parquet(root / scienceqa.source("test").path, SCIENCEQA_ROWS)
    monkeypatch.setenv("WORDGRAD_CACHE_DIR", str(tmp_path / "cache"))
    return root


def test_mathvista_items_have_upstreams_shape(data_dir: Path) -> None:
    tasks = load_multimodal_instance_task("mathvista", None, root=data_dir)
    assert len(tasks) == 3
    image, query, answer, question_data, objective, score = tasks[0]
    assert image == imaging.png(3, 2)
    assert query.endswith("How many bars are taller than 5?")
    assert query.startswith(tasks.task_instruction)
    assert answer == "3"
    assert question_data["answer_type"] == "integer" and question_data["pid"] == "1"
    assert callable(objective) and callable(score)


def test_mathvista_scoring_extracts_normalises_and_compares(data_dir: Path) -> None:
    tasks = mathvista.MathVistaDataset(root=data_dir)
    count, colour, slope = (item[5] for item in tasks)
    assert count("Three bars pass 5. Answer: 3") == 1
    assert count("I count 4 of them") == 0
    assert count("no idea") == 0
    assert colour("The red region is biggest. Answer: (A)") == 1
    assert colour("Clearly blue dominates.") == 0
    assert slope("Rise 3 over run 2 gives 1.50") == 1
    assert slope("about 1.46") == 1  # rounded to the question's precision, one decimal place
    assert slope("about 1.44") == 0
    assert mathvista.safe_equal(1.5, "1.5") and not mathvista.safe_equal(None, "x")
    assert mathvista.get_most_similar("blu", ["red", "blue"]) == "blue"
    assert not mathvista.verify_extraction("  ")


def test_mathvista_uses_an_engine_only_when_rules_find_nothing(data_dir: Path) -> None:
    engine = tg.ScriptedEngine(lambda request: "3")
    tasks = mathvista.MathVistaDataset(engine, root=data_dir)
    score = tasks[0][5]
    assert score("Answer: 3") == 1 and engine.requests == []
    assert score("three of them, I think") == 1
    (request,) = engine.requests
    assert "three of them, I think" in request.prompt
    assert "Extracted answer:" in request.prompt


def test_the_test_time_objective_sends_the_image_to_the_critic(data_dir: Path) -> None:
    import dataclasses

    critic = tg.ScriptedEngine(lambda request: "The count is wrong.")
    critic.capabilities = dataclasses.replace(critic.capabilities, images=True)
    tasks = mathvista.MathVistaDataset(critic, root=data_dir)
    image, _, _, _, objective, _ = tasks[0]
    answer = tg.Variable("Answer: 4", role_description="answer to the image question")
    loss = objective(answer)
    assert loss.value == "The count is wrong."
    content = critic.requests[0].messages[-1].content
    assert any(getattr(part, "data", None) == image for part in content)


def test_scienceqa_keeps_image_questions_with_letter_answers(data_dir: Path) -> None:
    tasks = load_multimodal_instance_task("scienceqa", None, root=data_dir)
    assert len(tasks) == 2
    image, query, answer, question_data, _, score = tasks[0]
    assert image == imaging.png(4, 4)
    assert "Choices: (A) Arizona (B) Maine (C) Georgia" in query
    assert answer == "B"
    assert question_data["choices"] == ["Arizona", "Maine", "Georgia"]
    assert score("It is in New England. Answer: (B) Maine") == 1
    assert score("Answer: (A) Arizona") == 0
    assert score("The answer is Maine, clearly.") == 1  # by the choice's words
    spoon = tasks[1]
    assert spoon[1].count("Context: Look at the grain.") == 1
    assert spoon[0][:2] == b"\xff\xd8" and spoon[2] == "A"
    assert scienceqa.extract_answer("xxxxx. Answer: (A) a gas.") == "A"
    assert scienceqa.find_most_similar_choice("made of metal", ["wood", "metal"]) == 1
    assert len(load_multimodal_instance_task("scienceqa", None, root=data_dir, max_samples=1)) == 1


def test_a_corrupt_image_in_the_data_is_named(data_dir: Path) -> None:
    broken = [dict(MATHVISTA_ROWS[0], decoded_image={"bytes": b"not a picture", "path": "x"})]
    write_parquet(data_dir / mathvista.source().path, broken)
    with pytest.raises(InvalidImageError, match="not an image"):
        mathvista.MathVistaDataset(root=data_dir)
    (data_dir / scienceqa.source("test").path).write_bytes(b"PAR1 but not really")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        scienceqa.ScienceQADataset(root=data_dir)
    with pytest.raises(ValueError, match="unknown image task"):
        load_multimodal_instance_task("mathverse", None)


def test_large_images_are_shrunk_under_the_bound() -> None:
    big = imaging.jpeg(600, 600)
    small = mathvista.compress_image(big, max_size_bytes=len(big) // 2)
    assert len(small) <= len(big) // 2
    assert mathvista.compress_image(imaging.PNG) == imaging.PNG


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "mirror"
    write_parquet(root / mathvista.source().path, MATHVISTA_ROWS)
    write_parquet(root / scienceqa.source("test").path, SCIENCEQA_ROWS)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
        server.shutdown()


def test_missing_files_are_downloaded_once_and_cached(
    mirror: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, root = mirror
    monkeypatch.setattr(urllib.request, "urlopen", REAL_URLOPEN)
    monkeypatch.setenv(data.MIRROR_ENV, url)
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv("WORDGRAD_CACHE_DIR", str(tmp_path / "cache"))
    assert len(load_multimodal_instance_task("mathvista", None)) == 3
    assert len(load_multimodal_instance_task("scienceqa", None)) == 2
    cached = tmp_path / "cache/data" / mathvista.source().path
    assert cached.read_bytes() == (root / mathvista.source().path).read_bytes()
    (root / mathvista.source().path).unlink()  # the mirror is not asked again
    assert len(load_multimodal_instance_task("mathvista", None)) == 3


def test_sources_are_the_releases_files() -> None:
    assert mathvista.source().url == (
        "https://huggingface.co/datasets/AI4Math/MathVista/resolve/main/data/"
        "testmini-00000-of-00001-725687bf7a18d64b.parquet"
    )
    test_url = scienceqa.source("test").url
    assert "/derek-thomas/ScienceQA/resolve/f18b0a70359ebfb41f658fd564208d0355b013f4/" in test_url
    assert test_url.endswith("test-00000-of-00001-f0e719df791966ff.parquet")
