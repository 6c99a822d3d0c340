"""The molecule objective: a SMILES string measured by RDKit and docked by Vina, as a Score.

:func:`measure_molecule` is a plain module-level function ``(instance, smiles) -> Score``, as
:mod:`wordgrad.train.objective` expects: it pickles, and everything it needs travels in
``instance.data`` (:func:`molecule_data`), so a worker process or a cluster node can run it.

It never raises for the molecule's sake. What it measures becomes the score's ``feedback`` (the
text the critic reads, as in the paper) and ``details`` (kept in the run log):

- an invalid SMILES: RDKit's reason, score 0;
- a valid one: QED and Lipinski-style descriptors (RDKit), then the Vina score against the
  target; a failed preparation or docking, or a time-out, is reported in the feedback with the
  RDKit measurements still given, score 0.

The score's ``value`` (higher is better) is minus the Vina score in kcal/mol, so stronger
predicted binding scores higher; with docking turned off it is QED. A molecule that was not
docked scores 0, below any molecule that binds (Vina scores of real ligands are negative).
The critic sees both affinity and QED and is asked to improve both; the number only ranks
iterates (``best``) and drives ``stop_at``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from wordgrad import prompts
from wordgrad.science.docking import DockingResult, DockingSettings, dock, docking_cache
from wordgrad.science.molecules import InvalidMoleculeError, molecule_properties
from wordgrad.train.objective import Instance, Score

CACHE_PATH: ContextVar[str | None] = ContextVar("wordgrad_docking_cache_path", default=None)
"""Where :func:`measure_molecule` keeps docking results when ``instance.data`` names no cache
file: the molecule loop sets it to a file in its run directory for the calls it makes (its
threads inherit the context, so two runs in one process keep separate files); ``None``: this
process's in-memory cache."""


def molecule_data(
    target: str,
    docking: DockingSettings | None = None,
    *,
    dock: bool = True,
) -> dict[str, Any]:
    """``Instance.data`` for :func:`measure_molecule`: the target and the docking settings."""
    return {
        "target": target,
        "dock": dock,
        "docking": (docking or DockingSettings()).as_dict(),
    }


def _settings(data: Mapping[str, Any]) -> DockingSettings:
    return DockingSettings(**dict(data.get("docking", {})))


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def measure_molecule(instance: Instance, value: str) -> Score:
    """Measure the SMILES ``value`` for ``instance`` (its ``data`` from :func:`molecule_data`).

    Returns:
        A :class:`~wordgrad.train.objective.Score`: ``value`` is minus the Vina score (kcal/mol),
        or QED without docking, or 0 when nothing could be docked; ``feedback`` the
        measurements as text; ``details`` the numbers (``valid``, ``canonical_smiles``,
        ``qed``, the descriptors, ``vina_score``, ``docking_status``, ``docking_message``,
        ``docking_seconds``, ``cached``).
    """
    smiles = value.strip()
    data = instance.data
    target = str(data.get("target", ""))
    try:
        properties = molecule_properties(smiles)
    except InvalidMoleculeError as error:
        feedback = prompts.render("molecule.invalid", smiles=smiles, reason=error.reason)
        return Score(
            0.0,
            feedback,
            {"valid": False, "smiles": smiles, "target": target, "error": error.reason},
        )
    except Exception as error:  # the objective never stops the loop (a missing RDKit included)
        reason = f"{type(error).__name__}: {error}"
        return Score(0.0, f"The molecule could not be measured: {reason}", {"error": reason})

    measured = properties.as_dict()
    measured["canonical_smiles"] = measured.pop("smiles")
    details: dict[str, Any] = {"valid": True, "smiles": smiles, "target": target, **measured}
    score = properties.qed
    if not data.get("dock", True):
        docking_text = prompts.render("molecule.docking_off")
    else:
        result = _dock(smiles, target, data)
        details.update(
            vina_score=result.score,
            docking_status=result.status,
            docking_message=result.message,
            docking_seconds=round(result.seconds, 3),
            cached=result.cached,
            ligand_smiles=result.ligand_smiles,
        )
        if result.ok and result.score is not None:
            score = -result.score
            docking_text = prompts.render(
                "molecule.docked", target=target, score=_fmt(result.score, 2)
            )
        else:
            score = 0.0
            docking_text = prompts.render(
                "molecule.not_docked", target=target, reason=_reason(result)
            )
    feedback = prompts.render(
        "molecule.measured",
        smiles=properties.smiles,
        docking=docking_text,
        qed=_fmt(properties.qed, 3),
        molecular_weight=_fmt(properties.molecular_weight, 1),
        logp=_fmt(properties.logp, 2),
        h_bond_donors=properties.h_bond_donors,
        h_bond_acceptors=properties.h_bond_acceptors,
        rotatable_bonds=properties.rotatable_bonds,
        tpsa=_fmt(properties.tpsa, 1),
        heavy_atoms=properties.heavy_atoms,
        lipinski_violations=properties.lipinski_violations,
    )
    return Score(score, feedback, details)


def _dock(smiles: str, target: str, data: Mapping[str, Any]) -> DockingResult:
    try:
        cache = docking_cache(data.get("cache") or CACHE_PATH.get())
        return dock(smiles, target, _settings(data), cache=cache)
    except Exception as error:  # a broken install or setting must not stop the loop
        return DockingResult(
            smiles, None, "docking_failed", message=f"{type(error).__name__}: {error}"
        )


def _reason(result: DockingResult) -> str:
    return {
        "preparation_failed": f"preparing the ligand failed ({result.message})",
        "docking_failed": f"docking failed ({result.message})",
        "timeout": result.message,
        "crashed": result.message,
        "invalid": f"RDKit cannot read it ({result.message})",
    }.get(result.status, result.message or result.status)
