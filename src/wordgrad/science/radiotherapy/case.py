"""Patient cases for plan optimization: the CT, the structures, the beams and the dose-influence
matrix, built with pyRadPlan.

Two cases ship:

- ``"prostate-phantom"``: the synthetic phantom of :mod:`.phantom` (PTV 70 Gy, bladder,
  rectum, body), built in code on a grid of ``voxel_mm``.
- ``"tg119"``: pyRadPlan's own AAPM TG-119 C-shape phantom (``pyRadPlan.load_tg119``;
  OuterTarget 50 Gy around the Core), with the dose calculated on a grid of ``voxel_mm``.

Photon beams are spread evenly around the patient (gantry 0, 360/n, ...; couch 0) and the dose
is calculated by pyRadPlan's photon pencil-beam engine. The dose-influence matrix (dose per
voxel per unit beamlet weight) does not depend on the objective weights, so it is computed once
per case and settings and kept on disk (``<cache>/radiotherapy/``; ``<cache>`` is
``$WORDGRAD_CACHE_DIR`` or the user cache directory); later loads read it back in about a
second instead of recomputing it (5-35 s on 2 cores at 5 mm).

pyRadPlan is imported only when a case is loaded (``pip install 'wordgrad[radiotherapy]'``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import pickle
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from wordgrad.errors import ConfigurationError, InvalidInputError
from wordgrad.science.radiotherapy.goals import Goal, prostate_goals, tg119_goals
from wordgrad.science.radiotherapy.phantom import PROSTATE_PHANTOM, Mask

logger = logging.getLogger(__name__)

CASES = ("prostate-phantom", "tg119")
CACHE_FORMAT = 1
"""Part of every cache key: raise it when the phantom or the stored objects change."""


@dataclass(frozen=True)
class CaseSettings:
    """Which case, on which grid, with how many beams (everything the dose-influence matrix
    depends on).

    Args:
        case: ``"prostate-phantom"`` or ``"tg119"``.
        voxel_mm: the dose grid's voxel size (and the phantom's CT voxel size), mm.
        beams: photon beams, evenly spaced around the patient.
        bixel_mm: beamlet width, mm (``None``: ``voxel_mm``).
        max_iter: iteration cap of the fluence optimizer (SciPy L-BFGS-B).
    """

    case: str = "prostate-phantom"
    voxel_mm: float = 5.0
    beams: int = 5
    bixel_mm: float | None = None
    max_iter: int = 500

    def __post_init__(self) -> None:
        if self.case not in CASES:
            raise InvalidInputError(f"unknown case {self.case!r}; choose one of {', '.join(CASES)}")
        if not 1.0 <= self.voxel_mm <= 20.0:
            raise InvalidInputError(f"voxel_mm must be between 1 and 20 mm, got {self.voxel_mm}")
        if not 1 <= self.beams <= 36:
            raise InvalidInputError(f"beams must be between 1 and 36, got {self.beams}")
        if self.max_iter < 1:
            raise InvalidInputError(f"max_iter must be at least 1, got {self.max_iter}")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def bixel_width(self) -> float:
        return self.bixel_mm if self.bixel_mm is not None else self.voxel_mm


@dataclass(frozen=True)
class ObjectiveSpec:
    """One structure's objective in the fluence optimization.

    Args:
        structure: the structure's name.
        kind: ``"squared_deviation"`` (from ``dose_gy``, for targets) or
            ``"squared_overdosing"`` (above ``dose_gy``, for organs and the body).
        dose_gy: the reference or maximum dose.
        weight: a fixed weight, or ``None`` when the weight is tuned (it is in the weights text).
    """

    structure: str
    kind: Literal["squared_deviation", "squared_overdosing"]
    dose_gy: float
    weight: float | None = None

    def text(self) -> str:
        what = (
            "squared deviation from" if self.kind == "squared_deviation" else "squared dose above"
        )
        fixed = f" (fixed weight {self.weight:g})" if self.weight is not None else ""
        return f"{self.structure}: {what} {self.dose_gy:g} Gy{fixed}"


@dataclass
class PlanCase:
    """A loaded case: pyRadPlan's ``ct``, ``cst``, ``pln``, ``stf`` and ``dij`` plus what the
    plan loop needs to know about it.

    Attributes:
        settings: how it was built.
        description: a few sentences on the anatomy, for the critic.
        prescription_gy: the target's prescribed dose.
        objectives: one per optimized structure (tuned ones first: targets, then organs).
        default_goals: the clinical goals used when the user gives none.
        default_weights: a starting point for the tuned weights.
        masks: each structure's boolean mask on the CT grid (arrays ``[z, y, x]``).
        voxel_cc: the CT voxel volume, cm3.
        dij_seconds: how long the dose-influence matrix took (0.0 when read from disk).
        lock: held while the case's objectives are set and optimized (one plan at a time).
    """

    settings: CaseSettings
    description: str
    prescription_gy: float
    objectives: list[ObjectiveSpec]
    default_goals: list[Goal]
    default_weights: dict[str, float]
    ct: Any
    cst: Any
    pln: Any
    stf: Any
    dij: Any
    masks: dict[str, Mask]
    voxel_cc: float
    dij_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def name(self) -> str:
        return self.settings.case

    @property
    def structures(self) -> list[str]:
        """Every structure with a mask."""
        return list(self.masks)

    @property
    def weighted_structures(self) -> list[str]:
        """The structures whose weights are tuned, in the weights text's order."""
        return [spec.structure for spec in self.objectives if spec.weight is None]

    def volume_cc(self, structure: str) -> float:
        return float(np.count_nonzero(self.masks[structure])) * self.voxel_cc


