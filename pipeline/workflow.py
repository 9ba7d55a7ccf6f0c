"""`run(spec)`: spec → packing → geometry → mesh → solve → results, with per-stage progress.

Every stage writes into one run folder (``<data>/runs/<name>-<digest12>`` by
default): ``packing/`` (packing.npz and geometry) and ``case/`` (the OpenFOAM
case, its logs, and ``results.json``). A packing with the same packing digest
is reused; so is a mesh whose ``mesh.json`` records the same mesh digest.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .openfoam import run_foam
from .cfd.bed import SPEC_FILE, bed_domain, mesh_bed_case, solve_bed_case, write_bed_case
from .packing import Packing, pack_to_folder, with_engine
from .packing.model import packing_digest
from .progress import ProgressCallback, no_progress, scaled
from .results.extract import RunResult, bed_result, pressure_profile, read_internal_mesh
from .results.forces import evaluate as evaluate_functions
from .results.profiles import fluid_volume_fraction
from .results.radial import RING_WIDTH, radial_profile
from .results.richardson import Extrapolation, richardson
from .settings import Settings
from .spec import BedSpec
from .text import file_name

MESH_RECORD = "mesh.json"


#: Changes whenever the mesh of the same spec changes (the surface a packing is meshed from, the meshing
#: settings), so that stored meshes of the old kind are not reused. 2: spheres are icospheres holding the
#: sphere's volume (were inscribed); 3: snapped in one pass, binary; 4: layers of at least a quarter cell.
MESH_VERSION = 4


def mesh_digest(spec: BedSpec) -> str:
    """Identifies a mesh: the packing, the contact treatment, the resolution, the surface refinement and the
    :data:`MESH_VERSION`."""
    cfd = spec.cfd
    treatment = spec.contact_treatment()
    key: list[Any] = [packing_digest(spec), treatment.kind, treatment.size, cfd.mesh_cells_per_diameter,
                      cfd.surface_refinement, cfd.gap_refinement, cfd.boundary_layers, MESH_VERSION]
    text = json.dumps(key)
    return hashlib.sha256(text.encode()).hexdigest()


def default_run_dir(spec: BedSpec, settings: Settings | None = None) -> Path:
    settings = settings or Settings.from_env()
    return settings.data_dir / "runs" / file_name(spec.name, f"-{spec.digest()[:12]}")


def mesh(spec: BedSpec, folder: str | Path | None = None, engine: str | None = None,
         progress: ProgressCallback | None = None) -> dict[str, Any]:
    """Pack (or reuse) and mesh ``spec`` in ``folder``; return the mesh quality (reused when unchanged)."""
    spec = with_engine(spec, engine)
    report = progress or no_progress
    root = Path(folder) if folder else default_run_dir(spec)
    packed = pack_to_folder(spec, root / "packing", progress=scaled(report, 0.0, 0.2))
    packing = Packing.load(packed["packing_file"])
    case = root / "case"
    record = case / MESH_RECORD
    wanted = mesh_digest(spec)
    if record.is_file() and json.loads(record.read_text()).get("digest") == wanted:
        write_bed_case(case, packing, spec, mesh=False)
        quality = json.loads(record.read_text())["quality"]
        report(1.0, f"reused mesh of {quality['cells']} cells")
        return quality
    write_bed_case(case, packing, spec)
    quality = mesh_bed_case(case, progress=scaled(report, 0.2, 1.0), processes=spec.cfd.processes)
    record.write_text(json.dumps({"digest": wanted, "quality": quality}, indent=2))
    return quality


SOLVE_RECORD = "solve.json"


def solve_case(case_dir: str | Path, processes: int | None = None,
               progress: ProgressCallback | None = None) -> dict[str, Any]:
    """Run simpleFoam on a meshed case written by :func:`mesh`; return (and save as ``solve.json``) the
    iterations, convergence, last residuals and seconds. ``processes`` overrides the spec's MPI ranks."""
    case = Path(case_dir)
    spec = BedSpec.from_json((case / SPEC_FILE).read_text())
    if processes is not None and processes != spec.cfd.processes:
        spec = spec.updated({"cfd.processes": processes})
        write_bed_case(case, Packing.load(case.parent / "packing" / "packing.npz"), spec, mesh=False)
    (case / SOLVE_RECORD).unlink(missing_ok=True)
    started = time.perf_counter()
    tracker = solve_bed_case(case, spec, progress=progress)
    record = {"iterations": tracker.iteration, "converged": tracker.converged, "residuals": dict(tracker.residuals),
              "seconds": time.perf_counter() - started, "processes": spec.cfd.processes}
    (case / SOLVE_RECORD).write_text(json.dumps(record, indent=2))
    return record


