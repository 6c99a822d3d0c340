"""The molecule objective: a plain picklable function whose every outcome is a Score."""

from __future__ import annotations

import pickle

import pytest

from wordgrad.science.docking import DockingSettings
from wordgrad.science.objective import measure_molecule, molecule_data
from wordgrad.train.objective import Instance, Score, measure_name

from .conftest import needs_docking, needs_rdkit

FAST = DockingSettings(exhaustiveness=1, cpu=2)


def instance(dock: bool = True) -> Instance:
    return Instance("DRD2-0", "c1ccccc1", "molecule", data=molecule_data("DRD2", FAST, dock=dock))


def test_the_objective_pickles_with_its_instance() -> None:
    assert measure_name(measure_molecule) == "wordgrad.science.objective:measure_molecule"
    function, item = pickle.loads(pickle.dumps((measure_molecule, instance())))
    assert function is measure_molecule and item == instance()


@needs_rdkit
def test_without_docking_the_score_is_qed() -> None:
    from rdkit import Chem
    from rdkit.Chem import QED

    score = measure_molecule(instance(dock=False), "CN1C=NC2=C1C(=O)N(C(=O)N2C)C")
    assert isinstance(score, Score)
    assert score.value == QED.qed(Chem.MolFromSmiles("CN1C=NC2=C1C(=O)N(C(=O)N2C)C"))
    assert "QED drug-likeness: 0.538" in score.feedback
    assert "docking is turned off" in score.feedback
    assert score.details["valid"] is True and score.details["heavy_atoms"] == 14
    assert "vina_score" not in score.details


@needs_rdkit
@pytest.mark.parametrize(
    ("smiles", "reason"),
    [("C1CC", "unclosed ring"), ("c1cccc1", "kekulize"), ("", "empty"), ("aspirin", "Parse")],
)
def test_an_invalid_smiles_is_feedback_not_an_exception(smiles: str, reason: str) -> None:
    score = measure_molecule(instance(), smiles)
    assert score.value == 0.0
    assert "RDKit cannot read" in score.feedback and reason in score.feedback
    assert score.details["valid"] is False


@needs_docking
def test_a_docked_molecule_scores_minus_its_vina_score() -> None:
    score = measure_molecule(instance(), "CC(=O)Oc1ccccc1C(=O)O")
    vina = score.details["vina_score"]
    assert score.details["docking_status"] == "docked" and vina < 0
    assert score.value == -vina
    assert f"Vina docking score against DRD2: {vina:.2f} kcal/mol" in score.feedback
    assert "QED drug-likeness: 0.550" in score.feedback


@needs_docking
def test_a_molecule_that_cannot_be_docked_is_reported_with_its_rdkit_measurements() -> None:
    score = measure_molecule(instance(), "OB(O)c1ccccc1")  # Vina has no atom type for boron
    assert score.value == 0.0 and score.details["docking_status"] == "docking_failed"
    assert "not measured, because docking failed" in score.feedback
    assert "QED drug-likeness" in score.feedback


def test_an_unknown_target_is_feedback_too() -> None:
    bad = Instance("x", "CCO", "molecule", data=molecule_data("NOPE", FAST))
    score = measure_molecule(bad, "CCO")
    assert score.value == 0.0 and "NOPE" in score.feedback


@needs_rdkit
def test_the_objective_runs_in_another_process() -> None:
    """What a scale-out backend does: send the function and the instance to a fresh process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    item = instance(dock=False)
    here = measure_molecule(item, "CN1C=NC2=C1C(=O)N(C(=O)N2C)C")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        there = pool.submit(measure_molecule, item, "CN1C=NC2=C1C(=O)N(C(=O)N2C)C").result(120)
    assert there == here and there.value > 0.5
