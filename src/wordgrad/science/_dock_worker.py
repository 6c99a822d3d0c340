"""The docking worker process: ``python -m wordgrad.science._dock_worker '<settings as JSON>'``.

Started by :class:`wordgrad.science.docking.DockingWorker`. It builds one Vina object for the
receptor and search box it is given, computes the grid maps, answers ``{"status": "ready"}``,
then reads one JSON request per line (``{"smiles": ...}``) and writes one JSON reply per line:
``status`` ("docked", "preparation_failed", "docking_failed"), ``score`` (kcal/mol), ``message``,
``ligand_smiles``. Vina's own printing goes to stderr so that stdout carries only replies.
"""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Any


def prepare_ligand(smiles: str, ph: float, seed: int) -> tuple[str, str]:
    """(PDBQT text, protonated SMILES) of one ligand, by the DOCKSTRING protocol's steps.

    Dimorphite-DL sets the protonation state at ``ph``; RDKit adds hydrogens, embeds a conformer
    (ETKDG, ``seed``) and relaxes it (MMFF94, or UFF when MMFF lacks parameters); meeko writes
    the PDBQT. Raises ``ValueError`` naming the step that failed.
    """
    from dimorphite_dl import protonate_smiles
    from meeko import MoleculePreparation, PDBQTWriterLegacy
    from rdkit import Chem
    from rdkit.Chem import rdDistGeom, rdForceFieldHelpers

    states = protonate_smiles(smiles, ph_min=ph, ph_max=ph, precision=0.0, max_variants=1)
    protonated = states[0] if states else smiles
    molecule = Chem.MolFromSmiles(protonated)
    if molecule is None:
        raise ValueError(f"RDKit cannot read the protonated form {protonated!r}")
    molecule = Chem.AddHs(molecule)
    parameters: Any = rdDistGeom.ETKDGv3()
    parameters.randomSeed = seed
    if rdDistGeom.EmbedMolecule(molecule, parameters) != 0:
        parameters.useRandomCoords = True
        if rdDistGeom.EmbedMolecule(molecule, parameters) != 0:
            raise ValueError("RDKit could not embed a 3D conformer of the molecule (ETKDG)")
    if rdForceFieldHelpers.MMFFHasAllMoleculeParams(molecule):
        rdForceFieldHelpers.MMFFOptimizeMolecule(molecule, mmffVariant="MMFF94", maxIters=1000)
    else:
        rdForceFieldHelpers.UFFOptimizeMolecule(molecule, maxIters=1000)
    setups = MoleculePreparation().prepare(molecule)
    if not setups:
        raise ValueError("meeko produced no ligand from the molecule")
    pdbqt, ok, error = PDBQTWriterLegacy.write_string(setups[0])
    if not ok:
        raise ValueError(f"meeko could not write the ligand's PDBQT: {str(error).strip()}")
    return str(pdbqt), protonated


def make_vina(config: dict[str, Any]) -> Any:
    """A ``vina.Vina`` with the receptor loaded and its grid maps computed."""
    from vina import Vina

    vina = Vina(sf_name="vina", cpu=int(config["cpu"]), seed=int(config["seed"]), verbosity=0)
    vina.set_receptor(rigid_pdbqt_filename=config["receptor"])
    vina.compute_vina_maps(center=config["center"], box_size=config["box_size"])
    return vina


def dock_one(vina: Any, smiles: str, config: dict[str, Any]) -> dict[str, Any]:
    try:
        pdbqt, protonated = prepare_ligand(smiles, float(config["ph"]), int(config["seed"]))
    except Exception as error:
        return {"status": "preparation_failed", "message": f"{type(error).__name__}: {error}"}
    try:
        vina.set_ligand_from_string(pdbqt)
        vina.dock(exhaustiveness=int(config["exhaustiveness"]), n_poses=1)
        score = float(vina.energies(n_poses=1)[0][0])
    except Exception as error:
        return {
            "status": "docking_failed",
            "message": f"Vina: {type(error).__name__}: {error}",
            "ligand_smiles": protonated,
        }
    return {"status": "docked", "score": score, "message": "", "ligand_smiles": protonated}


def _send(out: IO[str], reply: dict[str, Any]) -> None:
    out.write(json.dumps(reply) + "\n")
    out.flush()


def main(argv: list[str]) -> int:
    config: dict[str, Any] = json.loads(argv[1])
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever Vina prints goes to stderr
    sys.stdout = sys.stderr
    try:
        vina = make_vina(config)
    except Exception as error:
        _send(replies, {"status": "failed", "message": f"{type(error).__name__}: {error}"})
        return 1
    _send(replies, {"status": "ready"})
    for line in sys.stdin:
        if line.strip():
            request = json.loads(line)
            _send(replies, dock_one(vina, str(request["smiles"]), config))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
