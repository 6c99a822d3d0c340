"""The molecule loop on the objective API, with a scripted chemist (docking off: QED scores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.science.conftest import HAVE_DOCKING, needs_rdkit
from tests.train.chemist_plugin import PATH, chemist
from wordgrad.engine import ScriptedEngine
from wordgrad.errors import InvalidInputError
from wordgrad.train.events import Iterate, read_events
from wordgrad.train.molecule_optimization import (
    MoleculeOptimization,
    MoleculeOptimizationConfig,
    molecule_instances,
)

pytestmark = needs_rdkit


def run(run_dir: Path, engine: ScriptedEngine, **settings: object) -> dict[str, object]:
    config = MoleculeOptimizationConfig(
        model="scripted-chemist",
        dock=False,
        iterations=4,
        **settings,  # type: ignore[arg-type]
    )
    loop = MoleculeOptimization(config, run_dir, forward_engine=engine, backward_engine=engine)
    return loop.run()


def test_a_trajectory_from_a_fragment(tmp_path: Path) -> None:
    from rdkit import Chem
    from rdkit.Chem import QED

    engine = ScriptedEngine(chemist)
    results = run(tmp_path / "run", engine)
    (instance,) = results["instances"]  # type: ignore[misc]
    trajectory = instance["trajectory"]
    assert [point["smiles"] for point in trajectory] == PATH
    assert [point["valid"] for point in trajectory] == [True, True, False, True, True]
    for point in trajectory:
        if point["valid"]:
            assert point["qed"] == QED.qed(Chem.MolFromSmiles(point["smiles"]))
            assert point["score"] == point["qed"]  # docking off: the score is QED
        else:
            assert point["score"] == 0.0 and point["qed"] is None
    assert instance["best_value"] == max(PATH, key=lambda s: trajectory[PATH.index(s)]["score"])
    assert instance["target"] == "DRD2" and instance["start_qed"] == trajectory[0]["qed"]
    # The critic read the measurements; the invalid SMILES reached it as RDKit's reason.
    critic_prompts = [r.prompt for r in engine.requests if "<MEASUREMENT>" in r.prompt]
    assert any("check for mistakes around position 19" in p for p in critic_prompts)
    assert all("DRD2" in p for p in critic_prompts)
    # Every iterate is in the log, with its measurements.
    iterates = [e for e in read_events(tmp_path / "run") if isinstance(e, Iterate)]
    assert [e.value for e in iterates] == PATH
    assert iterates[2].details["valid"] is False and "RDKit cannot read" in iterates[2].feedback


def test_momentum_shows_the_optimizer_earlier_molecules(tmp_path: Path) -> None:
    engine = ScriptedEngine(chemist)
    run(tmp_path / "run", engine, momentum_window=3)
    updates = [r.prompt for r in engine.requests if r.purpose == "optimizer"]
    assert len(updates) == 4
    history = updates[-1].split("<EARLIER_VERSIONS>", 1)[1].split("</EARLIER_VERSIONS>", 1)[0]
    assert history.index(PATH[0]) < history.index(PATH[1]) < history.index(PATH[2])
    assert "close the branch" in history  # each earlier molecule with the feedback it got


def test_targets_times_starts_are_independent_instances(tmp_path: Path) -> None:
    config = MoleculeOptimizationConfig(
        targets=("DRD2", "ABL1"), starts=("c1ccccc1", "CCO"), dock=False
    )
    instances = molecule_instances(config)
    assert [i.id for i in instances] == ["DRD2-0", "DRD2-1", "ABL1-0", "ABL1-1"]
    assert instances[2].data["target"] == "ABL1" and "ABL1" in instances[2].context
    assert instances[1].value == "CCO"


def test_user_objectives_reach_the_critic(tmp_path: Path) -> None:
    engine = ScriptedEngine(chemist)
    run(tmp_path / "run", engine, objectives=("keep the weight under 300 g/mol",))
    assert any("keep the weight under 300 g/mol" in r.prompt for r in engine.requests)


def test_a_run_resumes_to_the_same_results(tmp_path: Path) -> None:
    first = run(tmp_path / "run", ScriptedEngine(chemist))
    engine = ScriptedEngine(chemist)
    again = run(tmp_path / "run", engine)
    assert engine.requests == []  # completed: nothing is recomputed
    assert again["instances"] == first["instances"]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["targets"] == ["DRD2"] and config["dock"] is False


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"starts": ("C1CC",)}, "not valid SMILES"),
        ({"starts": "CCO"}, "list of strings"),
        ({"targets": ()}, "at least one target"),
        ({"exhaustiveness": 0}, "exhaustiveness"),
    ],
)
def test_bad_settings_are_refused_before_the_run(
    tmp_path: Path, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        config = MoleculeOptimizationConfig(dock=False, **settings)  # type: ignore[arg-type]
        molecule_instances(config)


@pytest.mark.skipif(not HAVE_DOCKING, reason="needs pip install 'wordgrad[docking]'")
def test_a_docked_run_keeps_its_docking_cache_in_the_run_directory(tmp_path: Path) -> None:
    from wordgrad.science.docking import DockingCache, DockingSettings
    from wordgrad.science.molecules import canonical_smiles

    engine = ScriptedEngine(chemist)
    config = MoleculeOptimizationConfig(
        model="scripted-chemist", iterations=1, exhaustiveness=1, cpu=2, stop_at=7.0
    )
    results = MoleculeOptimization(
        config, tmp_path / "run", forward_engine=engine, backward_engine=engine
    ).run()
    trajectory = results["instances"][0]["trajectory"]
    cache = DockingCache(tmp_path / "run" / "docking-cache.jsonl")
    key = DockingCache.key(canonical_smiles(PATH[1]), "DRD2", DockingSettings(exhaustiveness=1))
    assert len(cache) == 2 and cache.get(key) is not None
    assert cache.get(key).score == trajectory[1]["vina_score"]  # type: ignore[union-attr]
    # phenylpiperazine docks at about -7.1 kcal/mol: score 7.1 >= stop_at 7.0 ends it
    assert results["instances"][0]["stopped"] == "stop_when"
