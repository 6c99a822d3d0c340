"""Radiotherapy treatment planning: the objective weights of a fluence optimization, tuned by
textual gradients, with the dose calculated and the fluence optimized by pyRadPlan (the Python
port of matRad).

- :mod:`.phantom`: a synthetic prostate-like phantom (body, PTV, bladder, rectum) on a voxel grid.
- :mod:`.case`: cases (the phantom and pyRadPlan's TG-119), their dose-influence matrices
  cached on disk.
- :mod:`.goals`: clinical goals (defaults for prostate and TG-119, with their sources).
- :mod:`.weights`: the weights as text and back, with checks.
- :mod:`.plan`: optimize the fluence for some weights and measure the plan.

pyRadPlan (``pip install 'wordgrad[radiotherapy]'``) is imported only when a case is loaded.
"""

from wordgrad.science.radiotherapy.case import CASES, CaseSettings, PlanCase, load_case
from wordgrad.science.radiotherapy.goals import Goal, parse_goals, prostate_goals, tg119_goals
from wordgrad.science.radiotherapy.plan import PlanEvaluation, evaluate_plan
from wordgrad.science.radiotherapy.weights import WeightsError, format_weights, parse_weights

__all__ = [
    "CASES",
    "CaseSettings",
    "Goal",
    "PlanCase",
    "PlanEvaluation",
    "WeightsError",
    "evaluate_plan",
    "format_weights",
    "load_case",
    "parse_goals",
    "parse_weights",
    "prostate_goals",
    "tg119_goals",
]
