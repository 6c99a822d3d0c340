"""Vina docking scores against DOCKSTRING's targets (``pip install 'wordgrad[docking]'``).

The protocol follows the DOCKSTRING benchmark (García-Ortegón et al., J. Chem. Inf. Model.
62:3486-3502, 2022), built only from the field's libraries:

1. RDKit reads the SMILES (its canonical form is the cache key);
2. Dimorphite-DL (Ropp et al., J. Cheminform. 11:14, 2019) sets the protonation state at pH 7.4
   (DOCKSTRING uses Open Babel for this step);
3. RDKit adds hydrogens, embeds one conformer (ETKDG, seeded) and relaxes it with MMFF94 (UFF when
   MMFF has no parameters), as DOCKSTRING does;
4. meeko writes the ligand's PDBQT;
5. AutoDock Vina 1.2's Python API (Eberhardt et al., J. Chem. Inf. Model. 61:3891-3898, 2021)
   docks it into DOCKSTRING's receptor (``<TARGET>_target.pdbqt``) inside its search box
   (``<TARGET>_conf.txt``); the score is the best pose's energy in kcal/mol (more negative binds
   more strongly).

Docking runs in a worker process (``python -m wordgrad.science._dock_worker``), one per target
and settings, which keeps the receptor's grid maps between molecules. A crash in native code kills
only the worker, and a molecule that takes longer than ``timeout_s`` has its worker killed; both
come back as a :class:`DockingResult` with a ``status`` and a message, never as an exception, and
the next molecule gets a fresh worker.

::

    from wordgrad.science.docking import DockingSettings, dock
    result = dock("CC(=O)Oc1ccccc1C(=O)O", "DRD2", DockingSettings(exhaustiveness=1))
    result.score        # about -6 kcal/mol
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from wordgrad.errors import InvalidInputError
from wordgrad.science._extras import DOCKING, require
from wordgrad.science.molecules import InvalidMoleculeError, canonical_smiles

DOCKSTRING_SEED = 974528263
"""DOCKSTRING's default random seed (``dockstring.Target.dock(seed=...)``)."""

Status = Literal["docked", "invalid", "preparation_failed", "docking_failed", "timeout", "crashed"]
DETERMINISTIC: tuple[Status, ...] = ("docked", "invalid", "preparation_failed", "docking_failed")
"""Outcomes that the same molecule and settings always give again, so they are cached; a time-out
or a crash may not repeat (a loaded machine, a killed worker) and is tried again."""


@dataclass(frozen=True)
class DockingSettings:
    """How a molecule is docked.

    Args:
        exhaustiveness: Vina's number of independent Monte Carlo runs (Vina's default: 8); lower is
            faster and less thorough.
        seed: seeds the conformer embedding and Vina's search (default: DOCKSTRING's seed), so a
            molecule docked twice with the same settings gets the same score.
        cpu: CPU cores Vina may use (0: all of them, Vina's default).
        ph: the pH at which the ligand's protonation state is set (DOCKSTRING: 7.4).
        timeout_s: seconds one molecule may take (preparation and docking); the worker is
            killed after that and the result's status is ``"timeout"``.
        startup_timeout_s: seconds the worker may take to start and compute the receptor's grid
            maps (about 2.5 s on 2 cores; more on a loaded machine).
    """

    exhaustiveness: int = 8
    seed: int = DOCKSTRING_SEED
    cpu: int = 0
    ph: float = 7.4
    timeout_s: float = 300.0
    startup_timeout_s: float = 300.0

    def __post_init__(self) -> None:
        if self.exhaustiveness < 1:
            raise InvalidInputError("exhaustiveness must be at least 1 (Vina's default is 8)")
        if self.cpu < 0:
            raise InvalidInputError("cpu must be 0 (all cores) or a positive number of cores")
        if not 0.0 <= self.ph <= 14.0:
            raise InvalidInputError(f"ph must be between 0 and 14, not {self.ph}")
        if self.timeout_s <= 0 or self.startup_timeout_s <= 0:
            raise InvalidInputError("timeout_s and startup_timeout_s must be positive seconds")

    def cache_key(self) -> str:
        """The settings that determine a score (CPU count and time limits change only speed)."""
        return f"exhaustiveness={self.exhaustiveness};seed={self.seed};ph={self.ph:g}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DockingTarget:
    """A receptor and its search box, from DOCKSTRING's files.

    Attributes:
        name: DOCKSTRING's target name (``"DRD2"``).
        receptor: the receptor's PDBQT file.
        center: the search box's centre (x, y, z) in Å.
        box_size: the search box's edge lengths (x, y, z) in Å.
    """

    name: str
    receptor: Path
    center: tuple[float, float, float]
    box_size: tuple[float, float, float]


