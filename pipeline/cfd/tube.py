"""An empty tube: the laminar simpleFoam case that validates the CFD stage.

A straight pipe along ``z`` (inlet at ``z = 0``, outlet at ``z = length``), meshed
by blockMesh as the classic **O-grid**: a square core block and four outer blocks
whose outer edges are circular arcs, so the wall is resolved. A uniform inlet
velocity develops into Hagen–Poiseuille flow, whose fully developed pressure
gradient is ``32 μ U / D²``.

Pressure in incompressible OpenFOAM solvers is *kinematic* (p/ρ, m²/s²); the
results here are multiplied by the density to give pascals.

How the pressure drop is measured: after the solve, bedflow reads the last time
through VTK's OpenFOAM reader (as every other case: binary or ASCII files alike),
takes each cell's centre and volume from the mesh and forms volume-weighted mean
pressures of each axial layer of cells. The mesh is an extrusion along ``z``, so a layer's volume
weights are its cross-section areas times a constant thickness: the layer mean
equals the area-weighted cross-section mean. Then

* ``dp`` = (mean over the first layer) − (outlet value, 0) — the inlet patch
  average, since ``p`` is zeroGradient at the inlet (face value = cell value);
  it includes the entrance (developing-flow) losses;
* ``dp_developed`` = −(slope of a straight line fitted to the layer means over the
  downstream part of the tube) × ``length``: the fully developed drop, the one
  Hagen–Poiseuille predicts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import BedflowError
from pipeline.openfoam.dictionary import Raw, words, write_dictionary
from pipeline.folder import FOAM_FILE
from pipeline.openfoam.logs import MeshQuality, ResidualTracker, parse_checkmesh
from pipeline.openfoam.runner import run_foam
from pipeline.progress import ProgressCallback
from pipeline.results.extract import read_internal_mesh

CORE_FRACTION = 0.55
"""Half-diagonal of the O-grid's square core, as a fraction of the radius."""

DEVELOPED_FROM = 0.5
DEVELOPED_TO = 0.95
"""The part of the tube (fractions of its length) where the gradient is fitted."""

KINEMATIC_PRESSURE = "[0 2 -2 0 0 0 0]"
VELOCITY = "[0 1 -1 0 0 0 0]"
VISCOSITY = "[0 2 -1 0 0 0 0]"


class MeshCheckFailed(BedflowError):
    """checkMesh reported failed mesh checks."""


