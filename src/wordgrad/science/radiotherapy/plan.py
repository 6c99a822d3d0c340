"""Optimize the fluence for a set of objective weights and read the plan as a clinician would.

:func:`evaluate_plan` sets each structure's objective (with the given weights as pyRadPlan
``priority`` values), runs pyRadPlan's fluence optimization, computes the dose on the CT grid
and measures it: for each target D95, D2, mean dose and coverage (V95%: percent of the volume
receiving at least 95 % of the prescription); for each organ at risk mean dose, D5 and the Vx
values its goals mention; every clinical goal met or missed. Dose statistics come from
``pyRadPlan.analysis`` (``DX``, ``VX``, ``Mean``, ``Max``, ``DVH``).

Dx is the dose (Gy) that the hottest x % of a structure's volume receives at least; Vx is the
percentage of the volume receiving at least x Gy (or x % of the prescription for ``V95%``).

The plan's **score** (higher is better) is minus the sum of its goals' relative shortfalls
(each capped at 1; see :meth:`~wordgrad.science.radiotherapy.goals.Goal.violation`), minus
``0.05`` times the organs' average mean dose as a fraction of the prescription, so among plans
meeting every goal the one sparing the organs more scores higher. A plan meeting every goal
scores between -0.05 and 0.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from wordgrad.science.radiotherapy.case import PlanCase, quiet_pyradplan
from wordgrad.science.radiotherapy.goals import Goal

SPARING_WEIGHT = 0.05
DVH_POINTS = 81
_D = re.compile(r"^D(\d+(?:\.\d+)?)$")
_V_GY = re.compile(r"^V(\d+(?:\.\d+)?)Gy$")
_V_PCT = re.compile(r"^V(\d+(?:\.\d+)?)%$")


@dataclass(frozen=True)
class GoalResult:
    goal: Goal
    value: float

    @property
    def met(self) -> bool:
        return self.goal.met(self.value)

    def as_dict(self) -> dict[str, Any]:
        return {
            "goal": self.goal.text(),
            "structure": self.goal.structure,
            "metric": self.goal.metric,
            "value": round(self.value, 3),
            "met": self.met,
            "source": self.goal.source,
        }


@dataclass(frozen=True)
class PlanEvaluation:
    """A plan: its weights, dose-volume metrics, goals, score and DVH.

    Attributes:
        weights: the tuned weights it was optimized with.
        metrics: structure -> metric name -> value (Gy for D/mean/max, % for V).
        goals: each clinical goal with its value.
        score: see the module docstring.
        dvh_dose_gy: the DVH's dose axis (Gy), shared by every structure.
        dvh_volume_pct: structure -> cumulative volume (%) at each dose of ``dvh_dose_gy``.
        optimization_s: wall time of the fluence optimization.
        evaluation_s: wall time of the whole evaluation (optimization, dose, metrics).
        solver_iterations: iterations the fluence optimizer took (-1: not reported).
    """

    case: str
    prescription_gy: float
    weights: dict[str, float]
    metrics: dict[str, dict[str, float]]
    goals: list[GoalResult]
    score: float
    targets: list[str]
    dvh_dose_gy: list[float] = field(default_factory=list)
    dvh_volume_pct: dict[str, list[float]] = field(default_factory=dict)
    optimization_s: float = 0.0
    evaluation_s: float = 0.0
    solver_iterations: int = -1

    @property
    def goals_met(self) -> int:
        return sum(result.met for result in self.goals)

    def report(self) -> str:
        """The plan as text, for the critic: goals met and missed, then every metric."""
        weights = ", ".join(f"{name} {weight:g}" for name, weight in self.weights.items())
        lines = [
            f"Treatment plan for case {self.case} (prescription {self.prescription_gy:g} Gy), "
            f"fluence optimized with weights {weights}.",
            "",
            f"Clinical goals ({self.goals_met} of {len(self.goals)} met):",
        ]
        for result in self.goals:
            goal = result.goal
            status = "met   " if result.met else "MISSED"
            miss = ""
            if not result.met:
                miss = f" (off by {abs(result.value - goal.limit):.1f} {goal.unit})"
            lines.append(f"  [{status}] {goal.text()}: actual {result.value:.1f} {goal.unit}{miss}")
        lines += ["", "Dose-volume metrics:"]
        for structure, values in self.metrics.items():
            shown = ", ".join(f"{_label(name)} {_fmt(name, v)}" for name, v in values.items())
            role = "target" if structure in self.targets else "organ at risk"
            lines.append(f"  {structure} ({role}): {shown}")
        lines += ["", f"Plan score (higher is better, 0 is best): {self.score:.4f}"]
        return "\n".join(lines)

    def details(self) -> dict[str, Any]:
        """JSON-able: everything above (for the run log and the report)."""
        return {
            "case": self.case,
            "prescription_gy": self.prescription_gy,
            "weights": dict(self.weights),
            "metrics": {s: {k: round(v, 3) for k, v in m.items()} for s, m in self.metrics.items()},
            "goals": [result.as_dict() for result in self.goals],
            "goals_met": self.goals_met,
            "score": self.score,
            "targets": list(self.targets),
            "dvh": {"dose_gy": self.dvh_dose_gy, "volume_pct": self.dvh_volume_pct},
            "optimization_s": round(self.optimization_s, 3),
            "evaluation_s": round(self.evaluation_s, 3),
            "solver_iterations": self.solver_iterations,
        }


def _label(metric: str) -> str:
    return "coverage V95%" if metric == "V95%" else metric


def _fmt(metric: str, value: float) -> str:
    return f"{value:.1f} %" if metric.startswith("V") else f"{value:.1f} Gy"


def metric_value(voxels: NDArray[np.float64], metric: str, prescription_gy: float) -> float:
    """One dose-volume metric of a structure's voxel doses (see the module docstring).

    Raises:
        ValueError: for a metric name that is not ``Dx``, ``VxGy``, ``Vx%``, ``mean`` or ``max``.
    """
    from pyRadPlan.analysis import DX, VX, Max, Mean

    if metric == "mean":
        return float(Mean.compute_from(voxels).value)
    if metric == "max":
        return float(Max.compute_from(voxels).value)
    if found := _D.match(metric):
        return float(DX.compute_from(voxels, ref_vol=float(found[1])).value)
    if found := _V_GY.match(metric):
        return float(VX.compute_from(voxels, ref_dose=float(found[1])).value)
    if found := _V_PCT.match(metric):
        threshold = float(found[1]) / 100 * prescription_gy
        return float(VX.compute_from(voxels, ref_dose=threshold).value)
    raise ValueError(f"unknown metric {metric!r}; use Dx, VxGy, Vx%, mean or max")


def _objective(spec_kind: str, dose_gy: float, weight: float) -> Any:
    from pyRadPlan.optimization.objectives import SquaredDeviation, SquaredOverdosing

    if spec_kind == "squared_deviation":
        return SquaredDeviation(priority=weight, d_ref=dose_gy)
    return SquaredOverdosing(priority=weight, d_max=dose_gy)


def evaluate_plan(
    case: PlanCase, weights: Mapping[str, float], goals: Sequence[Goal] | None = None
) -> PlanEvaluation:
    """Optimize the fluence of ``case`` with ``weights`` and measure the plan.

    Args:
        case: a loaded case (:func:`~wordgrad.science.radiotherapy.case.load_case`).
        weights: a positive weight for each of ``case.weighted_structures`` (as
            :func:`~wordgrad.science.radiotherapy.weights.parse_weights` returns).
        goals: the clinical goals (default: the case's).

    Raises:
        KeyError: when a weighted structure has no weight.
    """
    goals = list(goals) if goals is not None else list(case.default_goals)
    started = time.perf_counter()
    with case.lock, quiet_pyradplan():
        from pyRadPlan import fluence_optimization
        from pyRadPlan.analysis import DVH

        specs = {spec.structure: spec for spec in case.objectives}
        for voi in case.cst.vois:
            spec = specs.get(voi.name)
            if spec is None:
                voi.objectives = []
                continue
            weight = spec.weight if spec.weight is not None else float(weights[voi.name])
            voi.objectives = [_objective(spec.kind, spec.dose_gy, weight)]
        info: dict[str, Any] = {}
        optimizing = time.perf_counter()
        fluence = fluence_optimization(
            case.ct, case.cst, case.stf, case.dij, case.pln, opt_info=info
        )
        optimization_s = time.perf_counter() - optimizing
        import SimpleITK as sitk

        dose_image = case.dij.compute_result_ct_grid(fluence)["physical_dose"]
        dose = np.asarray(sitk.GetArrayFromImage(dose_image), dtype=np.float64)

        rx = case.prescription_gy
        targets = [s.structure for s in case.objectives if s.kind == "squared_deviation"]
        organs = [
            s.structure
            for s in case.objectives
            if s.kind == "squared_overdosing" and s.weight is None
        ]
        wanted: dict[str, list[str]] = {t: ["D95", "D2", "mean", "V95%"] for t in targets}
        for organ in organs:
            wanted[organ] = ["mean", "D5"]
        for goal in goals:
            wanted.setdefault(goal.structure, [])
            if goal.metric not in wanted[goal.structure]:
                wanted[goal.structure].append(goal.metric)
        metrics = {
            structure: {
                metric: metric_value(dose[case.masks[structure]], metric, rx) for metric in names
            }
            for structure, names in wanted.items()
        }
        top = max(float(dose.max()) * 1.02, rx * 1.1)
        curves: dict[str, list[float]] = {}
        axis: list[float] = []
        for structure in [*targets, *organs]:
            dvh = DVH.compute(
                quantity=dose, mask=case.masks[structure], num_points=DVH_POINTS - 1, max_value=top
            )
            axis = [round(float(x), 3) for x in dvh.bins]
            curves[structure] = [round(float(v), 3) for v in dvh.cum_volume]
    results = [GoalResult(goal, metrics[goal.structure][goal.metric]) for goal in goals]
    mean_organ = sum(metrics[o]["mean"] for o in organs) / len(organs) / rx if organs else 0.0
    score = -sum(r.goal.violation(r.value) for r in results) - SPARING_WEIGHT * mean_organ
    iterations = info.get("num_iter", -1)
    return PlanEvaluation(
        case=case.name,
        prescription_gy=rx,
        weights={name: float(weights[name]) for name in case.weighted_structures},
        metrics=metrics,
        goals=results,
        score=float(score),
        targets=targets,
        dvh_dose_gy=axis,
        dvh_volume_pct=curves,
        optimization_s=optimization_s,
        evaluation_s=time.perf_counter() - started,
        solver_iterations=int(iterations),
    )
