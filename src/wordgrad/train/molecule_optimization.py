"""Molecule optimization, as in the paper's drug-design experiment.

A molecule, written as SMILES, is the variable. Each iteration measures it (RDKit: validity,
QED and Lipinski-style descriptors; AutoDock Vina: the docking score against a DOCKSTRING
target), an LLM critic reads the measurements and reviews the molecule, the review flows back as
textual feedback, and TGD with momentum (the last ``momentum_window`` molecules and their
feedback) proposes the next SMILES. Every molecule of every trajectory, with its scores, is in
the run's event log (``iterate`` events) and in ``results.json``.

Each (target, starting molecule) pair is an independent instance; instances run side by side
(docking against one target is serialised in that target's worker process; different targets
dock in parallel). The measure is :func:`wordgrad.science.objective.measure_molecule`, a plain
module-level function, so a scale-out backend can send it elsewhere.

::

    from wordgrad.train.molecule_optimization import (
        MoleculeOptimizationConfig, optimize_molecules)
    results = optimize_molecules(
        MoleculeOptimizationConfig(targets=("DRD2",), starts=("c1ccccc1",), iterations=5,
                                   model="gpt-4o"),
        "runs/drd2",
    )
    results["instances"][0]["best_value"], results["instances"][0]["best_vina_score"]

Needs ``pip install 'wordgrad[docking]'`` (or ``[chem]`` with ``dock=False``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wordgrad import prompts
from wordgrad.errors import InvalidInputError
from wordgrad.science.docking import (
    DOCKSTRING_SEED,
    DockingSettings,
    check_docking_installed,
    load_target,
)
from wordgrad.science.molecules import InvalidMoleculeError, canonical_smiles
from wordgrad.science.objective import CACHE_PATH, measure_molecule, molecule_data
from wordgrad.train.instance_optimization import (
    InstanceOptimization,
    InstanceOptimizationConfig,
)
from wordgrad.train.objective import Instance, Trajectory
from wordgrad.train.runs import Run

DEFAULT_FRAGMENT = "c1ccccc1"
"""Where a run starts when no molecule is given: benzene, a small fragment."""

DOCKING_CACHE_FILE = "docking-cache.jsonl"


@dataclass(frozen=True)
class MoleculeOptimizationConfig(InstanceOptimizationConfig):
    """What a molecule-optimization run computes; saved as the run's ``config.json``.

    Takes the settings of :class:`~wordgrad.train.instance_optimization.
    InstanceOptimizationConfig` (``model``, ``backward_model``, ``iterations``, ``batch_size``,
    ``momentum_window``, ``stop_at``, ``steps``, ``reply_tokens``) and:

    Args:
        targets: DOCKSTRING target names; each is optimized from each start.
        starts: starting SMILES (default: benzene, a small fragment).
        exhaustiveness / seed / cpu / docking_timeout_s: Vina's settings (see
            :class:`~wordgrad.science.docking.DockingSettings`).
        dock: ``False`` scores QED alone (no Vina; needs only the ``chem`` extra).
        objectives: goals the user adds to what the critic is told (e.g. "keep the molecular
            weight under 400").
        references: known binders (SMILES) docked with the same settings at the end, so the
            report can show where the trajectory stands against them.
        momentum_window: TGD's momentum, the last k molecules with their feedback (default 3).
        critic_instruction: replaces the molecule critic's instruction.
    """

    iterations: int = 5
    momentum_window: int = 3
    targets: tuple[str, ...] = ("DRD2",)
    starts: tuple[str, ...] = (DEFAULT_FRAGMENT,)
    exhaustiveness: int = 8
    seed: int = DOCKSTRING_SEED
    cpu: int = 0
    docking_timeout_s: float = 300.0
    dock: bool = True
    objectives: tuple[str, ...] = ()
    references: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("targets", "starts", "objectives", "references"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise InvalidInputError(f"{name} must be a list of strings, not one string")
            object.__setattr__(self, name, tuple(value))
        if not self.targets or not self.starts:
            raise InvalidInputError("give at least one target and one starting molecule")
        if self.critic_instruction is None:
            object.__setattr__(
                self, "critic_instruction", prompts.render("molecule.critic_instruction")
            )
        self.docking_settings()  # checks the docking settings

    def docking_settings(self) -> DockingSettings:
        return DockingSettings(
            exhaustiveness=self.exhaustiveness,
            seed=self.seed,
            cpu=self.cpu,
            timeout_s=self.docking_timeout_s,
        )


def molecule_instances(config: MoleculeOptimizationConfig) -> list[Instance]:
    """One instance per (target, start): ids ``"<TARGET>-<k>"`` (k counts the starts from 0).

    Raises:
        InvalidInputError: an unknown target (with docking) or a start RDKit cannot read.
    """
    settings = config.docking_settings()
    extra = (
        prompts.render("molecule.objectives", objectives="; ".join(config.objectives))
        if config.objectives
        else ""
    )
    instances = []
    for target in config.targets:
        name = load_target(target).name if config.dock else target
        for k, start in enumerate(config.starts):
            try:
                canonical_smiles(start)
            except InvalidMoleculeError as error:
                raise InvalidInputError(
                    f"the starting molecule {start!r} is not valid SMILES: {error.reason}"
                ) from None
            instances.append(
                Instance(
                    id=f"{name}-{k}",
                    value=start,
                    role=prompts.render("molecule.role"),
                    context=prompts.render("molecule.context", target=name, objectives=extra),
                    constraints=(prompts.render("molecule.constraint"),),
                    data=molecule_data(name, settings, dock=config.dock),
                )
            )
    return instances


class MoleculeOptimization(InstanceOptimization):
    """The molecule loop; :func:`optimize_molecules` is the short way to run it.

    Takes the options of :class:`~wordgrad.train.loop.RunLoop` (engines, budget, reporter,
    ``on_event`` ...).

    Raises:
        ConfigurationError: RDKit, or with docking any docking library, is not installed (the
            message names the extra).
        InvalidInputError: an unknown target or an invalid starting SMILES.
    """

    kind = "molecule"

    def __init__(
        self,
        config: MoleculeOptimizationConfig,
        run_dir: str | os.PathLike[str],
        **options: Any,
    ) -> None:
        if config.dock:
            check_docking_installed()
        super().__init__(config, run_dir, molecule_instances(config), measure_molecule, **options)
        self.molecule_config = config

    def execute(self, run: Run) -> dict[str, Any]:
        # Docking results survive a crash: a resumed run does not dock its molecules again.
        token = CACHE_PATH.set(str(Path(run.path) / DOCKING_CACHE_FILE))
        try:
            return super().execute(run)
        finally:
            CACHE_PATH.reset(token)

    def summarize(self, instance: Instance, trajectory: Trajectory) -> dict[str, Any]:
        summary = super().summarize(instance, trajectory)
        best = trajectory.best.score.details
        summary.update(
            target=instance.data.get("target"),
            best_vina_score=best.get("vina_score"),
            best_qed=best.get("qed"),
            start_vina_score=trajectory.start.score.details.get("vina_score"),
            start_qed=trajectory.start.score.details.get("qed"),
            trajectory=[
                {
                    "iteration": it.iteration,
                    "smiles": it.value,
                    "score": it.score.value,
                    "valid": it.score.details.get("valid"),
                    "canonical_smiles": it.score.details.get("canonical_smiles"),
                    "vina_score": it.score.details.get("vina_score"),
                    "qed": it.score.details.get("qed"),
                }
                for it in trajectory.iterates
            ],
        )
        return summary

    def results(self, summaries: list[dict[str, Any]]) -> dict[str, Any]:
        results = super().results(summaries)
        results["targets"] = list(dict.fromkeys(i.data["target"] for i in self.instances))
        results["references"] = self._references(results["targets"])
        return results

    def _references(self, targets: list[str]) -> list[dict[str, Any]]:
        """The known binders, measured the same way as the trajectories."""
        c = self.molecule_config
        measured = []
        for target in targets:
            for smiles in c.references:
                instance = Instance(
                    id=f"reference-{target}",
                    value=smiles,
                    role=prompts.render("molecule.role"),
                    data=molecule_data(target, c.docking_settings(), dock=c.dock),
                )
                score = measure_molecule(instance, smiles)
                measured.append(
                    {
                        "target": target,
                        "smiles": smiles,
                        "score": score.value,
                        "vina_score": score.details.get("vina_score"),
                        "qed": score.details.get("qed"),
                        "status": score.details.get("docking_status"),
                    }
                )
        return measured


def optimize_molecules(
    config: MoleculeOptimizationConfig | None = None,
    run_dir: str | os.PathLike[str] = "runs/molecule",
    **options: Any,
) -> dict[str, Any]:
    """Run (or continue) a molecule optimization; see :class:`MoleculeOptimization`."""
    return MoleculeOptimization(config or MoleculeOptimizationConfig(), run_dir, **options).run()