def _require_positive(**values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def _o_grid_vertices(radius: float, z0: float, z1: float) -> list[tuple[float, float, float]]:
    """16 vertices: inner square (0-3) and outer circle points (4-7) at z = z0, then at z = z1."""
    core = CORE_FRACTION * radius / math.sqrt(2.0)
    rim = radius / math.sqrt(2.0)
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    ring = [(sx * core, sy * core) for sx, sy in corners] + [(sx * rim, sy * rim) for sx, sy in corners]
    return [(x, y, z) for z in (z0, z1) for x, y in ring]


# Outer blocks, counter-clockwise: (outer a, outer b, inner b, inner a) at z = 0; +8 at z = L.
_OUTER_QUADS = [(4, 5, 1, 0), (5, 6, 2, 1), (6, 7, 3, 2), (7, 4, 0, 3)]
# Mid-points of the arcs 4-5, 5-6, 6-7, 7-4 as unit directions.
_ARC_DIRECTIONS = [(0.0, -1.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0)]


def _hex(bottom: tuple[int, ...], cells: tuple[int, int, int]) -> Raw:
    vertices = (*bottom, *(v + 8 for v in bottom))
    return words("hex", vertices, cells, "simpleGrading", (1, 1, 1))


def o_grid_blockmesh(diameter: float, length: float, cells_across: int, cells_along: int,
                     z0: float = 0.0) -> dict[str, Any]:
    """The blockMeshDict contents of an O-grid pipe along z from ``z0`` to ``z0 + length``."""
    radius = diameter / 2.0
    core_cells = max(2, cells_across // 2)
    radial_cells = max(1, (cells_across - core_cells) // 2)
    blocks = [_hex((0, 1, 2, 3), (core_cells, core_cells, cells_along))]
    blocks += [_hex(quad, (core_cells, radial_cells, cells_along)) for quad in _OUTER_QUADS]
    edges = [
        words("arc", quad[0] + offset, quad[1] + offset, (radius * dx, radius * dy, z))
        for offset, z in ((0, z0), (8, z0 + length))
        for quad, (dx, dy) in zip(_OUTER_QUADS, _ARC_DIRECTIONS)
    ]
    inlet = [(0, 3, 2, 1)] + [(a, d, c, b) for a, b, c, d in _OUTER_QUADS]  # normals towards -z
    outlet = [(8, 9, 10, 11)] + [tuple(v + 8 for v in quad) for quad in _OUTER_QUADS]
    wall = [(a, b, b + 8, a + 8) for a, b, _, _ in _OUTER_QUADS]
    return {
        "scale": 1,
        "vertices": _o_grid_vertices(radius, z0, z0 + length),
        "blocks": blocks,
        "edges": edges,
        "boundary": [
            "inlet", {"type": "patch", "faces": inlet},
            "outlet", {"type": "patch", "faces": outlet},
            "wall", {"type": "wall", "faces": wall},
        ],
        "mergePatchPairs": [],
    }


def control_dict(max_iterations: int, functions: dict[str, Any] | None = None) -> dict[str, Any]:
    """controlDict of a steady run of ``max_iterations``, with optional function objects."""
    return {
        "application": "simpleFoam",
        "startFrom": "startTime",
        "startTime": 0,
        "stopAt": "endTime",
        "endTime": max_iterations,
        "deltaT": 1,
        "writeControl": "timeStep",
        "writeInterval": max_iterations,
        "purgeWrite": 0,
        "writeFormat": "binary",  # meshes of millions of cells: ASCII writing and reading cost minutes
        "writePrecision": 12,
        "writeCompression": "off",
        "timeFormat": "general",
        "timePrecision": 8,
        "runTimeModifiable": False,
        **({"functions": functions} if functions else {}),
    }


FV_SCHEMES: dict[str, Any] = {
    "ddtSchemes": {"default": "steadyState"},
    "gradSchemes": {"default": words("Gauss", "linear")},
    "divSchemes": {
        "default": "none",
        "div(phi,U)": words("bounded", "Gauss", "linearUpwind", "grad(U)"),
        "div((nuEff*dev2(T(grad(U)))))": words("Gauss", "linear"),
    },
    "laplacianSchemes": {"default": words("Gauss", "linear", "corrected")},
    "interpolationSchemes": {"default": "linear"},
    "snGradSchemes": {"default": "corrected"},
}


def fv_solution(convergence: float) -> dict[str, Any]:
    tolerance = convergence * 1e-2
    return {
        "solvers": {
            "p": {"solver": "GAMG", "smoother": "GaussSeidel", "tolerance": tolerance, "relTol": 0.01},
            "U": {"solver": "smoothSolver", "smoother": "symGaussSeidel", "tolerance": tolerance, "relTol": 0.1},
        },
        "SIMPLE": {
            "nNonOrthogonalCorrectors": 0,
            "consistent": True,
            "residualControl": {"p": convergence, "U": convergence},
        },
        # SIMPLEC (consistent): pressure is not under-relaxed, velocity mildly.
        "relaxationFactors": {"equations": {"U": 0.9, '".*"': 0.9}},
    }


def _field(dimensions: str, internal: Raw, boundary: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"dimensions": Raw(dimensions), "internalField": internal, "boundaryField": boundary}


def initial_fields(velocity: float, walls: tuple[str, ...] = ("wall",)) -> dict[str, tuple[str, dict[str, Any]]]:
    """``0/U`` and ``0/p``: uniform inflow, fixed (kinematic, gauge) outlet pressure, no-slip ``walls``."""
    zero_gradient = {"type": "zeroGradient"}
    u = _field(
        VELOCITY,
        words("uniform", (0, 0, 0)),
        {
            "inlet": {"type": "fixedValue", "value": words("uniform", (0, 0, velocity))},
            "outlet": zero_gradient,
            **{wall: {"type": "noSlip"} for wall in walls},
        },
    )
    p = _field(
        KINEMATIC_PRESSURE,
        words("uniform", 0),
        {
            "inlet": zero_gradient,
            "outlet": {"type": "fixedValue", "value": words("uniform", 0)},
            **{wall: zero_gradient for wall in walls},
        },
    )
    return {"U": ("volVectorField", u), "p": ("volScalarField", p)}


ALLRUN_HEADER = """#!/bin/bash
# Reproduce this bedflow case by hand (written by bedflow; bedflow itself runs the
# same programs directly, not through this script).
cd "${0%/*}" || exit 1
source /usr/share/openfoam/etc/bashrc > /dev/null 2>&1
set -e
"""


def write_allrun(case_dir: Path, commands: Sequence[str]) -> Path:
    """An executable ``Allrun`` running ``commands`` (program and arguments), each logged to ``log.<program>``."""
    lines = [f"{command} > log.{command.split()[0]} 2>&1\n" for command in commands]
    path = Path(case_dir) / "Allrun"
    path.write_text(ALLRUN_HEADER + "".join(lines), encoding="utf-8")
    path.chmod(0o755)
    return path


def write_empty_tube_case(
    case_dir: Path,
    diameter: float,
    length: float,
    velocity: float,
    nu: float,
    cells_across: int = 16,
    cells_along: int = 60,
    max_iterations: int = 2000,
    convergence: float = 1e-6,
) -> Path:
    """Write a complete laminar simpleFoam case of a straight pipe along ``z``.

    SI units: ``diameter`` and ``length`` in m, ``velocity`` (uniform at the inlet)
    in m/s, ``nu`` the kinematic viscosity (dynamic viscosity / density) in m²/s.
    ``cells_across`` is the number of cells across a diameter (half in the O-grid's
    core, a quarter in each radial layer), ``cells_along`` the number along ``z``.
    The run stops after ``max_iterations`` or once all initial residuals fall below
    ``convergence``. Returns ``case_dir``.
    """
    _require_positive(diameter=diameter, length=length, velocity=velocity, nu=nu, convergence=convergence)
    if cells_across < 4 or cells_along < 1 or max_iterations < 1:
        raise ValueError("need cells_across >= 4, cells_along >= 1 and max_iterations >= 1")
    case_dir = Path(case_dir)
    system = case_dir / "system"
    blockmesh = o_grid_blockmesh(diameter, length, cells_across, cells_along)
    write_dictionary(system / "blockMeshDict", blockmesh, "blockMeshDict", location="system")
    write_physics(case_dir, nu, max_iterations, convergence)
    write_fields(case_dir, initial_fields(velocity))
    write_allrun(case_dir, ["blockMesh", "checkMesh", "simpleFoam"])
    (case_dir / FOAM_FILE).touch()  # ParaView opens the case by this file
    return case_dir


def write_fields(case_dir: Path, fields: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """Write ``0/<name>`` for each ``name: (class, contents)``."""
    for name, (class_name, contents) in fields.items():
        write_dictionary(case_dir / "0" / name, contents, name, class_name=class_name, location="0")


def write_physics(case_dir: Path, nu: float, max_iterations: int, convergence: float, regime: str = "laminar",
                  functions: dict[str, Any] | None = None) -> None:
    """controlDict, fvSchemes, fvSolution, transportProperties and turbulenceProperties.

    ``regime``: ``laminar`` or ``rans_komega_sst`` (see :mod:`pipeline.cfd.turbulence`); ``functions``: the
    controlDict's function objects, if any.
    """
    from .turbulence import TURBULENCE_PROPERTIES, rans_schemes, rans_solution

    if regime not in ("laminar", "rans_komega_sst"):
        raise ValueError(f"unknown flow regime {regime!r}")
    rans = regime == "rans_komega_sst"
    schemes = rans_schemes(FV_SCHEMES) if rans else FV_SCHEMES
    solution = rans_solution(fv_solution(convergence), convergence) if rans else fv_solution(convergence)
    turbulence = TURBULENCE_PROPERTIES if rans else {"simulationType": "laminar"}
    system, constant = case_dir / "system", case_dir / "constant"
    write_dictionary(system / "controlDict", control_dict(max_iterations, functions), "controlDict",
                     location="system")
    write_dictionary(system / "fvSchemes", schemes, "fvSchemes", location="system")
    write_dictionary(system / "fvSolution", solution, "fvSolution", location="system")
    transport = {"transportModel": "Newtonian", "nu": words(Raw(VISCOSITY), nu)}
    write_dictionary(constant / "transportProperties", transport, "transportProperties", location="constant")
    write_dictionary(constant / "turbulenceProperties", turbulence, "turbulenceProperties", location="constant")


def layer_mean_pressure(mesh: Any) -> tuple[np.ndarray, np.ndarray]:
    """Axial positions and volume-weighted mean kinematic ``p`` of each cell layer of ``mesh``
    (:func:`pipeline.results.extract.read_internal_mesh`).

    Layers are cells sharing a centre ``z`` (to a relative 1e-6 of the length).
    """
    pressure = np.asarray(mesh.cell_data["p"], dtype=float)
    volumes = np.abs(np.asarray(mesh.compute_cell_sizes(length=False, area=False)["Volume"], dtype=float))
    z = np.asarray(mesh.cell_centers().points, dtype=float)[:, 2]
    span = float(np.ptp(z)) or 1.0
    keys = np.round(z / (span * 1e-6)).astype(np.int64)
    layers, inverse = np.unique(keys, return_inverse=True)
    weight = np.bincount(inverse, weights=volumes)
    mean_p = np.bincount(inverse, weights=volumes * pressure) / weight
    mean_z = np.bincount(inverse, weights=volumes * z) / weight
    return mean_z, mean_p


def pressure_drops(mean_z: np.ndarray, mean_p: np.ndarray, length: float) -> tuple[float, float]:
    """Kinematic (inlet-to-outlet drop, developed drop over ``length``) from layer means.

    The first is the first layer's mean (= the zeroGradient inlet patch average)
    minus the outlet's fixed 0; the second is −slope × length of a least-squares
    line through the layers between ``DEVELOPED_FROM`` and ``DEVELOPED_TO`` of the length.
    """
    inlet_drop = float(mean_p[np.argmin(mean_z)])
    downstream = (mean_z >= DEVELOPED_FROM * length) & (mean_z <= DEVELOPED_TO * length)
    if downstream.sum() < 2:
        raise ValueError("too few cell layers in the downstream part of the tube to fit a gradient")
    slope = float(np.polyfit(mean_z[downstream], mean_p[downstream], 1)[0])
    return inlet_drop, -slope * length


def timed(seconds: dict[str, float], stage: str, action: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    try:
        return action()
    finally:
        seconds[stage] = time.perf_counter() - start


def check_mesh(case_dir: Path, timeout: float | None) -> MeshQuality:
    log = run_foam("checkMesh", case_dir, timeout=timeout)
    summary = parse_checkmesh(log.read_text(encoding="utf-8", errors="replace"))
    if summary.failed_checks or not summary.ok:
        raise MeshCheckFailed(
            f"checkMesh failed {summary.failed_checks} mesh check(s) in {case_dir} "
            f"(max non-orthogonality {summary.max_non_orthogonality}, max skewness {summary.max_skewness}); "
            f"see {log}"
        )
    return summary


def run_empty_tube(
    case_dir: Path,
    diameter: float,
    length: float,
    velocity: float,
    nu: float,
    density: float = 1000.0,
    cells_across: int = 16,
    cells_along: int = 60,
    max_iterations: int = 2000,
    convergence: float = 1e-6,
    progress: ProgressCallback | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Write and run the empty-tube case; return its results.

    Stages: write, blockMesh, checkMesh (raises :class:`MeshCheckFailed` on failed
    checks), simpleFoam (followed by a :class:`ResidualTracker`), read (the last time, through VTK).
    ``density`` (kg/m³) converts kinematic pressure to Pa. ``timeout`` applies to
    each program. Returns ``cells``, ``iterations``, ``converged`` (residualControl
    met before ``max_iterations``), ``residuals`` (last initial residual per field),
    ``dp`` (inlet minus outlet patch-average pressure, Pa, including entrance
    losses), ``dp_developed`` (fully developed gradient × length, Pa),
    ``dp_hagen_poiseuille`` (32 μ L U / D², Pa), ``mesh`` (checkMesh summary) and
    ``seconds`` per stage.
    """
    _require_positive(density=density)
    seconds: dict[str, float] = {}
    case_dir = Path(case_dir)
    parameters = (diameter, length, velocity, nu, cells_across, cells_along, max_iterations, convergence)
    timed(seconds, "write", lambda: write_empty_tube_case(case_dir, *parameters))
    timed(seconds, "blockMesh", lambda: run_foam("blockMesh", case_dir, timeout=timeout))
    mesh = timed(seconds, "checkMesh", lambda: check_mesh(case_dir, timeout))
    tracker = ResidualTracker(max_iterations, progress)
    timed(seconds, "simpleFoam", lambda: run_foam("simpleFoam", case_dir, on_line=tracker, timeout=timeout))
    mean_z, mean_p = timed(seconds, "read", lambda: layer_mean_pressure(read_internal_mesh(case_dir)))
    inlet_drop, developed_drop = pressure_drops(mean_z, mean_p, length)
    mu = nu * density
    return {
        "cells": mesh.cells,
        "iterations": tracker.iteration,
        "converged": tracker.converged,
        "residuals": dict(tracker.residuals),
        "dp": inlet_drop * density,
        "dp_developed": developed_drop * density,
        "dp_hagen_poiseuille": 32.0 * mu * length * velocity / diameter**2,
        "mesh": mesh,
        "seconds": seconds,
    }
