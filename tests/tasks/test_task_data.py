"""Finding, downloading and caching data files, and the errors when that fails."""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wordgrad.errors import DataError
from wordgrad.tasks import data, humaneval, leetcode
from wordgrad.tasks.bbh import BBH_TASKS, BigBenchHard
from wordgrad.tasks.bbh import source as bbh_source
from wordgrad.tasks.gpqa import load_questions as load_gpqa
from wordgrad.tasks.gpqa import source as gpqa_source
from wordgrad.tasks.gsm8k import GSM8K_DSPy
from wordgrad.tasks.gsm8k import source as gsm8k_source
from wordgrad.tasks.mmlu import MMLU
from wordgrad.tasks.mmlu import source as mmlu_source

REAL_URLOPEN = urllib.request.urlopen
TINY_BBH = b'{"canary": "x", "examples": [%s]}' % b", ".join(
    b'{"input": "q%d", "target": "%d"}' % (i, i) for i in range(250)
)


class FakeOpener:
    """Stands in for urlopen: records URLs and answers with fixed bytes."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.urls: list[str] = []

    def __call__(self, url: str, timeout: float) -> io.BytesIO:
        self.urls.append(url)
        return io.BytesIO(self.payload)


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving a data-folder layout from a temporary directory."""
    root = tmp_path / "mirror"
    (root / "bbh/bbh").mkdir(parents=True)
    (root / "bbh/bbh/object_counting.json").write_bytes(TINY_BBH)
    handler = functools.partial(QuietHandler, directory=str(root))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
        server.shutdown()
        thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_explicit_data_dir_wins_over_the_environment(tmp_path: Path) -> None:
    (tmp_path / "bbh/bbh").mkdir(parents=True)
    (tmp_path / "bbh/bbh/object_counting.json").write_bytes(TINY_BBH)
    assert data.fetch(bbh_source("object_counting"), tmp_path).parent == tmp_path / "bbh/bbh"
    assert BigBenchHard("object_counting", "train", data_dir=tmp_path)[0] == ("q0", "0")


def test_missing_file_offline_names_every_place_looked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(data.OFFLINE_ENV, "1")
    with pytest.raises(DataError) as caught:
        GSM8K_DSPy("train", data_dir=tmp_path / "empty")
    message = str(caught.value)
    assert str(tmp_path / "empty" / "gsm8k/train.jsonl") in message
    assert str(tmp_path / "cache" / "data" / "gsm8k/train.jsonl") in message
    assert data.OFFLINE_ENV in message


def test_failed_download_names_the_paths_and_the_url(tmp_path: Path) -> None:
    def refuse(url: str, timeout: float) -> io.BytesIO:
        raise urllib.error.URLError("no route to host")

    with pytest.raises(DataError) as caught:
        data.fetch(bbh_source("navigate"), tmp_path / "empty", opener=refuse)
    message = str(caught.value)
    assert str(tmp_path / "empty" / "bbh/bbh/navigate.json") in message
    assert bbh_source("navigate").url in message and "no route to host" in message


def test_download_uses_the_pinned_url_and_caches_the_file(tmp_path: Path) -> None:
    opener = FakeOpener(TINY_BBH)
    first = data.fetch(bbh_source("object_counting"), tmp_path / "empty", opener=opener)
    second = data.fetch(bbh_source("object_counting"), tmp_path / "empty", opener=opener)
    assert first == second == tmp_path / "cache/data/bbh/bbh/object_counting.json"
    assert first.read_bytes() == TINY_BBH
    assert opener.urls == [
        "https://raw.githubusercontent.com/suzgunmirac/BIG-Bench-Hard/"
        "9ee07bd481feebf959a6b59d61ea57bdcf30964d/bbh/object_counting.json"
    ]
    assert [p.name for p in first.parent.iterdir()] == ["object_counting.json"]  # no .part left


def test_gpqa_download_is_stored_gzipped(tmp_path: Path) -> None:
    csv_text = b"Question,Correct Answer\nq,a\n"
    path = data.fetch(gpqa_source(), tmp_path / "empty", opener=FakeOpener(csv_text))
    assert path.name == "gpqa_diamond.csv.gz"
    assert gzip.decompress(path.read_bytes()) == csv_text
    assert data.read_text(path) == csv_text.decode()


