"""What OpenFOAM computes on a solved bed after the solve: cell volumes and the drag on each wall.

One ``simpleFoam -postProcess`` pass over the latest time runs three function objects:

- ``writeCellVolumes``: OpenFOAM's own cell volumes (the mesh porosity, :mod:`pipeline.results.profiles`);
- ``forces`` on the tube ``wall``, binned along the axis: the tube wall's axial force is pure shear (its normals
  are radial), so its bins hold the wall's drag in any window;
- ``forces`` on the ``particles``: their total force (their bins are not a drag: on a surface cut by a bin plane
  the pressure's reference level does not cancel).

With the window's momentum balance (all solids there carry Δp/L × tube area × window length) the wall's bins give
the wall's share of the bed's drag, the quantity the wall-corrected correlations model: Reichelt's factor
``A_w = 1 + S_w / S_p`` of Eisfeld & Schnitzlein (2001) assumes the wall takes the share ``S_w / (S_w + S_p)`` of
the wetted surface (:func:`pipeline.correlations.reichelt_wall_share`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..openfoam import run_foam, write_dictionary
from .profiles import ResultsError

#: The function-object dictionary and the log of the post-processing pass.
FUNCTIONS_DICT, FUNCTIONS_LOG = "resultsFunctions", "log.resultsFunctions"
WALL_FORCES, PARTICLE_FORCES = "wallForces", "particleForces"
#: Bins per particle diameter of the wall's axial force profile.
BINS_PER_DIAMETER = 8


@dataclass(frozen=True)
class ForceProfile:
    """The axial force (kinematic, N/(kg/m³)) on a patch in bins of width ``width`` centred at ``z``."""

    z: np.ndarray
    width: float
    force: np.ndarray

    def between(self, z0: float, z1: float) -> float:
        """The force between two heights (bins cut by them count with the share of their width inside)."""
        low, high = self.z - 0.5 * self.width, self.z + 0.5 * self.width
        inside = np.clip((np.minimum(high, z1) - np.maximum(low, z0)) / self.width, 0.0, 1.0)
        return float((self.force * inside).sum())


@dataclass(frozen=True)
class BedForces:
    """The drag on a solved bed's walls: the tube wall's axial profile and the particles' total (kinematic)."""

    wall: ForceProfile
    particles_total: float

    @property
    def wall_total(self) -> float:
        return float(self.wall.force.sum())

    def wall_share(self, dp_dz_kinematic: float, area: float, z0: float, z1: float) -> float:
        """The wall's share of the drag between two heights: its force over Δp/L × ``area`` × length."""
        total = dp_dz_kinematic * area * (z1 - z0)
        return self.wall.between(z0, z1) / total if total > 0 else math.nan


def functions_dictionary(bins: int) -> dict[str, object]:
    """The function objects of the post-processing pass, ``bins`` along the wall."""
    def forces(patch: str, binned: bool) -> dict[str, object]:
        entry: dict[str, object] = {"type": "forces", "libs": ["libforces.so"], "patches": [patch],
                                    "rho": "rhoInf", "rhoInf": 1.0, "CofR": (0.0, 0.0, 0.0),
                                    "writeControl": "timeStep", "writeInterval": 1}
        if binned:
            entry["binData"] = {"nBin": bins, "direction": (0.0, 0.0, 1.0), "cumulative": False}
        return entry

    return {"functions": {"cellVolumes": {"type": "writeCellVolumes", "libs": ["libfieldFunctionObjects.so"]},
                          WALL_FORCES: forces("wall", True), PARTICLE_FORCES: forces("particles", False)}}


def evaluate(case_dir: Path, length: float, particle_diameter: float, timeout: float | None = None) -> BedForces:
    """Run the post-processing pass on the latest time of a solved bed (``length``: the domain's) and read it."""
    case_dir = Path(case_dir)
    bins = max(1, math.ceil(BINS_PER_DIAMETER * length / particle_diameter))
    write_dictionary(case_dir / "system" / FUNCTIONS_DICT, functions_dictionary(bins), FUNCTIONS_DICT,
                     location="system")
    run_foam("simpleFoam", case_dir, ["-postProcess", "-dict", f"system/{FUNCTIONS_DICT}", "-latestTime"],
             log_name=FUNCTIONS_LOG, timeout=timeout)
    return read_forces(case_dir)


def read_forces(case_dir: Path) -> BedForces:
    """The forces the post-processing pass wrote (its latest output)."""
    return BedForces(_profile(_latest(case_dir, WALL_FORCES, "forceBin.dat")),
                     _total_z(_latest(case_dir, PARTICLE_FORCES, "force.dat")))


def _latest(case_dir: Path, name: str, file: str) -> str:
    found = sorted((Path(case_dir) / "postProcessing" / name).glob(f"*/{file}"),
                   key=lambda p: float(p.parent.name) if _is_number(p.parent.name) else -1.0)
    if not found:
        raise ResultsError(f"{case_dir}: no postProcessing/{name}/*/{file} (see {FUNCTIONS_LOG})")
    return found[-1].read_text()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_VECTOR = re.compile(r"\(([^()]*)\)")


def _last_row(text: str) -> str:
    rows = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not rows:
        raise ResultsError("a forces file without data")
    return rows[-1]


def _header(text: str, key: str) -> str:
    for line in text.splitlines():
        if line.startswith("#") and line[1:].strip().startswith(key):
            return line.split(":", 1)[1]
    raise ResultsError(f"a forceBin file without '{key}'")


def _profile(text: str) -> ForceProfile:
    """The bins' centres, width and total axial force (the first of each bin's total/pressure/viscous)."""
    z = np.array([float(v) for v in _header(text, "z co-ords").split()])
    width = float(_header(text, "delta"))
    vectors = _VECTOR.findall(_last_row(text))
    force = np.array([float(vectors[3 * k].split()[2]) for k in range(len(z))])
    return ForceProfile(z, width, force)


def _total_z(text: str) -> float:
    return float(_VECTOR.findall(_last_row(text))[0].split()[2])
