"""Molecular properties of a SMILES string, measured by RDKit (``pip install 'wordgrad[chem]'``).

Nothing here computes a property itself: parsing, sanitisation, canonical SMILES, QED and the
descriptors all come from RDKit (https://www.rdkit.org), and the drawings from its
``rdMolDraw2D`` SVG renderer. RDKit is imported on first use, so ``import wordgrad`` never
needs it; a missing RDKit raises :class:`~wordgrad.errors.ConfigurationError` naming the extra.

::

    from wordgrad.science.molecules import molecule_properties
    aspirin = molecule_properties("CC(=O)Oc1ccccc1C(=O)O")
    aspirin.qed, aspirin.smiles        # 0.550..., the canonical SMILES

An invalid SMILES raises :class:`InvalidMoleculeError`, whose message is RDKit's own reason
(a parse error with its position, or the sanitisation problem such as an impossible valence).
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass
from typing import Any

from wordgrad.errors import WordgradError
from wordgrad.science._extras import CHEM, require

# RDKit's error log is process-wide; one parse at a time keeps each reason with its molecule.
_LOG_LOCK = threading.Lock()
_TIMESTAMP = re.compile(r"^\[\d\d:\d\d:\d\d\] ?", re.MULTILINE)

LIPINSKI_LIMITS = {
    "molecular_weight": 500.0,
    "logp": 5.0,
    "h_bond_donors": 5,
    "h_bond_acceptors": 10,
}
"""Lipinski's rule of five (Lipinski et al., Adv. Drug Deliv. Rev. 23:3-25, 1997): a molecule
is likely to absorb poorly when it exceeds more than one of these limits."""


class InvalidMoleculeError(WordgradError, ValueError):
    """RDKit cannot read a SMILES string: ``smiles`` is the input, ``reason`` RDKit's message."""

    def __init__(self, smiles: str, reason: str) -> None:
        super().__init__(f"RDKit cannot read the SMILES {smiles!r}: {reason}")
        self.smiles = smiles
        self.reason = reason


@dataclass(frozen=True)
class MoleculeProperties:
    """What RDKit measures of one molecule.

    Attributes:
        smiles: RDKit's canonical SMILES (``Chem.MolToSmiles``).
        qed: quantitative estimate of drug-likeness, 0..1, higher is more drug-like
            (Bickerton et al., Nat. Chem. 4:90-98, 2012; ``rdkit.Chem.QED.qed``).
        molecular_weight: average molecular weight in g/mol (``Descriptors.MolWt``).
        logp: Wildman-Crippen octanol/water logP (``Crippen.MolLogP``).
        h_bond_donors / h_bond_acceptors: Lipinski's counts (``Lipinski.NumHDonors`` /
            ``NumHAcceptors``).
        rotatable_bonds: ``rdMolDescriptors.CalcNumRotatableBonds``.
        tpsa: topological polar surface area in Å² (``rdMolDescriptors.CalcTPSA``).
        heavy_atoms: atoms other than hydrogen.
        rings / aromatic_rings: ring counts (``rdMolDescriptors``).
        lipinski_violations: how many of :data:`LIPINSKI_LIMITS` the molecule exceeds.
    """

    smiles: str
    qed: float
    molecular_weight: float
    logp: float
    h_bond_donors: int
    h_bond_acceptors: int
    rotatable_bonds: int
    tpsa: float
    heavy_atoms: int
    rings: int
    aromatic_rings: int
    lipinski_violations: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _chem() -> Any:
    return require("rdkit.Chem", extra=CHEM, package="rdkit")


def parse_molecule(smiles: str) -> Any:
    """The sanitised RDKit molecule (``rdkit.Chem.Mol``) of ``smiles``.

    Raises:
        InvalidMoleculeError: empty text, a SMILES syntax error, or a molecule RDKit cannot
            sanitise (valence, aromaticity); the message is RDKit's.
        ConfigurationError: RDKit is not installed.
    """
    chem = _chem()
    rdbase = require("rdkit.rdBase", extra=CHEM, package="rdkit")
    text = smiles.strip()
    if not text:
        raise InvalidMoleculeError(smiles, "the text is empty; write a molecule as SMILES")
    if any(character.isspace() for character in text):
        raise InvalidMoleculeError(
            smiles, "SMILES contains no spaces; give exactly one molecule, with nothing else"
        )
    with _LOG_LOCK, rdbase.CaptureErrorLog() as log:
        molecule = chem.MolFromSmiles(text)
    if molecule is None or molecule.GetNumAtoms() == 0:
        reason = _TIMESTAMP.sub("", str(log.messages)).strip() or "RDKit gave no molecule"
        raise InvalidMoleculeError(smiles, reason)
    return molecule