def postprocess(case_dir: str | Path, progress: ProgressCallback | None = None) -> RunResult:
    """Extract the :class:`RunResult` of a case solved by :func:`solve_case` (saved as ``results.json``),
    and write its VTK fields when the spec asks for them."""
    case = Path(case_dir)
    report = progress or no_progress
    spec = BedSpec.from_json((case / SPEC_FILE).read_text())
    packing = Packing.load(case.parent / "packing" / "packing.npz")
    quality = json.loads((case / MESH_RECORD).read_text())["quality"]
    solved = json.loads((case / SOLVE_RECORD).read_text())
    seconds: dict[str, float] = {"solve": solved["seconds"]}
    started = time.perf_counter()
    report(0.0, "pressure profile")
    domain = bed_domain(packing, spec.cfd.mesh_cells_per_diameter)
    forces = evaluate_functions(case, domain.length, packing.diameter)
    internal = read_internal_mesh(case)
    profile = pressure_profile(internal, packing, domain.cell, domain.z0, domain.z1)
    window = packing.core_range()
    porosity = fluid_volume_fraction(internal, *window, math.pi * packing.container.radius**2)
    radial = radial_profile(internal, *window, packing.container.radius, RING_WIDTH * packing.diameter)
    result = bed_result(case, packing, spec, profile, solved["iterations"], solved["converged"], solved["residuals"],
                        quality, seconds, porosity, forces, radial)
    seconds["results"] = time.perf_counter() - started
    if spec.cfd.write_fields:
        report(0.5, "foamToVTK")
        started = time.perf_counter()
        run_foam("foamToVTK", case, ["-latestTime"])
        result.vtk_dir = str(case / "VTK")
        seconds["vtk"] = time.perf_counter() - started
    result.save()
    report(1.0, f"dp/dz = {result.dp_dz:.4g} Pa/m")
    return result


def solve(case_dir: str | Path, processes: int | None = None, progress: ProgressCallback | None = None) -> RunResult:
    """Solve a meshed case written by :func:`mesh` and extract its :class:`RunResult` (saved in the case).

    ``processes`` overrides the spec's MPI ranks for this solve.
    """
    report = progress or no_progress
    solve_case(case_dir, processes, progress=scaled(report, 0.0, 0.95))
    return postprocess(case_dir, progress=scaled(report, 0.95, 1.0))


def run(spec: BedSpec, engine: str | None = None, processes: int | None = None, folder: str | Path | None = None,
        progress: ProgressCallback | None = None) -> RunResult:
    """Pack, mesh and solve ``spec``; return (and save as ``case/results.json``) its :class:`RunResult`.

    ``engine`` and ``processes`` override the spec's packing method and MPI ranks.
    Bad specs fail here, before any program starts. Packings and meshes are reused.
    """
    spec = with_engine(spec, engine)
    if processes is not None:
        spec = spec.updated({"cfd.processes": processes})
    report = progress or no_progress
    root = Path(folder) if folder else default_run_dir(spec)
    started = time.perf_counter()
    mesh(spec, root, progress=scaled(report, 0.0, 0.5))
    meshing = time.perf_counter() - started
    result = solve(root / "case", progress=scaled(report, 0.5, 1.0))
    result.seconds = {"pack_and_mesh": meshing, **result.seconds}
    result.save()
    report(1.0, f"dp/dz = {result.dp_dz:.4g} Pa/m ({result.as_meshed['ratios']['ergun']:.2f} x Ergun)")
    return result


@dataclass
class MeshStudy:
    """dp/dz on three meshes and its Richardson extrapolation."""

    resolutions: list[int]
    results: list[RunResult]
    extrapolation: Extrapolation

    def summary(self) -> dict[str, Any]:
        best = self.results[-1]
        ratios = {name: self.extrapolation.value / value for name, value in best.as_meshed["correlations"].items()}
        return {
            "resolutions": self.resolutions,
            "cells": [r.cells for r in self.results],
            "dp_dz": [r.dp_dz for r in self.results],
            "observed_order": self.extrapolation.order,
            "monotonic": self.extrapolation.monotonic,
            "dp_dz_extrapolated": self.extrapolation.value,
            "gci_fine": self.extrapolation.gci_fine,
            "ratios_extrapolated": ratios,
            "seconds": [r.seconds for r in self.results],
        }


def study_resolutions(cells_per_diameter: int) -> list[int]:
    """Three resolutions from the spec's: n, 4n/3 and 2n cells per diameter (ratios 1.33 and 1.5)."""
    return [cells_per_diameter, round(cells_per_diameter * 4 / 3), 2 * cells_per_diameter]


def mesh_study(spec: BedSpec, resolutions: list[int] | None = None, folder: str | Path | None = None,
               engine: str | None = None, progress: ProgressCallback | None = None) -> MeshStudy:
    """Run ``spec`` at three mesh resolutions and extrapolate dp/dz (Richardson); saved as ``study.json``."""
    spec = with_engine(spec, engine)
    chosen = sorted(resolutions or study_resolutions(spec.cfd.mesh_cells_per_diameter))
    if len(set(chosen)) != 3:
        raise ValueError(f"a mesh study needs three different resolutions, got {chosen}")
    report = progress or no_progress
    root = Path(folder) if folder else default_run_dir(spec)
    results = []
    for k, cells in enumerate(chosen):
        refined = spec.updated({"cfd.mesh_cells_per_diameter": cells})
        results.append(run(refined, folder=root / f"d{cells}", progress=scaled(report, k / 3, (k + 1) / 3)))
    d = spec.particles.diameter
    extrapolation = richardson(tuple(d / n for n in chosen), tuple(r.dp_dz for r in results))  # type: ignore[arg-type]
    study = MeshStudy(chosen, results, extrapolation)
    root.mkdir(parents=True, exist_ok=True)
    (root / "study.json").write_text(json.dumps(study.summary(), indent=2))
    return study
