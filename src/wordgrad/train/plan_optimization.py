"""Radiotherapy plan optimization: the objective weights of a fluence optimization as a
text variable, tuned by critique and TGD, as in the paper's prostate IMRT experiment.

Each iteration of :class:`~wordgrad.train.instance_optimization.InstanceOptimization`:

1. :func:`plan_measure` reads the weights text (``PTV: 1000`` ... one line per structure).
   A text that cannot be read (a structure missing, a weight that is not a positive number)
   gets the lowest score and the reason as feedback: the plan is not re-optimized and the
   run goes on. Otherwise pyRadPlan re-optimizes the fluence with those weights and the plan's
   dose-volume metrics are checked against the clinical goals
   (:func:`~wordgrad.science.radiotherapy.plan.evaluate_plan`); the plan report is the
   feedback, its score the number.
2. The critic reads the case, the goals, the weights and the plan report and says what to
   change; the review is passed back to the weights, and TGD writes new weights.

::

    from wordgrad.train.plan_optimization import PlanOptimizationConfig, optimize_plan
    results = optimize_plan(PlanOptimizationConfig(model="gpt-4o", iterations=5), "runs/plan")
    results["instances"][0]["best_value"]        # the best weights found

The run directory works like every other (checkpoints, resume after ``kill -9``, budget, live
view); ``wordgrad report RUN_DIR`` shows the weights and metrics per iteration and the DVH of
the first, best and last plans.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from wordgrad import prompts
from wordgrad.errors import InvalidInputError
from wordgrad.science.radiotherapy.case import CASE_INFO, CaseSettings, load_case
from wordgrad.science.radiotherapy.goals import goals_text, parse_goals
from wordgrad.science.radiotherapy.plan import evaluate_plan
from wordgrad.science.radiotherapy.weights import (
    WeightsError,
    expected_format,
    format_weights,
    parse_weights,
)
from wordgrad.train.instance_optimization import InstanceOptimization, InstanceOptimizationConfig
from wordgrad.train.objective import Instance, Score, Trajectory


@dataclass(frozen=True)
class PlanOptimizationConfig(InstanceOptimizationConfig):
    """What a plan-optimization run computes (saved as ``config.json``).

    Besides the settings of :class:`InstanceOptimizationConfig` (engines, iterations, ...):

    Args:
        case: ``"prostate-phantom"`` or ``"tg119"``.
        voxel_mm: dose-grid voxel size, mm.
        beams: photon beams, evenly spaced.
        max_iter: iteration cap of the fluence optimizer.
        goals: clinical goals as text, one per line (``None``: the case's defaults, see
            :mod:`wordgrad.science.radiotherapy.goals`).
        weights: the starting weights text (``None``: the case's default starting weights).
        cache_dir: where dose-influence matrices are kept (``None``: the user cache).
    """

    iterations: int = 5
    case: str = "prostate-phantom"
    voxel_mm: float = 5.0
    beams: int = 5
    max_iter: int = 500
    goals: str | None = None
    weights: str | None = None
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.case_settings()  # checks the case, grid and beams

    def case_settings(self) -> CaseSettings:
        return CaseSettings(
            case=self.case, voxel_mm=self.voxel_mm, beams=self.beams, max_iter=self.max_iter
        )

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def plan_instance(config: PlanOptimizationConfig) -> Instance:
    """The instance to optimize: the starting weights, and the case and goals as context.

    Raises:
        InvalidInputError: for goals or starting weights that cannot be read.
    """
    settings = config.case_settings()
    info = CASE_INFO[settings.case]
    structures = [spec.structure for spec in info.objectives]
    goals = parse_goals(config.goals, structures) if config.goals else list(info.goals)
    if not goals:
        raise InvalidInputError("no clinical goals given; write one per line")
    weighted = info.weighted_structures
    if config.weights is not None:
        try:
            start = format_weights(parse_weights(config.weights, weighted))
        except WeightsError as error:
            raise InvalidInputError(f"the starting weights: {error}") from None
    else:
        start = format_weights(info.weights)
    context = prompts.render(
        "plan.context",
        description=info.description,
        prescription=f"{info.prescription_gy:g}",
        beams=str(settings.beams),
        objectives="\n".join(f"- {spec.text()}" for spec in info.objectives),
        weighted=", ".join(weighted),
        goals="\n".join(
            f"- {goal.text()}" + (f" ({goal.source})" if goal.source else "") for goal in goals
        ),
    )
    return Instance(
        id=settings.case,
        value=start,
        role=prompts.render("plan.weights_role"),
        context=context,
        constraints=(expected_format(weighted),),
        data={
            "case": settings.as_dict(),
            "goals": goals_text(goals),
            "cache_dir": config.cache_dir,
        },
    )


def plan_measure(instance: Instance, value: str) -> Score:
    """Optimize the plan for the weights in ``value`` and score it against the goals.

    ``instance.data`` holds the case settings (``"case"``), the goals text (``"goals"``) and
    the cache directory (``"cache_dir"``). Weights that cannot be read score
    ``-(len(goals) + 1)``, below any plan, with the reason as feedback.
    """
    settings = CaseSettings(**instance.data["case"])
    case = load_case(settings, instance.data.get("cache_dir"))
    goals = parse_goals(str(instance.data["goals"]), case.structures)
    try:
        weights = parse_weights(value, case.weighted_structures)
    except WeightsError as error:
        return Score(
            -float(len(goals) + 1),
            feedback=prompts.render("plan.weights_unreadable", error=str(error)),
            details={"plan": None, "weights_error": str(error)},
        )
    evaluation = evaluate_plan(case, weights, goals)
    return Score(evaluation.score, evaluation.report(), {"plan": evaluation.details()})


class PlanOptimization(InstanceOptimization):
    """The plan loop; :func:`optimize_plan` is the short way to run it.

    Args:
        config: the settings.
        run_dir: the run's directory.
        **options: those of :class:`~wordgrad.train.loop.RunLoop` (engines, budget, live view).
    """

    kind = "plan"

    def __init__(
        self, config: PlanOptimizationConfig, run_dir: str | os.PathLike[str], **options: Any
    ) -> None:
        super().__init__(config, run_dir, [plan_instance(config)], plan_measure, **options)

    def summarize(self, instance: Instance, trajectory: Trajectory) -> dict[str, Any]:
        summary = super().summarize(instance, trajectory)
        for label, iterate in (("start", trajectory.start), ("best", trajectory.best)):
            plan = iterate.score.details.get("plan")
            if isinstance(plan, dict):
                summary[f"{label}_plan"] = {
                    key: plan[key] for key in ("weights", "metrics", "goals_met", "score")
                }
        return summary


def optimize_plan(
    config: PlanOptimizationConfig | None = None,
    run_dir: str | os.PathLike[str] = "runs/plan",
    **options: Any,
) -> dict[str, Any]:
    """Run (or continue) a plan optimization; see :class:`PlanOptimization`."""
    return PlanOptimization(config or PlanOptimizationConfig(), run_dir, **options).run()
