"""A synthetic prostate-like phantom, built from simple solids on a voxel grid.

The geometry (all in millimetres, patient coordinates with x to the patient's left, y to the
posterior and z to the head, the origin at the centre of the target; LPS as in DICOM):

=========  =======================================================  ===============
structure  solid                                                    designed volume
=========  =======================================================  ===============
body       elliptic cylinder, semi-axes 180 x 120 mm, whole length  pelvis of 36 x 24 cm
PTV        sphere, radius 28 mm, at the origin                      92.0 cm3
bladder    ellipsoid, semi-axes 40 x 25 x 30 mm, centre (0, -45, 35)  125.7 cm3
rectum     cylinder along z, radius 16 mm, centre (0, 42), z -50..40  72.4 cm3
=========  =======================================================  ===============

So the bladder sits in front of (anterior) and above (superior) the target, touching it, and
the rectum is a tube behind it whose front wall reaches 2 mm into the PTV, as the
prostate's planning target volume usually does after its margin. Sizes are those of a typical
prostate case: a prostate of about 40 cm3 with a 7 mm margin gives a PTV near 90 cm3; a
partly filled bladder holds 100-300 cm3; the rectum is a 3 cm tube. The phantom is water
(0 HU) inside the body and air (-1000 HU) outside.

A voxel belongs to a structure when its centre lies inside the solid, so a structure's voxel
volume differs from its designed volume by at most about its surface area times half a voxel
diagonal (:meth:`Solid.voxel_tolerance_mm3`).

Only NumPy here; :mod:`wordgrad.science.radiotherapy.case` turns the masks into pyRadPlan
objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Mask = NDArray[np.bool_]
Coordinates = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]


@dataclass(frozen=True)
class Solid:
    """A solid's designed volume and surface; subclasses give its voxel mask."""

    def mask(self, z: NDArray[np.float64], y: NDArray[np.float64], x: NDArray[np.float64]) -> Mask:
        raise NotImplementedError

    def volume_mm3(self) -> float:
        raise NotImplementedError

    def surface_mm2(self) -> float:
        raise NotImplementedError

    def voxel_tolerance_mm3(self, voxel_mm: float) -> float:
        """The largest difference voxelization can make: surface x half a voxel diagonal."""
        return self.surface_mm2() * voxel_mm * math.sqrt(3) / 2


@dataclass(frozen=True)
class Sphere(Solid):
    center: tuple[float, float, float]
    radius: float

    def mask(self, z: NDArray[np.float64], y: NDArray[np.float64], x: NDArray[np.float64]) -> Mask:
        cx, cy, cz = self.center
        inside: Mask = (x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 <= self.radius**2
        return inside

    def volume_mm3(self) -> float:
        return 4 / 3 * math.pi * self.radius**3

    def surface_mm2(self) -> float:
        return 4 * math.pi * self.radius**2


@dataclass(frozen=True)
class Ellipsoid(Solid):
    center: tuple[float, float, float]
    semi_axes: tuple[float, float, float]

    def mask(self, z: NDArray[np.float64], y: NDArray[np.float64], x: NDArray[np.float64]) -> Mask:
        (cx, cy, cz), (a, b, c) = self.center, self.semi_axes
        inside: Mask = ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 + ((z - cz) / c) ** 2 <= 1
        return inside

    def volume_mm3(self) -> float:
        a, b, c = self.semi_axes
        return 4 / 3 * math.pi * a * b * c

    def surface_mm2(self) -> float:
        """Knud Thomsen's approximation (relative error below 1.1 %)."""
        a, b, c = self.semi_axes
        p = 1.6075
        mean = ((a * b) ** p + (a * c) ** p + (b * c) ** p) / 3
        return float(4 * math.pi * mean ** (1 / p))


@dataclass(frozen=True)
class Cylinder(Solid):
    """A cylinder along z with an elliptic cross-section (``radii`` in x and y)."""

    center: tuple[float, float]
    radii: tuple[float, float]
    z_range: tuple[float, float]

    def mask(self, z: NDArray[np.float64], y: NDArray[np.float64], x: NDArray[np.float64]) -> Mask:
        (cx, cy), (rx, ry), (z0, z1) = self.center, self.radii, self.z_range
        inside: Mask = (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1) & (z >= z0) & (z <= z1)
        return inside

    def volume_mm3(self) -> float:
        rx, ry = self.radii
        return math.pi * rx * ry * (self.z_range[1] - self.z_range[0])

    def surface_mm2(self) -> float:
        """Ends plus side (Ramanujan's perimeter of the ellipse)."""
        a, b = self.radii
        h = ((a - b) / (a + b)) ** 2
        perimeter = math.pi * (a + b) * (1 + 3 * h / (10 + math.sqrt(4 - 3 * h)))
        return 2 * math.pi * a * b + perimeter * (self.z_range[1] - self.z_range[0])


@dataclass(frozen=True)
class PhantomDesign:
    """The solids of a phantom and the box around them (half extents in mm, x/y/z)."""

    structures: dict[str, Solid]
    half_extent_mm: tuple[float, float, float]

    def grid(self, voxel_mm: float) -> Coordinates:
        """Voxel-centre coordinates ``(z, y, x)`` as 1-D arrays, symmetric about 0."""
        axes: list[NDArray[np.float64]] = []
        for half in reversed(self.half_extent_mm):  # z, y, x
            count = max(1, round(2 * half / voxel_mm))
            axes.append((np.arange(count, dtype=np.float64) - (count - 1) / 2) * voxel_mm)
        return axes[0], axes[1], axes[2]

    def masks(self, voxel_mm: float) -> dict[str, Mask]:
        """Each structure's boolean mask, arrays indexed ``[z, y, x]``."""
        z, y, x = np.meshgrid(*self.grid(voxel_mm), indexing="ij")
        return {name: solid.mask(z, y, x) for name, solid in self.structures.items()}


PROSTATE_HALF_EXTENT_MM = (200.0, 140.0, 60.0)
"""The CT box: 40 x 28 cm across, 12 cm long."""

PROSTATE_PHANTOM = PhantomDesign(
    structures={
        "BODY": Cylinder((0.0, 0.0), (180.0, 120.0), (-60.0, 60.0)),
        "PTV": Sphere((0.0, 0.0, 0.0), 28.0),
        "bladder": Ellipsoid((0.0, -45.0, 35.0), (40.0, 25.0, 30.0)),
        "rectum": Cylinder((0.0, 42.0), (16.0, 16.0), (-50.0, 40.0)),
    },
    half_extent_mm=PROSTATE_HALF_EXTENT_MM,
)
"""The prostate-like phantom described in the module docstring."""


def voxel_volume_mm3(mask: Mask, voxel_mm: float) -> float:
    """A mask's volume: its voxel count times the voxel volume."""
    return float(np.count_nonzero(mask)) * voxel_mm**3