# --------------------------------------------------------------------------- pyRadPlan access


@contextlib.contextmanager
def quiet_pyradplan() -> Iterator[None]:
    """Run pyRadPlan without its console progress bars, its import-time and deprecation
    warnings (about its own dependencies' APIs) and its log notices below ERROR (which defaults
    it chose, such as the planning problem): nothing a user of wordgrad can act on. Callers
    hold a case lock, so the warning filters are not raced by another plan."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        try:
            from pyRadPlan.core._progress import ProgressReporter
        except ImportError as error:
            raise ConfigurationError(
                "plan optimization needs pyRadPlan; install it with "
                "pip install 'wordgrad[radiotherapy]'"
            ) from error
        previous = ProgressReporter.console_progress
        ProgressReporter.console_progress = False
        library_log = logging.getLogger("pyRadPlan")
        level = library_log.level
        library_log.setLevel(logging.ERROR)
        try:
            yield
        finally:
            ProgressReporter.console_progress = previous
            library_log.setLevel(level)


def pyradplan_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyRadPlan")
    except PackageNotFoundError:
        return "missing"


# --------------------------------------------------------------------------- building cases


@dataclass(frozen=True)
class CaseInfo:
    """What is known about a case without building it (no pyRadPlan needed).

    Attributes:
        description: a few sentences on the anatomy, for the critic.
        prescription_gy: the target's prescribed dose.
        objectives: one per optimized structure (tuned ones first: targets, then organs).
        goals: the default clinical goals.
        weights: a starting point for the tuned weights (the prostate's favours the organs,
            so its first plan misses the target goals and there is something to fix).
    """

    description: str
    prescription_gy: float
    objectives: list[ObjectiveSpec]
    goals: list[Goal]
    weights: dict[str, float]

    @property
    def weighted_structures(self) -> list[str]:
        return [spec.structure for spec in self.objectives if spec.weight is None]


CASE_INFO: dict[str, CaseInfo] = {
    "prostate-phantom": CaseInfo(
        description=(
            "Synthetic prostate-like phantom (water in a 36 x 24 cm elliptic pelvis). The PTV is "
            "a 92 cm3 sphere at the centre; the bladder lies anterior and superior to it, "
            "touching it; the rectum is a tube directly posterior whose anterior wall overlaps "
            "the PTV by 2 mm, so full target coverage and a low rectal dose pull against each "
            "other."
        ),
        prescription_gy=70.0,
        objectives=[
            ObjectiveSpec("PTV", "squared_deviation", 70.0),
            ObjectiveSpec("bladder", "squared_overdosing", 40.0),
            ObjectiveSpec("rectum", "squared_overdosing", 40.0),
            ObjectiveSpec("BODY", "squared_overdosing", 30.0, weight=100.0),
        ],
        goals=prostate_goals(70.0),
        weights={"PTV": 30.0, "bladder": 300.0, "rectum": 300.0},
    ),
    "tg119": CaseInfo(
        description=(
            "AAPM TG-119 C-shape phantom (pyRadPlan's copy): a C-shaped OuterTarget wraps "
            "around a cylindrical Core organ at risk 5 mm away, inside a water body."
        ),
        prescription_gy=50.0,
        objectives=[
            ObjectiveSpec("OuterTarget", "squared_deviation", 50.0),
            ObjectiveSpec("Core", "squared_overdosing", 25.0),
            ObjectiveSpec("BODY", "squared_overdosing", 30.0, weight=100.0),
        ],
        goals=tg119_goals(),
        weights={"OuterTarget": 1000.0, "Core": 300.0},
    ),
}
"""The shipped cases' objectives, default goals and starting weights."""


