"""Plans through pyRadPlan: the weights steer the trade-off, the metrics agree with the dose,
the dose-influence matrix is computed once and read back from disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wordgrad.errors import InvalidInputError
from wordgrad.science.radiotherapy import CaseSettings, evaluate_plan, load_case
from wordgrad.science.radiotherapy.case import _LOADED, cache_key

from .conftest import COARSE


def test_target_d95_rises_when_its_weight_rises_relative_to_the_organs(coarse_case) -> None:  # type: ignore[no-untyped-def]
    organs_first = evaluate_plan(coarse_case, {"PTV": 100, "bladder": 1000, "rectum": 1000})
    target_first = evaluate_plan(coarse_case, {"PTV": 1000, "bladder": 100, "rectum": 100})
    assert target_first.metrics["PTV"]["D95"] > organs_first.metrics["PTV"]["D95"] + 0.5
    # ... and the organs pay for it
    assert target_first.metrics["rectum"]["D5"] > organs_first.metrics["rectum"]["D5"]


def test_metrics_report_and_details(coarse_case) -> None:  # type: ignore[no-untyped-def]
    plan = evaluate_plan(coarse_case, {"PTV": 300, "bladder": 300, "rectum": 300})
    ptv = plan.metrics["PTV"]
    assert set(ptv) == {"D95", "D2", "mean", "V95%"}
    assert ptv["D95"] <= ptv["mean"] <= ptv["D2"]
    assert 55 < ptv["mean"] < 80  # near the 70 Gy prescription
    assert {"mean", "D5", "V50Gy", "V60Gy", "V65Gy", "V70Gy"} <= set(plan.metrics["rectum"])
    assert len(plan.goals) == 9
    report = plan.report()
    assert "PTV D95 >= 66.5 Gy" in report and "rectum (organ at risk)" in report
    assert f"{plan.goals_met} of 9 met" in report
    details = plan.details()
    dvh = details["dvh"]
    assert len(dvh["dose_gy"]) == len(dvh["volume_pct"]["PTV"]) > 50
    assert dvh["volume_pct"]["PTV"][0] == pytest.approx(100.0)
    assert all(a >= b for a, b in zip(dvh["volume_pct"]["rectum"], dvh["volume_pct"]["rectum"][1:]))
    assert plan.optimization_s > 0


def test_score_is_zero_minus_shortfalls_and_sparing(coarse_case) -> None:  # type: ignore[no-untyped-def]
    plan = evaluate_plan(coarse_case, {"PTV": 1000, "bladder": 100, "rectum": 100})
    shortfall = sum(r.goal.violation(r.value) for r in plan.goals)
    organs = (plan.metrics["bladder"]["mean"] + plan.metrics["rectum"]["mean"]) / 2 / 70
    assert plan.score == pytest.approx(-shortfall - 0.05 * organs)


def test_dose_influence_matrix_is_cached_on_disk(coarse_case, rt_cache: Path) -> None:  # type: ignore[no-untyped-def]
    settings = CaseSettings(**COARSE)
    path = rt_cache / f"{cache_key(settings)}.pkl"
    assert path.is_file()
    _LOADED.clear()  # forget the in-process copy: the next load reads the file
    again = load_case(settings, rt_cache)
    assert again is not coarse_case
    assert again.dij_seconds == 0.0
    first = coarse_case.dij.physical_dose.flat[0]
    second = again.dij.physical_dose.flat[0]
    assert first.shape == second.shape and first.nnz == second.nnz
    assert np.allclose(first.data, second.data)


def test_cache_key_depends_on_what_the_matrix_depends_on() -> None:
    base = CaseSettings(**COARSE)
    assert cache_key(base) == cache_key(CaseSettings(**{**COARSE, "max_iter": 7}))
    assert cache_key(base) != cache_key(CaseSettings(**{**COARSE, "beams": 5}))
    assert cache_key(base) != cache_key(CaseSettings(**{**COARSE, "voxel_mm": 7.5}))


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="unknown case 'liver'"):
        CaseSettings(case="liver")
    with pytest.raises(InvalidInputError, match="beams"):
        CaseSettings(beams=0)


def test_tg119_loader_gives_pyradplans_phantom_and_plans_on_it(rt_cache: Path) -> None:
    """pyRadPlan's own TG-119 phantom: its structures, the TG-119 goals, and a real plan."""
    pytest.importorskip("pyRadPlan")
    case = load_case(CaseSettings(case="tg119", voxel_mm=15.0, beams=3, max_iter=100), rt_cache)
    assert case.structures == ["Core", "OuterTarget", "BODY"]
    assert case.weighted_structures == ["OuterTarget", "Core"]
    assert case.ct.resolution == {"x": 3.0, "y": 3.0, "z": 2.5}  # the phantom's own CT grid
    assert 20 < case.volume_cc("Core") < 40 and 140 < case.volume_cc("OuterTarget") < 200
    assert [goal.text() for goal in case.default_goals] == [
        "OuterTarget D95 >= 50 Gy",
        "OuterTarget D10 <= 55 Gy",
        "Core D10 <= 25 Gy",
    ]
    plan = evaluate_plan(case, {"OuterTarget": 1000, "Core": 300})
    assert {"D95", "D2", "mean", "V95%", "D10"} == set(plan.metrics["OuterTarget"])
    assert {"mean", "D5", "D10"} == set(plan.metrics["Core"])
    assert 30 < plan.metrics["OuterTarget"]["mean"] < 65  # near the 50 Gy prescription
    assert plan.metrics["Core"]["mean"] < plan.metrics["OuterTarget"]["mean"]
