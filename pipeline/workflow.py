"""`run(spec)`: spec → packing → geometry → mesh → solve → results, with per-stage progress.

Every stage works in one :class:`~pipeline.folder.RunFolder` (``<data>/runs/<name>-<digest12>`` by default) and
hands what it made to the next in memory: :func:`mesh_packing` takes the :class:`Packing`, :func:`solve_case` the
spec, :func:`postprocess` the spec, packing, mesh quality and solve record. The functions that start from a folder
(``bedflow mesh``/``solve``, a stage resumed on another worker) read these from the folder's records instead. A
packing with the same packing digest is reused; so is a mesh whose ``mesh.json`` records the same mesh digest.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .cfd.bed import bed_domain, mesh_bed_case, solve_bed_case, write_bed_case
from .folder import MESH_RECORD, SOLVE_RECORD, RunFolder
from .openfoam import MeshQuality, run_foam
from .packing import Packed, Packing, pack_to_folder, with_engine
from .packing.model import packing_digest
from .plain import known_fields
from .progress import ProgressCallback, no_progress, scaled
from .results.extract import RunResult, bed_result, pressure_profile, read_internal_mesh
from .results.forces import evaluate as evaluate_functions
from .results.profiles import fluid_volume_fraction
from .results.radial import RING_WIDTH, radial_profile
from .results.richardson import Extrapolation, richardson
from .spec import BedSpec

__all__ = ["MESH_RECORD", "SOLVE_RECORD", "STAGES", "STEPS", "TARGETS", "WEIGHTS", "Carried", "MeshStudy", "Recorder",
           "RunFolder", "SolveRecord", "Unrecorded", "mesh", "mesh_digest", "mesh_packing", "mesh_study", "postprocess",
           "run", "run_stages", "solve", "solve_case", "stage_spans", "study_plan", "study_resolutions"]

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


def _folder(spec: BedSpec, folder: str | Path | RunFolder | None) -> RunFolder:
    return RunFolder.of(folder) if folder is not None else RunFolder.default(spec)


def mesh_packing(spec: BedSpec, packing: Packing, folder: str | Path | RunFolder,
                 progress: ProgressCallback | None = None) -> MeshQuality:
    """Mesh ``packing`` for ``spec`` in the folder's case; return the mesh quality. A mesh the case already holds
    for the same :func:`mesh_digest` is kept (only this spec's dictionaries are written)."""
    where = RunFolder.of(folder)
    report = progress or no_progress
    wanted = mesh_digest(spec)
    known = where.record(where.mesh_record)
    if known is not None and known.get("digest") == wanted:
        write_bed_case(where.case, packing, spec, mesh=False)
        quality = MeshQuality.from_dict(known["quality"])
        report(1.0, f"reused mesh of {quality.cells} cells")
        return quality
    write_bed_case(where.case, packing, spec)
    quality = mesh_bed_case(where.case, progress=report, processes=spec.cfd.processes)
    where.mesh_record.write_text(json.dumps({"digest": wanted, "quality": quality.to_dict()}, indent=2))
    return quality


def solve_case(case_dir: str | Path, progress: ProgressCallback | None = None, *,
               spec: BedSpec | None = None) -> SolveRecord:
    """Run simpleFoam on a meshed case written by :func:`mesh`; return (and save as ``solve.json``) the
    iterations, convergence, last residuals and seconds. ``spec``: the spec the case was written for (default:
    read from the case)."""
    where = RunFolder(Path(case_dir).parent)
    spec = spec or BedSpec.from_json(where.spec_file.read_text())
    where.solve_record.unlink(missing_ok=True)
    started = time.perf_counter()
    tracker = solve_bed_case(where.case, spec, progress=progress)
    record = SolveRecord(tracker.iteration, tracker.converged, dict(tracker.residuals), time.perf_counter() - started,
                         spec.cfd.processes)
    where.solve_record.write_text(json.dumps(record.to_dict(), indent=2))
    return record


def postprocess(case_dir: str | Path, progress: ProgressCallback | None = None, *, spec: BedSpec | None = None,
                packing: Packing | None = None, quality: MeshQuality | None = None,
                solved: SolveRecord | None = None) -> RunResult:
    """Extract the :class:`RunResult` of a case solved by :func:`solve_case` (saved as ``results.json``),
    and write its VTK fields when the spec asks for them. What is not given (the spec, packing, mesh quality and
    solve record) is read from the run folder."""
    where = RunFolder(Path(case_dir).parent)
    case = where.case
    report = progress or no_progress
    spec = spec or BedSpec.from_json(where.spec_file.read_text())
    packing = packing or where.packing()
    quality = quality or MeshQuality.from_dict(json.loads(where.mesh_record.read_text())["quality"])
    solved = solved or SolveRecord.from_dict(json.loads(where.solve_record.read_text()))
    seconds: dict[str, float] = {"solve": solved.seconds}
    started = time.perf_counter()
    report(0.0, "pressure profile")
    domain = bed_domain(packing, spec.cfd.mesh_cells_per_diameter)
    forces = evaluate_functions(case, domain.length, packing.diameter)
    internal = read_internal_mesh(case)
    profile = pressure_profile(internal, packing, domain.cell, domain.z0, domain.z1)
    window = packing.core_range()
    porosity = fluid_volume_fraction(internal, *window, math.pi * packing.container.radius**2)
    radial = radial_profile(internal, *window, packing.container.radius, RING_WIDTH * packing.diameter)
    result = bed_result(case, packing, spec, profile, solved.iterations, solved.converged, solved.residuals,
                        quality, seconds, porosity, forces, radial)
    seconds["results"] = time.perf_counter() - started
    if spec.cfd.write_fields:
        report(0.5, "foamToVTK")
        started = time.perf_counter()
        run_foam("foamToVTK", case, ["-latestTime"])
        result.vtk_dir = str(where.vtk_dir)
        seconds["vtk"] = time.perf_counter() - started
    result.save()
    report(1.0, f"dp/dz = {result.dp_dz:.4g} Pa/m")
    return result


# -- the stage chain ---------------------------------------------------------------------------------------------
STAGES = ("pack", "mesh", "solve", "postprocess")
#: ``until`` as users say it → the last stage it runs.
TARGETS = {"pack": "pack", "mesh": "mesh", "solve": "postprocess"}
#: Relative cost of each stage, for one progress bar over a run.
WEIGHTS = {"pack": 0.15, "mesh": 0.30, "solve": 0.50, "postprocess": 0.05}


@dataclass
class Carried:
    """What the stages of one run made so far, handed from each to the next in memory (the spec is parsed once
    per process; nothing is read back from the folder that a stage of this process made)."""

    spec: BedSpec
    folder: RunFolder
    packed: Packed | None = None
    packing: Packing | None = None
    quality: MeshQuality | None = None
    solved: SolveRecord | None = None
    result: RunResult | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # wall-clock seconds of each stage run here

    def the_packing(self) -> Packing:
        """The packing: carried from the pack stage, else loaded from the folder (once)."""
        if self.packing is None:
            self.packing = self.folder.packing()
        return self.packing


def _pack(carried: Carried, progress: ProgressCallback) -> None:
    carried.packed = pack_to_folder(carried.spec, carried.folder.packing_dir, progress=progress)
    carried.packing = carried.packed.packing


def _mesh(carried: Carried, progress: ProgressCallback) -> None:
    carried.quality = mesh_packing(carried.spec, carried.the_packing(), carried.folder, progress=progress)


def _solve(carried: Carried, progress: ProgressCallback) -> None:
    carried.solved = solve_case(carried.folder.case, progress=progress, spec=carried.spec)


def _postprocess(carried: Carried, progress: ProgressCallback) -> None:
    carried.result = postprocess(carried.folder.case, progress=progress, spec=carried.spec,
                                 packing=carried.the_packing(), quality=carried.quality, solved=carried.solved)


#: What each stage does, in memory, in the run folder: ``step(carried, progress)``.
STEPS: dict[str, Callable[[Carried, ProgressCallback], None]] = {
    "pack": _pack, "mesh": _mesh, "solve": _solve, "postprocess": _postprocess}


class Recorder(Protocol):
    """How the chain runs one stage: the step, and whatever keeps what it made (the run database and store for a
    recorded run: :class:`pipeline.runs.execute.RecordedStages`)."""

    def stage(self, name: str, carried: Carried, span: tuple[float, float], progress: ProgressCallback) -> None:
        """Run stage ``name`` (``STEPS[name]``) on ``carried``, reporting to ``progress`` within ``span`` of it."""


class Unrecorded:
    """Stages run in the folder only, nothing recorded: ``bedflow mesh``/``solve``, notebooks' quick looks."""

    def stage(self, name: str, carried: Carried, span: tuple[float, float], progress: ProgressCallback) -> None:
        started = time.perf_counter()
        STEPS[name](carried, scaled(progress, *span))
        carried.seconds[name] = time.perf_counter() - started


def stage_spans(stages: list[str] | tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """Each stage's part (0–1) of one progress bar over ``stages``, by :data:`WEIGHTS`."""
    total = sum(WEIGHTS[s] for s in stages) or 1.0
    spans, start = {}, 0.0
    for stage in stages:
        end = start + WEIGHTS[stage] / total
        spans[stage] = (start, end)
        start = end
    return spans


def run_stages(carried: Carried, stages: list[str] | tuple[str, ...] = STAGES, recorder: Recorder | None = None,
               progress: ProgressCallback | None = None) -> Carried:
    """The stage chain: run ``stages`` in order through ``recorder`` (default :class:`Unrecorded`), each handed
    what the ones before made; returns ``carried`` (its ``result`` set once ``postprocess`` ran)."""
    unknown = [s for s in stages if s not in STEPS]
    if unknown:
        raise ValueError(f"unknown stage {unknown[0]!r}; stages: {', '.join(STAGES)}")
    report = progress or no_progress
    spans = stage_spans(stages)
    for stage in stages:
        (recorder or Unrecorded()).stage(stage, carried, spans[stage], report)
    return carried


def mesh(spec: BedSpec, folder: str | Path | RunFolder | None = None, engine: str | None = None,
         progress: ProgressCallback | None = None) -> MeshQuality:
    """Pack (or reuse) and mesh ``spec`` in ``folder``; return the mesh quality (reused when unchanged)."""
    spec = with_engine(spec, engine)
    carried = run_stages(Carried(spec, _folder(spec, folder)), ("pack", "mesh"), progress=progress)
    return carried.quality  # type: ignore[return-value]


@dataclass(frozen=True)
class SolveRecord:
    """What simpleFoam did: its iterations, whether residualControl was met, the last initial residual of each
    field, the wall-clock seconds and the MPI ranks (``solve.json`` in a run folder)."""

    iterations: int
    converged: bool
    residuals: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    processes: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SolveRecord":
        return cls(**known_fields(cls, data))


def solve(case_dir: str | Path, processes: int | None = None, progress: ProgressCallback | None = None) -> RunResult:
    """Solve a meshed case written by :func:`mesh` and extract its :class:`RunResult` (saved in the case).

    ``processes`` overrides the spec's MPI ranks for this solve.
    """
    where = RunFolder(Path(case_dir).parent)
    spec = BedSpec.from_json(where.spec_file.read_text())
    if processes is not None and processes != spec.cfd.processes:
        spec = spec.updated({"cfd.processes": processes})
        write_bed_case(where.case, where.packing(), spec, mesh=False)
    carried = run_stages(Carried(spec, where), ("solve", "postprocess"), progress=progress)
    return carried.result  # type: ignore[return-value]


def run(spec: BedSpec, engine: str | None = None, processes: int | None = None,
        folder: str | Path | RunFolder | None = None, progress: ProgressCallback | None = None) -> RunResult:
    """Pack, mesh and solve ``spec``, unrecorded; return (and save as ``case/results.json``) its
    :class:`RunResult`, whose ``seconds`` include each stage's.

    ``engine`` and ``processes`` override the spec's packing method and MPI ranks.
    Bad specs fail here, before any program starts. Packings and meshes are reused.
    """
    spec = with_engine(spec, engine)
    if processes is not None:
        spec = spec.updated({"cfd.processes": processes})
    report = progress or no_progress
    carried = run_stages(Carried(spec, _folder(spec, folder)), progress=report)
    result: RunResult = carried.result  # type: ignore[assignment]
    result.seconds = {**carried.seconds, **result.seconds}
    result.save()
    report(1.0, f"dp/dz = {result.dp_dz:.4g} Pa/m ({result.as_meshed.ratios['ergun']:.2f} x Ergun)")
    return result


@dataclass
class MeshStudy:
    """dp/dz on three meshes and its Richardson extrapolation."""

    resolutions: list[int]
    results: list[RunResult]
    extrapolation: Extrapolation
    #: The sweep that groups the study's runs, when each resolution is a recorded run.
    sweep_id: int | None = None

    def summary(self) -> dict[str, Any]:
        best = self.results[-1]
        ratios = {name: self.extrapolation.value / value for name, value in best.as_meshed.correlations.items()}
        return {
            "sweep_id": self.sweep_id,
            "run_ids": [r.run_id for r in self.results],
            "folders": [str(Path(r.case_dir).parent) for r in self.results],
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


def study_plan(spec: BedSpec, resolutions: list[int] | None = None) -> list[int]:
    """The three resolutions of a mesh study of ``spec`` (``resolutions``, sorted, or :func:`study_resolutions`);
    :class:`ValueError` unless there are three different ones."""
    chosen = sorted(resolutions or study_resolutions(spec.cfd.mesh_cells_per_diameter))
    if len(set(chosen)) != 3:
        raise ValueError(f"a mesh study needs three different resolutions, got {chosen}")
    return chosen


def mesh_study(spec: BedSpec, resolutions: list[int] | None = None, folder: str | Path | None = None,
               engine: str | None = None, progress: ProgressCallback | None = None, *,
               runner: Callable[..., RunResult] | None = None, sweep_id: int | None = None) -> MeshStudy:
    """Run ``spec`` at three mesh resolutions and extrapolate dp/dz (Richardson); saved as ``study.json``.

    ``runner(spec, folder=, progress=)`` runs one resolution (default :func:`run`, unrecorded;
    :func:`pipeline.runs.mesh_study` passes the recorded run, ``sweep_id`` naming the sweep that groups them)."""
    spec = with_engine(spec, engine)
    chosen = study_plan(spec, resolutions)
    report = progress or no_progress
    run_one = runner or run
    root = _folder(spec, folder).root
    results = []
    for k, cells in enumerate(chosen):
        refined = spec.updated({"cfd.mesh_cells_per_diameter": cells})
        results.append(run_one(refined, folder=root / f"d{cells}", progress=scaled(report, k / 3, (k + 1) / 3)))
    d = spec.particles.diameter
    extrapolation = richardson(tuple(d / n for n in chosen), tuple(r.dp_dz for r in results))  # type: ignore[arg-type]
    study = MeshStudy(chosen, results, extrapolation, sweep_id)
    root.mkdir(parents=True, exist_ok=True)
    (root / "study.json").write_text(json.dumps(study.summary(), indent=2))
    return study
