"""The phantom's structures have their designed volumes, sit where a planner expects them, and
reach pyRadPlan unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from wordgrad.science.radiotherapy.phantom import (
    PROSTATE_PHANTOM,
    Cylinder,
    Ellipsoid,
    Sphere,
    voxel_volume_mm3,
)


@pytest.mark.parametrize("voxel_mm", [2.0, 3.0, 5.0])
def test_structure_volumes_equal_designed_values_within_voxel_error(voxel_mm: float) -> None:
    masks = PROSTATE_PHANTOM.masks(voxel_mm)
    for name, solid in PROSTATE_PHANTOM.structures.items():
        measured = voxel_volume_mm3(masks[name], voxel_mm)
        designed = solid.volume_mm3()
        assert abs(measured - designed) <= solid.voxel_tolerance_mm3(voxel_mm), (name, voxel_mm)


def test_voxel_error_shrinks_with_the_voxel() -> None:
    """Finer grids come closer to the designed volume (the check above is not vacuous)."""
    ptv = PROSTATE_PHANTOM.structures["PTV"]
    errors = [
        abs(voxel_volume_mm3(PROSTATE_PHANTOM.masks(h)["PTV"], h) - ptv.volume_mm3())
        / ptv.volume_mm3()
        for h in (6.0, 1.5)
    ]
    assert errors[1] < errors[0]
    assert errors[1] < 0.02


def test_designed_sizes_are_those_of_a_prostate_case() -> None:
    cc = {name: solid.volume_mm3() / 1000 for name, solid in PROSTATE_PHANTOM.structures.items()}
    assert 60 < cc["PTV"] < 150
    assert 80 < cc["bladder"] < 400
    assert 40 < cc["rectum"] < 120


def test_bladder_is_anterior_and_rectum_posterior_and_both_touch_the_target() -> None:
    masks = PROSTATE_PHANTOM.masks(2.0)
    _, y, _ = PROSTATE_PHANTOM.grid(2.0)

    def centre_y(mask: np.ndarray) -> float:
        return float(y[np.nonzero(mask)[1]].mean())

    assert centre_y(masks["bladder"]) < centre_y(masks["PTV"]) < centre_y(masks["rectum"])
    assert np.count_nonzero(masks["rectum"] & masks["PTV"]) > 0  # the rectal wall overlap
    for organ in ("bladder", "rectum"):
        assert not np.any(masks[organ] & ~masks["BODY"])
    assert not np.any(masks["PTV"] & ~masks["BODY"])


def test_solid_formulas() -> None:
    assert Sphere((0, 0, 0), 10).volume_mm3() == pytest.approx(4188.79, rel=1e-5)
    assert Ellipsoid((0, 0, 0), (10, 10, 10)).surface_mm2() == pytest.approx(
        Sphere((0, 0, 0), 10).surface_mm2(), rel=1e-6
    )
    assert Cylinder((0, 0), (5, 5), (0, 10)).volume_mm3() == pytest.approx(785.398, rel=1e-5)


def test_pyradplan_case_holds_the_phantom_masks(coarse_case) -> None:  # type: ignore[no-untyped-def]
    import SimpleITK as sitk

    for voi in coarse_case.cst.vois:
        array = sitk.GetArrayFromImage(voi.mask).astype(bool)
        assert np.array_equal(array, coarse_case.masks[voi.name]), voi.name
    assert coarse_case.ct.resolution["x"] == 10.0
    assert {v.voi_type for v in coarse_case.cst.vois} == {"EXTERNAL", "TARGET", "OAR"}
