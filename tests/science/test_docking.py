"""Docking with Vina against DOCKSTRING's DRD2: one real docking (timed), the cache, and every
way a molecule can fail coming back as a result instead of an exception.

The real dockings share one worker process (same target and settings), so the receptor's maps
are computed once for the whole module.
"""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from wordgrad.errors import InvalidInputError
from wordgrad.science.docking import (
    DockingCache,
    DockingResult,
    DockingSettings,
    DockingWorker,
    dock,
    docking_worker,
    list_targets,
    load_target,
)

from .conftest import needs_docking

pytestmark = needs_docking

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
FAST = DockingSettings(exhaustiveness=1, cpu=2)


def test_targets_come_from_dockstring() -> None:
    names = list_targets()
    assert len(names) == 58 and "DRD2" in names and "ABL1" in names
    target = load_target("drd2")
    assert target.name == "DRD2" and target.receptor.name == "DRD2_target.pdbqt"
    assert target.receptor.is_file()
    assert target.center == (9.25, 6.167, -7.0) and target.box_size == (30.0, 30.0, 32.0)
    with pytest.raises(InvalidInputError, match=r"no target 'DRD9'.*DRD2"):
        load_target("DRD9")


@pytest.mark.parametrize(
    "settings",
    [{"exhaustiveness": 0}, {"cpu": -1}, {"ph": 15.0}, {"timeout_s": 0}],
)
def test_bad_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(InvalidInputError):
        DockingSettings(**settings)  # type: ignore[arg-type]


def test_cache_key_leaves_out_speed_settings() -> None:
    assert FAST.cache_key() == DockingSettings(exhaustiveness=1, cpu=1, timeout_s=9).cache_key()
    assert FAST.cache_key() != DockingSettings(exhaustiveness=2).cache_key()
    assert FAST.cache_key() != DockingSettings(exhaustiveness=1, seed=1).cache_key()


def test_real_docking_of_aspirin_against_drd2(capsys: pytest.CaptureFixture[str]) -> None:
    cache = DockingCache()
    started = time.perf_counter()
    result = dock(ASPIRIN, "DRD2", FAST, cache=cache)
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\n[docking] aspirin vs DRD2, exhaustiveness 1, 2 CPUs: {result.score} kcal/mol in "
            f"{seconds:.1f} s (worker start with receptor maps included; docking "
            f"{result.seconds:.1f} s as the worker measured it)"
        )
    assert result.ok, result.message
    # Vina 1.2.7 gives aspirin -5.8 to -6.2 kcal/mol against DRD2 at exhaustiveness 1-8.
    assert result.score is not None and -6.6 <= result.score <= -5.4
    assert result.ligand_smiles == "CC(=O)Oc1ccccc1C(=O)[O-]"  # the acid is ionised at pH 7.4
    again = dock(ASPIRIN, "DRD2", FAST, cache=DockingCache())
    assert again.score == result.score  # seeded: the same score from a second docking


def test_an_equivalent_smiles_is_not_docked_twice() -> None:
    worker = docking_worker("DRD2", FAST)
    cache = DockingCache()
    first = dock(ASPIRIN, "DRD2", FAST, cache=cache)
    sent = worker.requests
    for spelling in ("OC(=O)c1ccccc1OC(C)=O", "O=C(O)c1c(OC(=O)C)cccc1", ASPIRIN):
        hit = dock(spelling, "DRD2", FAST, cache=cache)
        assert hit.cached and hit.score == first.score and hit.smiles == spelling
    assert worker.requests == sent
    other = dock("CCO", "DRD2", FAST, cache=cache)
    assert not other.cached and worker.requests == sent + 1
    assert len(cache) == 2


def test_the_cache_file_outlives_the_process(tmp_path: Path) -> None:
    path = tmp_path / "cache.jsonl"
    first = dock("CCO", "DRD2", FAST, cache=DockingCache(path))
    reread = DockingCache(path)
    worker = docking_worker("DRD2", FAST)
    sent = worker.requests
    hit = dock("OCC", "DRD2", FAST, cache=reread)
    assert hit.cached and hit.score == first.score and worker.requests == sent


@pytest.mark.parametrize(
    ("smiles", "status", "message"),
    [
        ("C1CC", "invalid", "unclosed ring"),
        ("[Na+].[Cl-]", "preparation_failed", "2 fragments"),
        ("OB(O)c1ccccc1", "docking_failed", "Atom type B is not a valid AutoDock type"),
    ],
)
def test_failures_are_results(smiles: str, status: str, message: str) -> None:
    result = dock(smiles, "DRD2", FAST, cache=DockingCache())
    assert (result.status, result.score, result.ok) == (status, None, False)
    assert message in result.message


def test_a_docking_over_its_time_limit_is_stopped() -> None:
    settings = DockingSettings(exhaustiveness=8, cpu=1, timeout_s=0.2)
    worker = docking_worker("DRD2", settings)
    imatinib = "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"
    result = dock(imatinib, "DRD2", settings, cache=DockingCache())
    assert result.status == "timeout" and result.score is None
    assert "longer than the limit of 0.2 s" in result.message
    assert worker._process is None and worker.started == 1  # the worker was killed
    cache = DockingCache()
    again = dock(imatinib, "DRD2", settings, cache=cache)
    assert again.status == "timeout" and worker.started == 2  # a fresh worker took over
    assert len(cache) == 0  # a time-out is not cached: it may not happen again


CRASHING_WORKER = textwrap.dedent(
    """
    import os, sys
    print('{"status": "ready"}', flush=True)
    sys.stdin.readline()
    sys.stderr.write("segmentation fault in native code (simulated)\\n")
    sys.stderr.flush()
    os.abort()
    """
)


def test_a_crashing_worker_cannot_take_the_caller_down() -> None:
    class Crashing(DockingWorker):
        command = (sys.executable, "-c", CRASHING_WORKER)

    worker = Crashing(load_target("DRD2"), FAST)
    first = worker.dock(ASPIRIN, ASPIRIN)
    assert first.status == "crashed" and first.score is None
    assert "exit code -6" in first.message and "simulated" in first.message
    second = worker.dock("CCO", "CCO")  # a fresh worker is started, and crashes again
    assert second.status == "crashed" and worker.started == 2
    worker.close()


GARBLED_WORKER = textwrap.dedent(
    """
    import sys
    print('{"status": "ready"}', flush=True)
    sys.stdin.readline()
    print("WARNING: something printed where replies go", flush=True)
    sys.stdin.readline()
    """
)


def test_an_unreadable_reply_is_a_result_too() -> None:
    class Garbled(DockingWorker):
        command = (sys.executable, "-c", GARBLED_WORKER)

    worker = Garbled(load_target("DRD2"), FAST)
    result = worker.dock(ASPIRIN, ASPIRIN)
    assert result.status == "crashed" and "unreadable reply" in result.message
    assert "something printed" in result.message and worker._process is None


def test_results_round_trip() -> None:
    result = DockingResult("CCO", "CCO", "docked", score=-2.9, ligand_smiles="CCO", seconds=1.0)
    assert DockingResult.from_dict(result.as_dict()) == result