def canonical_smiles(smiles: str) -> str:
    """RDKit's canonical SMILES of ``smiles``: equal for every way of writing one molecule.

    Raises :class:`InvalidMoleculeError` as :func:`parse_molecule` does.
    """
    result: str = _chem().MolToSmiles(parse_molecule(smiles))
    return result


def qed(smiles: str) -> float:
    """RDKit's QED (0..1) of ``smiles`` (``rdkit.Chem.QED.qed``, Bickerton et al. 2012)."""
    qed_module = require("rdkit.Chem.QED", extra=CHEM, package="rdkit")
    return float(qed_module.qed(parse_molecule(smiles)))


def molecule_properties(smiles: str) -> MoleculeProperties:
    """Canonical SMILES, QED and Lipinski-style descriptors of ``smiles``, all from RDKit.

    Raises:
        InvalidMoleculeError: RDKit cannot read ``smiles`` (the message says why).
        ConfigurationError: RDKit is not installed.
    """
    molecule = parse_molecule(smiles)
    chem = _chem()
    descriptors = require("rdkit.Chem.Descriptors", extra=CHEM, package="rdkit")
    crippen = require("rdkit.Chem.Crippen", extra=CHEM, package="rdkit")
    lipinski = require("rdkit.Chem.Lipinski", extra=CHEM, package="rdkit")
    rd = require("rdkit.Chem.rdMolDescriptors", extra=CHEM, package="rdkit")
    qed_module = require("rdkit.Chem.QED", extra=CHEM, package="rdkit")
    values = {
        "molecular_weight": float(descriptors.MolWt(molecule)),
        "logp": float(crippen.MolLogP(molecule)),
        "h_bond_donors": int(lipinski.NumHDonors(molecule)),
        "h_bond_acceptors": int(lipinski.NumHAcceptors(molecule)),
    }
    violations = sum(1 for name, limit in LIPINSKI_LIMITS.items() if values[name] > limit)
    return MoleculeProperties(
        smiles=chem.MolToSmiles(molecule),
        qed=float(qed_module.qed(molecule)),
        molecular_weight=values["molecular_weight"],
        logp=values["logp"],
        h_bond_donors=int(values["h_bond_donors"]),
        h_bond_acceptors=int(values["h_bond_acceptors"]),
        rotatable_bonds=int(rd.CalcNumRotatableBonds(molecule)),
        tpsa=float(rd.CalcTPSA(molecule)),
        heavy_atoms=int(molecule.GetNumHeavyAtoms()),
        rings=int(rd.CalcNumRings(molecule)),
        aromatic_rings=int(rd.CalcNumAromaticRings(molecule)),
        lipinski_violations=violations,
    )


def molecule_svg(smiles: str, width: int = 240, height: int = 180, legend: str = "") -> str:
    """A 2D drawing of ``smiles`` as SVG text, by RDKit's ``rdMolDraw2D.MolDraw2DSVG``.

    Args:
        smiles: the molecule.
        width / height: the drawing's size in pixels.
        legend: text under the drawing.

    Raises :class:`InvalidMoleculeError` for a SMILES RDKit cannot read.
    """
    molecule = parse_molecule(smiles)
    draw = require("rdkit.Chem.Draw.rdMolDraw2D", extra=CHEM, package="rdkit")
    drawer = draw.MolDraw2DSVG(width, height)
    drawer.drawOptions().clearBackground = False
    draw.PrepareAndDrawMolecule(drawer, molecule, legend=legend)
    drawer.FinishDrawing()
    svg: str = drawer.GetDrawingText()
    return svg
