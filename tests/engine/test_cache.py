"""The SQLite response cache: hits, misses on any change, switches, threads, processes, damage."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from wordgrad.engine import ResponseCache, ScriptedEngine, track
from wordgrad.engine.cache import resolve_cache
from wordgrad.llm import Request, Response, ResponseFormat, Usage

BASE = Request.chat("What is 2 + 2?", system_prompt="Be exact.", temperature=0.0)


def counting_engine(cache: Any, model: str = "scripted") -> ScriptedEngine:
    return ScriptedEngine(
        lambda request: f"reply {len(request.prompt)}", model_string=model, cache=cache
    )


def test_a_second_identical_run_makes_no_engine_call(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    first = counting_engine(path)
    answer = first.send(BASE)

    second = counting_engine(path)  # a fresh engine, as in a new run
    again = second.send(BASE)

    assert len(first.requests) == 1
    assert second.requests == []
    assert again.texts == answer.texts
    assert again.cached and not answer.cached
    assert again.usage == answer.usage


@pytest.mark.parametrize(
    "change",
    [
        {"temperature": 0.7},
        {"max_tokens": 100},
        {"top_p": 0.5},
        {"seed": 1},
        {"stop": ["\n"]},
        {"n": 2},
        {"response_format": ResponseFormat("json")},
        {"response_format": ResponseFormat("json_schema", schema={"type": "object"})},
        {"logprobs": True},
    ],
)
def test_a_change_to_any_sampling_parameter_misses(tmp_path: Path, change: dict[str, Any]) -> None:
    engine = counting_engine(tmp_path / "c.sqlite3")
    engine.send(BASE)
    engine.send(BASE.with_params(**change))
    assert len(engine.requests) == 2


def test_a_change_of_prompt_system_prompt_or_model_misses(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    engine = counting_engine(path)
    engine.send(BASE)
    engine.send(Request.chat("What is 2 + 3?", system_prompt="Be exact.", temperature=0.0))
    engine.send(Request.chat("What is 2 + 2?", system_prompt="Be vague.", temperature=0.0))
    other_model = counting_engine(path, model="other")
    other_model.send(BASE)
    assert len(engine.requests) == 3
    assert len(other_model.requests) == 1


def test_engine_defaults_are_part_of_the_key(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    cold = ScriptedEngine(cache=path, temperature=0.0)
    warm = ScriptedEngine(cache=path, temperature=0.9)
    bare = Request.chat("hi")
    cold.send(bare)
    warm.send(bare)
    assert len(warm.requests) == 1


def test_nothing_is_created_before_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "not-yet"
    monkeypatch.setenv("WORDGRAD_CACHE_DIR", str(cache_dir))
    engine = ScriptedEngine(cache=True)
    assert not cache_dir.exists()

    engine.send(BASE)

    assert (cache_dir / "responses.sqlite3").is_file()


def test_importing_and_building_engines_creates_no_files(tmp_path: Path) -> None:
    cache_dir = tmp_path / "untouched"
    script = "import wordgrad as tg; tg.get_engine('scripted', cache=True)"
    env = {**os.environ, "WORDGRAD_CACHE_DIR": str(cache_dir)}
    subprocess.run([sys.executable, "-W", "error", "-c", script], check=True, env=env, cwd=tmp_path)
    assert not cache_dir.exists()
    assert list(tmp_path.iterdir()) == []


def test_switches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WORDGRAD_CACHE_DIR", str(tmp_path))
    assert resolve_cache(False) is None
    assert isinstance(resolve_cache(None), ResponseCache)
    monkeypatch.setenv("WORDGRAD_CACHE", "0")
    assert resolve_cache(None) is None
    assert isinstance(resolve_cache(True), ResponseCache)  # explicit beats the variable

    engine = counting_engine(None)
    engine.send(BASE)
    engine.send(BASE)
    assert len(engine.requests) == 2


def test_cache_false_always_calls_the_engine(tmp_path: Path) -> None:
    engine = counting_engine(False)
    engine.send(BASE)
    engine.send(BASE)
    assert len(engine.requests) == 2


def test_cache_hits_are_counted_without_tokens_or_cost(tmp_path: Path) -> None:
    engine = counting_engine(tmp_path / "c.sqlite3")
    with track() as meter:
        engine.send(BASE, purpose="forward")
        engine.send(BASE, purpose="forward")
    totals = meter.by_purpose["forward"]
    assert (totals.calls, totals.cached_calls) == (2, 1)
    assert totals.prompt_tokens == engine.send(BASE).usage.prompt_tokens


def test_usage_and_the_estimated_flag_survive_a_round_trip(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite3")
    cache.put("k", Response(("a", "b"), Usage(5, 6, estimated=True), model="m", latency_s=1.0))
    hit = cache.get("k")
    assert hit == Response(("a", "b"), Usage(5, 6, estimated=True), "m", 0.0, cached=True)
    assert cache.get("missing") is None
    assert len(cache) == 1
    cache.clear()
    assert len(cache) == 0
    cache.close()


def test_threads_share_one_cache_safely(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite3")
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(40):
                key = f"{worker}-{i}"
                cache.put(key, Response((key,)))
                hit = cache.get(key)
                assert hit is not None and hit.text == key
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(cache) == 8 * 40
    cache.close()


def test_processes_write_the_same_file_safely(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    script = textwrap.dedent(
        """
        import sys
        from wordgrad.engine.cache import ResponseCache
        from wordgrad.llm import Response
        cache = ResponseCache(sys.argv[1])
        for i in range(60):
            key = f"{sys.argv[2]}-{i}"
            cache.put(key, Response((key,)))
            assert cache.get(key).text == key
        cache.close()
        """
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(path), str(n)]) for n in range(4)
    ]
    codes = [worker.wait(timeout=120) for worker in workers]

    assert codes == [0, 0, 0, 0]
    cache = ResponseCache(path)
    assert len(cache) == 4 * 60
    cache.close()


def test_a_damaged_file_never_fails_a_call(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    engine = counting_engine(path)

    with caplog.at_level(logging.WARNING, logger="wordgrad.engine"):
        assert engine.send(BASE).text == engine.send(BASE).text

    assert len(engine.requests) == 2
    warnings = [r for r in caplog.records if "response cache" in r.getMessage()]
    assert len(warnings) == 1  # said once, not on every call


@pytest.mark.parametrize(
    "texts, counts",
    [
        ('"not a list"', (1, 1, 0)),
        ("[1, 2]", (1, 1, 0)),
        ("[]", (1, 1, 0)),
        ("{bad json", (1, 1, 0)),
        ('["fine"]', ("many", 1, 0)),
        ('["fine"]', (1, -5, 0)),
    ],
)
def test_a_row_of_the_wrong_shape_is_a_miss_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, texts: str, counts: tuple[Any, ...]
) -> None:
    import sqlite3

    cache = ResponseCache(tmp_path / "c.sqlite3")
    cache.put("key", Response(("real",), Usage(1, 1)))
    cache.close()
    with sqlite3.connect(tmp_path / "c.sqlite3") as connection:
        connection.execute(
            "UPDATE responses SET texts = ?, prompt_tokens = ?, completion_tokens = ?, "
            "estimated = ? WHERE key = 'key'",
            (texts, *counts),
        )
    with caplog.at_level(logging.WARNING, logger="wordgrad.engine"):
        assert cache.get("key") is None
    assert "malformed row" in caplog.text


def test_two_engine_classes_with_the_same_model_name_never_share_entries(tmp_path: Path) -> None:
    class First(ScriptedEngine):
        pass

    class Second(ScriptedEngine):
        pass

    shared = str(tmp_path / "c.sqlite3")
    first = First(lambda r: "from the first", model_string="same", cache=shared)
    second = Second(lambda r: "from the second", model_string="same", cache=shared)
    assert first.send(BASE).text == "from the first"
    assert second.send(BASE).text == "from the second"
    assert not second.send(BASE).text.startswith("from the first")
