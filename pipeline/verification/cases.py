"""The verification cases: meshes and solves with known answers, built from the packed bed's own parts.

Each case writes an OpenFOAM case with the bed's physics (:func:`pipeline.cfd.tube.write_physics`), carves
spheres out of a background mesh with the bed's snappyHexMesh settings (:mod:`pipeline.cfd.snappy`) and
the bed's sphere surface (:func:`pipeline.geometry.sphere_surface`), solves with simpleFoam and extracts
its quantity:

* ``sc-array``: a column of ``PERIODS`` unit cells of a simple cubic array (side ``L``, one sphere each)
  between an empty entrance and exit of one cell, symmetry planes on the four sides (the array's mirror
  planes), uniform inflow. The pressure is averaged on the planes between spheres (the bed's plane
  averages, :func:`pipeline.results.profiles.plane_profile`) and fitted (:func:`fit_gradient`); planes one
  period apart see the same developed flow, so the fit is exact for it. ``K = dp/dz d² / (18 φ μ U)``.
* ``sphere-in-tube``: one sphere on the axis of the bed's O-grid tube, in the sphere's frame (uniform
  inflow ``U``, the wall moving at ``U``); the drag from the ``forces`` function object.
  ``K = F / (3 π μ d U)``.
* ``hagen-poiseuille``: the empty tube of :func:`pipeline.cfd.tube.run_empty_tube`.

All at creeping flow (``Re = U d / ν = REYNOLDS``).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trimesh

from ..cfd.bed import clear_solution, mesh_bed_case, run_simple
from ..cfd.snappy import Refinement, snappy_dictionary
from ..cfd.tube import initial_fields, o_grid_blockmesh, run_empty_tube, write_fields, write_physics
from ..errors import BedflowError
from ..geometry import sphere_surface
from ..openfoam import write_dictionary
from ..openfoam.dictionary import words
from ..openfoam.logs import ResidualTracker
from ..progress import ProgressCallback, no_progress, scaled
from ..results.extract import read_internal_mesh
from ..results.profiles import fit_gradient, plane_profile
from .exact import haberman_sayre_k, hagen_poiseuille_dp_dz, sc_array_k

#: Sphere diameter (m), kinematic viscosity (m²/s) and the Reynolds number of every case.
DIAMETER = 1e-3
NU = 1e-6
REYNOLDS = 1e-3
VELOCITY = REYNOLDS * NU / DIAMETER
#: Unit cells with a sphere in the sc-array column; the empty entrance and exit are one cell each.
PERIODS = 5
#: Empty tube upstream and downstream of the sphere, in tube diameters.
TUBE_ENDS = 2.0
#: Iteration limit and residual target of the verification solves (tighter than a bed's default).
MAX_ITERATIONS = 4000
CONVERGENCE = 1e-6


class VerificationError(BedflowError):
    """A verification case that could not be built, meshed, solved or read."""


@dataclass(frozen=True)
class CaseOutcome:
    """What one solved verification case gives: its quantity and what it cost."""

    computed: float
    cells: int
    iterations: int
    converged: bool
    seconds: float
    solid_fraction_mesh: float | None = None  # the solid the mesh leaves out, where the case knows its box


def _solve(case_dir: Path, processes: int, progress: ProgressCallback, timeout: float | None) -> ResidualTracker:
    clear_solution(case_dir)  # a kept folder may hold an earlier solve's times
    tracker = ResidualTracker(MAX_ITERATIONS, progress)
    run_simple(case_dir, tracker, processes, timeout)
    return tracker


def _mesh(case_dir: Path, blockmesh: dict[str, Any], surface: trimesh.Trimesh, location: tuple[float, float, float],
          cell: float, refinement: Refinement, timeout: float | None) -> dict[str, Any]:
    system = case_dir / "system"
    write_dictionary(system / "blockMeshDict", blockmesh, "blockMeshDict", location="system")
    write_dictionary(system / "snappyHexMeshDict", snappy_dictionary(location, cell, refinement),
                     "snappyHexMeshDict", location="system")
    (case_dir / "constant" / "triSurface").mkdir(parents=True, exist_ok=True)
    surface.export(case_dir / "constant" / "triSurface" / "particles.stl", file_type="stl")
    return mesh_bed_case(case_dir, timeout=timeout)


def _box_blockmesh(side: float, z0: float, z1: float, across: int, along: int) -> dict[str, Any]:
    """A square column ``[0, side]² × [z0, z1]``: inlet, outlet and four symmetry planes."""
    vertices = [(x, y, z) for z in (z0, z1) for x, y in ((0, 0), (side, 0), (side, side), (0, side))]
    return {
        "scale": 1,
        "vertices": vertices,
        "blocks": [_words_hex((0, 1, 2, 3, 4, 5, 6, 7), (across, across, along))],
        "edges": [],
        "boundary": [
            "inlet", {"type": "patch", "faces": [(0, 3, 2, 1)]},
            "outlet", {"type": "patch", "faces": [(4, 5, 6, 7)]},
            "side_x0", {"type": "symmetryPlane", "faces": [(0, 4, 7, 3)]},
            "side_x1", {"type": "symmetryPlane", "faces": [(1, 2, 6, 5)]},
            "side_y0", {"type": "symmetryPlane", "faces": [(0, 1, 5, 4)]},
            "side_y1", {"type": "symmetryPlane", "faces": [(3, 7, 6, 2)]},
        ],
        "mergePatchPairs": [],
    }


def _words_hex(vertices: tuple[int, ...], cells: tuple[int, int, int]) -> Any:
    return words("hex", vertices, cells, "simpleGrading", (1, 1, 1))


SIDES = ("side_x0", "side_x1", "side_y0", "side_y1")


def sc_array(case_dir: Path, solid_fraction: float, resolution: int, refinement: Refinement = Refinement(),
             processes: int = 1, progress: ProgressCallback | None = None,
             timeout: float | None = None) -> CaseOutcome:
    """Solve the sc-array column at ``solid_fraction`` with background cells of d / ``resolution``; K."""
    sc_array_k(solid_fraction)  # no reference, no case
    report = progress or no_progress
    started = time.perf_counter()
    d, side = DIAMETER, DIAMETER * (math.pi / (6.0 * solid_fraction)) ** (1.0 / 3.0)
    across = max(4, round(side * resolution / d))
    cell = side / across
    z0, z1 = -side, (PERIODS + 1) * side
    along = across * (PERIODS + 2)
    spheres = [sphere_surface(d / 2, centre=(side / 2, side / 2, (k + 0.5) * side)) for k in range(PERIODS)]
    surface = trimesh.util.concatenate(spheres)
    location = (0.31 * cell, 0.27 * cell, z0 + (round(0.5 * side / cell) + 0.43) * cell)
    case_dir = Path(case_dir)
    write_physics(case_dir, NU, MAX_ITERATIONS, CONVERGENCE)
    fields = initial_fields(VELOCITY, ("particles",))
    for _, contents in fields.values():
        contents["boundaryField"].update({side_name: {"type": "symmetryPlane"} for side_name in SIDES})
    write_fields(case_dir, fields)
    report(0.0, "meshing")
    quality = _mesh(case_dir, _box_blockmesh(side, z0, z1, across, along), surface, location, cell, refinement,
                    timeout)
    report(0.3, "solving")
    tracker = _solve(case_dir, processes, scaled(report, 0.3, 0.95), timeout)
    mesh = read_internal_mesh(case_dir)
    planes = [k * side for k in range(1, PERIODS)]
    profile = plane_profile(mesh, "p", planes, side * side)
    fit = fit_gradient(profile, (planes[0] - 0.1 * cell, planes[-1] + 0.1 * cell))
    gradient = -fit.slope  # kinematic
    k = gradient * d * d / (18.0 * solid_fraction * NU * VELOCITY)
    fluid = float(mesh.compute_cell_sizes(length=False, area=False, volume=True).cell_data["Volume"].sum())
    solid_mesh = (side * side * (z1 - z0) - fluid) / (PERIODS * side**3)  # all the solid is in the sphere cells
    report(1.0, f"K = {k:.4g}")
    return CaseOutcome(k, quality.cells, tracker.iteration, tracker.converged, time.perf_counter() - started,
                       solid_mesh)


_FORCE_TOTAL = re.compile(r"^\s*Total\s*:\s*\(\s*(\S+)\s+(\S+)\s+(\S+)\s*\)")


def last_total_force(log: str) -> tuple[float, float, float]:
    """The last ``Sum of forces … Total : (x y z)`` the ``forces`` function object printed in a solver log."""
    found, in_forces = None, False
    for line in log.splitlines():
        if "Sum of " in line:
            in_forces = "Sum of forces" in line
        elif in_forces and (match := _FORCE_TOTAL.match(line)):
            found, in_forces = match, False
    if found is None:
        raise VerificationError("the solver log has no force from the forces function object")
    return float(found[1]), float(found[2]), float(found[3])


def sphere_in_tube(case_dir: Path, diameter_ratio: float, resolution: int, refinement: Refinement = Refinement(),
                   processes: int = 1, progress: ProgressCallback | None = None,
                   timeout: float | None = None) -> CaseOutcome:
    """Solve a sphere on the axis of a tube (``diameter_ratio`` = d / D) with cells of d / ``resolution``; K."""
    haberman_sayre_k(diameter_ratio)  # no reference, no case
    report = progress or no_progress
    started = time.perf_counter()
    d = DIAMETER
    tube = d / diameter_ratio
    cell = d / resolution
    z0, z1 = -TUBE_ENDS * tube, TUBE_ENDS * tube
    across = max(8, round(tube / cell))
    along = max(4, round((z1 - z0) / cell))
    location = (0.137 * cell + 0.3 * tube, 0.291 * cell, z0 + 0.5 * tube + 0.0731 * cell)
    case_dir = Path(case_dir)
    forces = {"forces": {"type": "forces", "libs": ["libforces.so"], "writeControl": "timeStep",
                         "writeInterval": 1, "patches": ["particles"], "rho": "rhoInf", "rhoInf": 1.0,
                         "CofR": (0.0, 0.0, 0.0), "log": True}}
    write_physics(case_dir, NU, MAX_ITERATIONS, CONVERGENCE, functions=forces)
    fields = initial_fields(VELOCITY, ("particles",))
    fields["U"][1]["boundaryField"]["wall"] = {"type": "fixedValue", "value": _uniform_axial(VELOCITY)}
    fields["p"][1]["boundaryField"]["wall"] = {"type": "zeroGradient"}
    write_fields(case_dir, fields)
    report(0.0, "meshing")
    quality = _mesh(case_dir, o_grid_blockmesh(tube, z1 - z0, across, along, z0), sphere_surface(d / 2), location,
                    cell, refinement, timeout)
    report(0.3, "solving")
    tracker = _solve(case_dir, processes, scaled(report, 0.3, 1.0), timeout)
    log = (case_dir / "log.simpleFoam").read_text(encoding="utf-8", errors="replace")
    drag = last_total_force(log)[2]  # kinematic (rhoInf 1): F / ρ
    k = drag / (3.0 * math.pi * NU * d * VELOCITY)
    report(1.0, f"K = {k:.4g}")
    return CaseOutcome(k, quality.cells, tracker.iteration, tracker.converged, time.perf_counter() - started)


def _uniform_axial(velocity: float) -> Any:
    return words("uniform", (0, 0, velocity))


def hagen_poiseuille(case_dir: Path, resolution: int, processes: int = 1, progress: ProgressCallback | None = None,
                     timeout: float | None = None) -> CaseOutcome:
    """The developed pressure gradient of the empty tube with ``2 × resolution`` cells across (a tube two
    particle diameters wide); returns dp/dz over Hagen–Poiseuille's as ``computed`` / expected 1."""
    started = time.perf_counter()
    diameter, length = 2 * DIAMETER, 20 * DIAMETER
    velocity = 50 * NU / diameter  # Re_D = 50: a developed length of ~3 D
    outcome = run_empty_tube(Path(case_dir), diameter, length, velocity, NU, density=1.0,
                             cells_across=2 * resolution, cells_along=10 * resolution, max_iterations=MAX_ITERATIONS,
                             convergence=CONVERGENCE, progress=progress, timeout=timeout)
    computed = outcome["dp_developed"] / length / hagen_poiseuille_dp_dz(NU, velocity, diameter)
    return CaseOutcome(computed, int(outcome["cells"]), int(outcome["iterations"]), bool(outcome["converged"]),
                       time.perf_counter() - started)