def _targets_dir() -> Path:
    utils = require("dockstring.utils", extra=DOCKING, package="dockstring")
    return Path(utils.get_targets_dir())


def list_targets() -> list[str]:
    """DOCKSTRING's target names (58 proteins), sorted."""
    dockstring = require("dockstring", extra=DOCKING)
    return sorted(dockstring.list_all_target_names())


def load_target(name: str) -> DockingTarget:
    """The receptor file and search box of DOCKSTRING's target ``name`` (case-insensitive).

    Raises:
        InvalidInputError: DOCKSTRING has no such target (the message lists its targets).
        ConfigurationError: the ``docking`` extra is not installed.
    """
    directory = _targets_dir()
    names = {known.upper(): known for known in list_targets()}
    known = names.get(name.strip().upper())
    if known is None:
        raise InvalidInputError(
            f"DOCKSTRING has no target {name!r}; choose one of: {', '.join(sorted(names.values()))}"
        )
    utils = require("dockstring.utils", extra=DOCKING, package="dockstring")
    box = utils.parse_search_box_conf(directory / f"{known}_conf.txt")
    return DockingTarget(
        name=known,
        receptor=directory / f"{known}_target.pdbqt",
        center=(float(box["center_x"]), float(box["center_y"]), float(box["center_z"])),
        box_size=(float(box["size_x"]), float(box["size_y"]), float(box["size_z"])),
    )


@dataclass(frozen=True)
class DockingResult:
    """The outcome of docking one molecule.

    Attributes:
        smiles: the molecule as given.
        canonical_smiles: RDKit's canonical SMILES (``None`` when RDKit cannot read it).
        status: ``"docked"``; ``"invalid"`` (RDKit cannot read it); ``"preparation_failed"``
            (protonation, embedding or meeko failed); ``"docking_failed"`` (Vina raised);
            ``"timeout"``; ``"crashed"`` (the worker process died).
        score: Vina's best-pose score in kcal/mol (``None`` unless docked).
        message: why it was not docked (``""`` when it was).
        ligand_smiles: the protonated form that was docked.
        seconds: wall time of the preparation and docking, from sending the molecule to the
            worker to its reply (a worker's start and grid maps not included; 0 when cached).
        cached: the result came from the cache.
    """

    smiles: str
    canonical_smiles: str | None
    status: Status
    score: float | None = None
    message: str = ""
    ligand_smiles: str | None = None
    seconds: float = 0.0
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "docked"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DockingResult:
        fields = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**fields)


# --------------------------------------------------------------------------- the worker


