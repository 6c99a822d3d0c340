"""RDKit's measurements, passed through unchanged; invalid SMILES carry RDKit's reason."""

from __future__ import annotations

import pytest

from wordgrad.errors import WordgradError
from wordgrad.science.molecules import (
    LIPINSKI_LIMITS,
    InvalidMoleculeError,
    canonical_smiles,
    molecule_properties,
    molecule_svg,
    parse_molecule,
    qed,
)

from .conftest import needs_rdkit

pytestmark = needs_rdkit

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
CAFFEINE = "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"


@pytest.mark.parametrize("smiles", [ASPIRIN, CAFFEINE])
def test_qed_is_rdkits_own(smiles: str) -> None:
    from rdkit import Chem
    from rdkit.Chem import QED

    expected = QED.qed(Chem.MolFromSmiles(smiles))
    assert qed(smiles) == expected
    assert molecule_properties(smiles).qed == expected


def test_qed_values_of_aspirin_and_caffeine() -> None:
    # RDKit's QED (Bickerton et al. 2012 weights): aspirin 0.550, caffeine 0.538.
    assert qed(ASPIRIN) == pytest.approx(0.550, abs=5e-4)
    assert qed(CAFFEINE) == pytest.approx(0.538, abs=5e-4)


def test_descriptors_are_rdkits() -> None:
    from rdkit import Chem
    from rdkit.Chem import Crippen, Descriptors, Lipinski, rdMolDescriptors

    molecule = Chem.MolFromSmiles(CAFFEINE)
    p = molecule_properties(CAFFEINE)
    assert p.molecular_weight == Descriptors.MolWt(molecule)
    assert p.logp == Crippen.MolLogP(molecule)
    assert p.h_bond_donors == Lipinski.NumHDonors(molecule)
    assert p.h_bond_acceptors == Lipinski.NumHAcceptors(molecule)
    assert p.tpsa == rdMolDescriptors.CalcTPSA(molecule)
    assert p.rotatable_bonds == rdMolDescriptors.CalcNumRotatableBonds(molecule)
    assert (p.heavy_atoms, p.rings, p.aromatic_rings) == (14, 2, 2)
    assert p.smiles == Chem.MolToSmiles(molecule)
    assert p.lipinski_violations == 0


def test_lipinski_violations_count_the_limits_exceeded() -> None:
    # A C40 alkane: heavier than 500 g/mol and far more lipophilic than logP 5; no donors.
    p = molecule_properties("C" * 40)
    assert p.molecular_weight > LIPINSKI_LIMITS["molecular_weight"]
    assert p.logp > LIPINSKI_LIMITS["logp"]
    assert p.lipinski_violations == 2


def test_equivalent_smiles_share_one_canonical_form() -> None:
    spellings = [ASPIRIN, "OC(=O)c1ccccc1OC(C)=O", "O=C(O)c1c(OC(=O)C)cccc1"]
    assert len({canonical_smiles(s) for s in spellings}) == 1
    assert canonical_smiles("CCO") != canonical_smiles("COC")


@pytest.mark.parametrize(
    ("smiles", "reason"),
    [
        ("C1CC", "unclosed ring"),
        ("CC(=O", "extra open parentheses"),
        ("C(C)(C)(C)(C)C", "valence"),
        ("c1cccc1", "kekulize"),
        ("Xx", "Parse Error"),
        ("", "empty"),
        ("CCO and more", "no spaces"),
    ],
)
def test_invalid_smiles_raise_with_rdkits_reason(smiles: str, reason: str) -> None:
    with pytest.raises(InvalidMoleculeError) as caught:
        parse_molecule(smiles)
    assert reason.lower() in caught.value.reason.lower()
    assert isinstance(caught.value, WordgradError) and isinstance(caught.value, ValueError)


def test_reasons_do_not_leak_between_molecules() -> None:
    with pytest.raises(InvalidMoleculeError) as first:
        parse_molecule("C1CC")
    assert canonical_smiles("CCO") == "CCO"
    with pytest.raises(InvalidMoleculeError) as second:
        parse_molecule("C(C)(C)(C)(C)C")
    assert "unclosed ring" in first.value.reason and "unclosed" not in second.value.reason


def test_drawing_is_an_svg_of_the_molecule() -> None:
    svg = molecule_svg(CAFFEINE, 200, 150, legend="caffeine")
    assert "<svg" in svg and "</svg>" in svg and "width='200px'" in svg
    assert svg.count("class='atom-") >= 6  # the heteroatom labels of caffeine
    with pytest.raises(InvalidMoleculeError):
        molecule_svg("C1CC")