def test_loader_downloads_from_a_mirror_over_http(
    mirror: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, _ = mirror
    monkeypatch.setattr(urllib.request, "urlopen", REAL_URLOPEN)
    monkeypatch.setenv(data.MIRROR_ENV, url)
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "empty"))
    test = BigBenchHard("object_counting", "test")
    assert [x for x, _ in test[:2]] == ["q150", "q151"]
    assert (tmp_path / "cache/data/bbh/bbh/object_counting.json").read_bytes() == TINY_BBH


def test_http_404_from_the_mirror_is_a_data_error(
    mirror: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, _ = mirror
    monkeypatch.setenv(data.MIRROR_ENV, url)
    with pytest.raises(DataError, match="404") as caught:
        data.fetch(bbh_source("navigate"), tmp_path / "empty", opener=REAL_URLOPEN)
    assert url + "bbh/bbh/navigate.json" in str(caught.value)


def _write(folder: Path, relative: str, payload: bytes) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return folder


@pytest.mark.parametrize(
    ("relative", "payload", "load", "complaint"),
    [
        (
            "bbh/bbh/navigate.json",
            b'{"examples": [',
            lambda d: BigBenchHard("navigate", data_dir=d),
            "not valid JSON",
        ),
        (
            "bbh/bbh/navigate.json",
            b'{"rows": []}',
            lambda d: BigBenchHard("navigate", data_dir=d),
            "no 'examples'",
        ),
        (
            "bbh/bbh/navigate.json",
            b'{"examples": [{"input": "q"}]}',
            lambda d: BigBenchHard("navigate", data_dir=d),
            "no field 'target'",
        ),
        (
            "gsm8k/train.jsonl",
            b'{"question": "q", "answer": "42"}\n',
            lambda d: GSM8K_DSPy(data_dir=d),
            "####",
        ),
        ("gsm8k/train.jsonl", b'{"question": "q"\n', lambda d: GSM8K_DSPy(data_dir=d), "line 1"),
        (
            "gpqa/gpqa_diamond.csv.gz",
            b"not gzip at all",
            lambda d: load_gpqa(data_dir=d),
            "cannot read",
        ),
    ],
)
def test_corrupt_files_are_data_errors_naming_the_file(
    tmp_path: Path, relative: str, payload: bytes, load: Any, complaint: str
) -> None:
    folder = _write(tmp_path / "data", relative, payload)
    with pytest.raises(DataError, match=complaint) as caught:
        load(folder)
    assert str(folder / relative) in str(caught.value)


def test_csv_without_the_expected_columns_is_a_data_error(tmp_path: Path) -> None:
    relative = "mmlu/data/mmlu/test/anatomy_test.csv"
    folder = _write(tmp_path / "data", relative, b"q,a\nx,y\n")
    with pytest.raises(DataError, match="lacks the columns"):
        MMLU("anatomy", "test", data_dir=folder)


ALL_SOURCES = [
    *(bbh_source(task) for task in BBH_TASKS),
    gsm8k_source("train"),
    gsm8k_source("test"),
    *(
        mmlu_source(s, split)
        for s in ("machine_learning", "college_physics")
        for split in ("test", "dev")
    ),
    gpqa_source(),
    leetcode.SOURCE,
    humaneval.SOURCE,
]


@pytest.mark.parametrize("source", ALL_SOURCES, ids=lambda s: s.path)
def test_every_source_matches_the_shared_layout_and_a_pinned_https_url(
    source: data.Source, offline_data: Path
) -> None:
    assert (offline_data / source.path).is_file()
    assert source.url.startswith("https://")
    pinned = re.search(r"/[0-9a-f]{40}/", source.url) is not None
    assert pinned or source.url.endswith("simple-evals/gpqa_diamond.csv")  # a fixed blob


def test_reading_local_data_writes_nothing(tmp_path: Path) -> None:
    BigBenchHard("navigate", "test")
    GSM8K_DSPy("val")
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("value", "offline"), [("1", True), ("yes", True), ("0", False), ("", False)]
)
def test_offline_switch(monkeypatch: pytest.MonkeyPatch, value: str, offline: bool) -> None:
    monkeypatch.setenv(data.OFFLINE_ENV, value)
    opener = FakeOpener(TINY_BBH)
    if offline:
        with pytest.raises(DataError, match=data.OFFLINE_ENV):
            data.fetch(bbh_source("navigate"), "/nonexistent", opener=opener)
    else:
        data.fetch(bbh_source("navigate"), "/nonexistent", opener=opener)
    assert len(opener.urls) == (0 if offline else 1)