def _prostate(settings: CaseSettings) -> tuple[Any, Any, dict[str, Mask]]:
    from pyRadPlan import CT
    from pyRadPlan.cst import OAR, ExternalVOI, StructureSet, Target

    h = settings.voxel_mm
    masks = PROSTATE_PHANTOM.masks(h)
    hu = np.where(masks["BODY"], 0.0, -1000.0)
    ct = CT(cube_hu=hu, resolution={"x": h, "y": h, "z": h})
    kinds = {"BODY": ExternalVOI, "PTV": Target, "bladder": OAR, "rectum": OAR}
    vois = [kinds[name](name=name, ct_image=ct, mask=masks[name]) for name in kinds]
    return ct, StructureSet(vois=vois, ct_image=ct), masks


def _tg119(settings: CaseSettings) -> tuple[Any, Any, dict[str, Mask]]:
    import SimpleITK as sitk
    from pyRadPlan import load_tg119

    ct, cst = load_tg119()
    masks = {voi.name: sitk.GetArrayFromImage(voi.mask).astype(bool) for voi in cst.vois}
    return ct, cst, masks


def cache_key(settings: CaseSettings) -> str:
    """What identifies a case's dose-influence matrix on disk."""
    material = {
        **settings.as_dict(),
        "max_iter": None,  # does not change the matrix
        "format": CACHE_FORMAT,
        "pyRadPlan": pyradplan_version(),
    }
    digest = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]
    return f"{settings.case}-{digest}"


def default_cache_dir() -> Path:
    """``$WORDGRAD_CACHE_DIR/radiotherapy`` (or the user cache directory's)."""
    from wordgrad.engine.cache import default_cache_dir as wordgrad_cache

    return wordgrad_cache() / "radiotherapy"


_LOADED: dict[tuple[str, str], PlanCase] = {}
_LOADING = threading.Lock()


def load_case(
    settings: CaseSettings | None = None, cache_dir: str | os.PathLike[str] | None = None
) -> PlanCase:
    """The case for ``settings``, built once per process; its dose-influence matrix is read
    from ``cache_dir`` (default :func:`default_cache_dir`) or computed and written there.

    Raises:
        ConfigurationError: when pyRadPlan is not installed.
    """
    settings = settings or CaseSettings()
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    memo = (cache_key(settings), str(directory))
    with _LOADING:
        if memo not in _LOADED:
            _LOADED[memo] = _build(settings, directory)
        return _LOADED[memo]


def _build(settings: CaseSettings, directory: Path) -> PlanCase:
    with quiet_pyradplan():
        from pyRadPlan import PhotonPlan, calc_dose_influence, generate_stf

        builder = _prostate if settings.case == "prostate-phantom" else _tg119
        ct, cst, masks = builder(settings)
        info = CASE_INFO[settings.case]
        n = settings.beams
        pln = PhotonPlan(machine="Generic", prescribed_dose=info.prescription_gy)
        pln.prop_stf = {
            "gantry_angles": [float(a) for a in np.linspace(0, 360, n, endpoint=False)],
            "couch_angles": [0.0] * n,
            "bixel_width": settings.bixel_width,
            "generator": "photonIMRT",
        }
        h = settings.voxel_mm
        pln.prop_dose_calc = {
            "engine": "SVDPB",
            "dose_grid": {"resolution": {"x": h, "y": h, "z": h}},
        }
        pln.prop_opt = {
            "solver": "scipy",
            "max_iter": settings.max_iter,
        }
        path = directory / f"{cache_key(settings)}.pkl"
        seconds = 0.0
        stf = dij = None
        if path.is_file():
            try:
                with open(path, "rb") as file:
                    stf, dij = pickle.load(file)
            except Exception as error:  # a truncated or foreign file: compute it again
                logger.warning("ignoring unreadable dose-influence cache %s: %s", path, error)
                stf = dij = None
        if stf is None or dij is None:
            started = time.perf_counter()
            stf = generate_stf(ct, cst, pln)
            dij = calc_dose_influence(ct, cst, stf, pln)
            seconds = time.perf_counter() - started
            _write_pickle(path, (stf, dij))
    spacing = ct.resolution
    voxel_cc = spacing["x"] * spacing["y"] * spacing["z"] / 1000.0
    return PlanCase(
        settings=settings,
        description=info.description,
        prescription_gy=info.prescription_gy,
        objectives=list(info.objectives),
        default_goals=list(info.goals),
        default_weights=dict(info.weights),
        ct=ct,
        cst=cst,
        pln=pln,
        stf=stf,
        dij=dij,
        masks=masks,
        voxel_cc=voxel_cc,
        dij_seconds=seconds,
    )


def _write_pickle(path: Path, data: Any) -> None:
    """Write atomically: a crash leaves the old file or none, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".dij-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            pickle.dump(data, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