class DockingWorker:
    """One worker process that docks molecules into one target with fixed settings.

    It starts on the first :meth:`dock`, computes the receptor's grid maps once, and keeps them
    for every molecule after. Calls are serialised (Vina already uses ``settings.cpu`` cores).
    A time-out kills the process; a crash is noticed; either way the next call starts a new one.
    """

    command: tuple[str, ...] = (sys.executable, "-m", "wordgrad.science._dock_worker")
    """The worker's command line (the settings follow as one JSON argument)."""

    def __init__(self, target: DockingTarget, settings: DockingSettings) -> None:
        self.target = target
        self.settings = settings
        self._process: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self._lock = threading.Lock()
        self.started = 0
        """How many worker processes this object has started (a restart adds one)."""
        self.requests = 0
        """How many molecules it has sent to a worker process."""

    def _start(self) -> str | None:
        """Start the process and wait until its maps are ready; an error message, or None."""
        # The worker's stderr (Vina's warnings, a crash's last words), open while it lives.
        self._stderr = tempfile.TemporaryFile(  # noqa: SIM115
            "w+", encoding="utf-8", errors="replace"
        )
        config = {
            "receptor": str(self.target.receptor),
            "center": list(self.target.center),
            "box_size": list(self.target.box_size),
            **self.settings.as_dict(),
        }
        self._process = subprocess.Popen(
            [*self.command, json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
        )
        self.started += 1
        reply = self._read(self.settings.startup_timeout_s)
        if isinstance(reply, str):
            return f"the docking worker did not start: {reply}"
        if reply.get("status") != "ready":
            self._stop()
            return f"the docking worker did not start: {reply.get('message', reply)}"
        return None

    def _read(self, timeout: float) -> dict[str, Any] | str:
        """The worker's next reply, or a message saying why there is none (it is then stopped)."""
        process = self._process
        assert process is not None and process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        if not ready:
            self._stop()
            return f"no reply within {timeout:g} s, so the worker was stopped"
        line = process.stdout.readline()
        if not line:
            code = process.wait()
            tail = self._stderr_tail()
            self._stop()
            return f"the worker process ended with exit code {code}" + (
                f" ({tail})" if tail else ""
            )
        try:
            reply: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError:
            self._stop()
            return f"the worker sent an unreadable reply ({line.strip()[:200]!r})"
        return reply

    def _stderr_tail(self, lines: int = 3) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().strip().splitlines()
        self._stderr.seek(0, os.SEEK_END)
        return " | ".join(text[-lines:])

    def _stop(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()
        if self._stderr is not None:
            self._stderr.close()
        self._process, self._stderr = None, None

    def dock(self, smiles: str, canonical: str) -> DockingResult:
        """Dock ``smiles`` (already read by RDKit as ``canonical``); never raises for the
        molecule's sake (failures are in the result's ``status`` and ``message``)."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._stop()
                problem = self._start()
                if problem is not None:
                    return DockingResult(smiles, canonical, "crashed", message=problem)
            started = time.perf_counter()
            assert self._process is not None and self._process.stdin is not None
            self.requests += 1
            try:
                self._process.stdin.write(json.dumps({"smiles": smiles}) + "\n")
                self._process.stdin.flush()
            except OSError as error:
                self._stop()
                return DockingResult(
                    smiles, canonical, "crashed", message=f"the worker process is gone: {error}"
                )
            reply = self._read(self.settings.timeout_s)
            seconds = time.perf_counter() - started
            if isinstance(reply, str):
                timed_out = reply.startswith("no reply")
                return DockingResult(
                    smiles,
                    canonical,
                    "timeout" if timed_out else "crashed",
                    message=(
                        f"docking took longer than the limit of {self.settings.timeout_s:g} s"
                        if timed_out
                        else f"docking crashed: {reply}"
                    ),
                    seconds=seconds,
                )
            return DockingResult(
                smiles,
                canonical,
                reply["status"],
                score=reply.get("score"),
                message=reply.get("message", ""),
                ligand_smiles=reply.get("ligand_smiles"),
                seconds=seconds,
            )

    def close(self) -> None:
        with self._lock:
            self._stop()


_WORKERS: dict[tuple[str, DockingSettings], DockingWorker] = {}
_WORKERS_LOCK = threading.Lock()


def docking_worker(target: str, settings: DockingSettings) -> DockingWorker:
    """The process-wide worker for ``target`` and ``settings`` (made on first use)."""
    resolved = load_target(target)
    with _WORKERS_LOCK:
        key = (resolved.name, settings)
        worker = _WORKERS.get(key)
        if worker is None:
            worker = _WORKERS[key] = DockingWorker(resolved, settings)
        return worker


@atexit.register
def close_workers() -> None:
    """Stop every docking worker of this process (also run at exit)."""
    with _WORKERS_LOCK:
        workers = list(_WORKERS.values())
        _WORKERS.clear()
    for worker in workers:
        worker.close()


# --------------------------------------------------------------------------- the cache


@dataclass
class DockingCache:
    """Docking results by target, settings and canonical SMILES.

    An equivalent SMILES written differently has the same canonical SMILES, so it is never
    docked twice. With ``path``, results are also appended to a JSON-lines file and read back
    when the cache is made, so a resumed run does not dock its molecules again.
    """

    path: Path | None = None
    _entries: dict[str, DockingResult] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.path is not None and self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record = json.loads(line)
                    self._entries[record["key"]] = DockingResult.from_dict(record["result"])

    @staticmethod
    def key(canonical: str, target: str, settings: DockingSettings) -> str:
        return f"{target}|{settings.cache_key()}|{canonical}"

    def get(self, key: str) -> DockingResult | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, result: DockingResult) -> None:
        with self._lock:
            self._entries[key] = result
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a", encoding="utf-8") as file:
                    file.write(json.dumps({"key": key, "result": result.as_dict()}) + "\n")

    def __len__(self) -> int:
        return len(self._entries)


_CACHES: dict[str | None, DockingCache] = {}
_CACHES_LOCK = threading.Lock()


def docking_cache(path: str | os.PathLike[str] | None = None) -> DockingCache:
    """The process-wide cache for ``path`` (``None``: in memory only)."""
    key = None if path is None else str(Path(path).resolve())
    with _CACHES_LOCK:
        cache = _CACHES.get(key)
        if cache is None:
            cache = _CACHES[key] = DockingCache(None if key is None else Path(key))
        return cache


def dock(
    smiles: str,
    target: str,
    settings: DockingSettings | None = None,
    cache: DockingCache | None = None,
) -> DockingResult:
    """Vina's docking score of ``smiles`` against DOCKSTRING's ``target``.

    Never raises for the molecule's sake: an invalid SMILES, a failed preparation or docking, a
    time-out or a crashed worker is a result with that ``status`` and a ``message``.

    Args:
        smiles: the ligand.
        target: a DOCKSTRING target name (:func:`list_targets`).
        settings: exhaustiveness, seed, CPU count, pH, time limits.
        cache: where results are looked up and kept (default: this process's in-memory cache).

    Raises:
        InvalidInputError: an unknown target.
        ConfigurationError: the ``docking`` extra is not installed.
    """
    settings = settings or DockingSettings()
    cache = cache if cache is not None else docking_cache()
    resolved = load_target(target)
    try:
        canonical = canonical_smiles(smiles)
    except InvalidMoleculeError as error:
        return DockingResult(smiles, None, "invalid", message=error.reason)
    key = DockingCache.key(canonical, resolved.name, settings)
    hit = cache.get(key)
    if hit is not None:
        return DockingResult(**{**hit.as_dict(), "smiles": smiles, "seconds": 0.0, "cached": True})
    result = docking_worker(resolved.name, settings).dock(smiles, canonical)
    if result.status in DETERMINISTIC:
        cache.put(key, result)
    return result


def check_docking_installed() -> None:
    """Raise :class:`~wordgrad.errors.ConfigurationError` naming the extra unless every docking
    library imports (RDKit, Vina, meeko with scipy and gemmi, Dimorphite-DL, DOCKSTRING)."""
    for module, package in (
        ("rdkit.Chem", "rdkit"),
        ("vina", None),
        ("meeko", None),
        ("scipy", None),
        ("gemmi", None),
        ("dimorphite_dl", "dimorphite-dl"),
        ("dockstring", None),
    ):
        require(module, extra=DOCKING, package=package)


__all__ = [
    "DOCKSTRING_SEED",
    "DockingCache",
    "DockingResult",
    "DockingSettings",
    "DockingTarget",
    "DockingWorker",
    "close_workers",
    "dock",
    "docking_cache",
    "docking_worker",
    "list_targets",
    "load_target",
]
