"""The validation study: packed-bed Δp/L against the correlations, with its uncertainty.

For each bed of :data:`BEDS` (long beds at D/d = 5 and 10): three packing seeds at Re_p = 1 and 20 with the
default resolution and contact treatment (the seed scatter), the first seed on a finer mesh (the grid
convergence index, GCI), and the first seed with each other contact treatment. Every case is a recorded run
(:func:`pipeline.run`) in one sweep row, so the dashboard's Compare page shows the study; the rows and the
summary are plain dicts, saved as JSON for the notebook ``05_validation.ipynb``.

The uncertainty of a bed's Δp/L at one Re_p combines the seed scatter (the standard deviation of the seeds'
means) and the GCI of the default mesh (two meshes, the scheme's formal order 2, safety factor 3; Roache
1998), in quadrature.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from .contacts import AUTO
from .correlations import PRESSURE_DROP_NAMES, eisfeld_schnitzlein
from .progress import ProgressCallback, no_progress, scaled
from .results import RunResult
from .spec import BedSpec

#: The study's beds: D/d = 5 and 10 with core windows of at least 20 d and 10 d (glass spheres in water).
BEDS: dict[str, dict[str, Any]] = {
    "dd5": {"name": "validation D/d 5", "bed": {"diameter": 0.025, "height": 0.14},
            "particles": {"diameter": 0.005, "count": 540}},
    "dd10": {"name": "validation D/d 10", "bed": {"diameter": 0.05, "height": 0.1},
             "particles": {"diameter": 0.005, "count": 1150}},
}
#: The small bed of ``quick`` studies (the tests, a look at the machinery): 90 spheres, D/d 5.
QUICK_BED = {"name": "validation quick", "bed": {"diameter": 0.025, "height": 0.04},
             "particles": {"diameter": 0.005, "count": 90}}
SEEDS = (1, 2, 3)
REYNOLDS = (1.0, 20.0)
#: The seeds' treatment is the default for spheres (``auto``: bridges); the first seed also runs with these.
DEFAULT_TREATMENT = AUTO["sphere"]
TREATMENTS = ("gap", "cap")
#: Two-mesh GCI: the scheme's formal order and Roache's safety factor for two meshes.
FORMAL_ORDER, SAFETY_FACTOR = 2.0, 3.0


@dataclass(frozen=True)
class StudyCase:
    """One run of the study: which bed, seed, Re_p, resolution and contact treatment."""

    bed: str
    seed: int
    reynolds: float
    resolution: int
    treatment: str = DEFAULT_TREATMENT
    role: str = "seed"  # seed | finer | treatment

    @property
    def label(self) -> str:
        return f"{self.bed} seed {self.seed} Re {self.reynolds:g} d/{self.resolution} {self.treatment}"

    def spec(self, base: dict[str, Any], overrides: dict[str, Any] | None = None) -> BedSpec:
        """The bed spec of this case: ``base`` with the case's seed, Re_p, resolution and treatment."""
        spec = BedSpec.from_dict(base).updated({
            "particles.seed": self.seed, "cfd.particle_reynolds": self.reynolds,
            "cfd.mesh_cells_per_diameter": self.resolution, "packing.contact_treatment": self.treatment,
            **(overrides or {})})
        return spec.updated({"name": f"{spec.name}: {self.label}"})


def study_cases(beds: tuple[str, ...] = tuple(BEDS), resolution: int = 12, finer: int | None = 16,
                seeds: tuple[int, ...] = SEEDS, reynolds: tuple[float, ...] = REYNOLDS,
                treatments: tuple[str, ...] = TREATMENTS) -> list[StudyCase]:
    """The study's cases, in the order they run (cases sharing a mesh run one after the other); ``finer`` None:
    no finer mesh (and no GCI)."""
    cases: list[StudyCase] = []
    for bed in beds:
        for seed in seeds:
            cases += [StudyCase(bed, seed, re, resolution) for re in reynolds]
        if finer:
            cases.append(StudyCase(bed, seeds[0], reynolds[0], finer, role="finer"))
        cases += [StudyCase(bed, seeds[0], reynolds[0], resolution, t, role="treatment") for t in treatments]
    return cases


@dataclass
class StudyRow:
    """What one case gave: Δp/L and its fit, the porosities, the correlations and what it cost."""

    case: StudyCase
    run_id: int | None
    cells: int
    converged: bool
    dp_dz: float
    dp_dz_uncertainty: float
    window_diameters: float
    porosity_nominal: float  # of the packing in the core window, particles as packed
    porosity_solved: float  # after the contact treatment
    porosity_mesh: float
    aspect_ratio: float
    correlations: dict[str, float]  # dp/dz of each correlation for the nominal packing (d, ε as packed)
    ratios: dict[str, float]  # CFD / correlation, nominal packing
    seconds: float
    radial_porosity: dict[str, list[float]] = field(default_factory=dict)
    wall_share: float = math.nan  # the tube wall's share of the drag (CFD)
    wall_share_reichelt: float = math.nan  # its share of the wetted surface (what E&S's A_w assumes)
    near_wall_area_share: float = math.nan  # the cross-section within half a diameter of the wall
    near_wall_flow_share: float = math.nan  # the flow through it
    radial_flow: dict[str, list[float]] = field(default_factory=dict)  # the mesh's rings: porosity, u / u_s
    #: CFD / Eisfeld–Schnitzlein with the wall factor the CFD measures, A_w = 1 / (1 - wall_share)
    eisfeld_schnitzlein_measured_wall: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["case"]["label"] = self.case.label
        return data


def row_of(case: StudyCase, spec: BedSpec, result: RunResult, seconds: float,
           radial: tuple[Any, Any] | None = None) -> StudyRow:
    """A study row from a run's result. The correlations are evaluated for the packing as packed (nominal d
    and core porosity): what a researcher compares a measured bed with; the as-meshed ratios stay in the run."""
    comparison = result.nominal  # the run's own comparison for the packing as packed
    geometry = comparison.geometry
    return StudyRow(
        case=case, run_id=result.run_id, cells=result.cells, converged=result.converged, dp_dz=result.dp_dz,
        dp_dz_uncertainty=result.dp_dz_uncertainty, window_diameters=result.window_diameters,
        porosity_nominal=geometry.porosity, porosity_solved=result.porosity_core,
        porosity_mesh=result.porosity_mesh, aspect_ratio=geometry.tube_diameter / geometry.particle_diameter,
        correlations=comparison.correlations, ratios=comparison.ratios, seconds=seconds,
        wall_share=result.wall_share, wall_share_reichelt=result.wall_share_reichelt,
        near_wall_area_share=result.near_wall_area_share, near_wall_flow_share=result.near_wall_flow_share,
        radial_flow=result.radial,
        eisfeld_schnitzlein_measured_wall=result.dp_dz / eisfeld_schnitzlein(
            geometry.particle_diameter, geometry.porosity, result.superficial_velocity, spec.cfd.fluid_density,
            spec.cfd.fluid_dynamic_viscosity, geometry.tube_diameter, wall_factor=1.0 / (1.0 - result.wall_share)),
        radial_porosity={"wall_distance_d": (radial[0] / geometry.particle_diameter).tolist(),
                         "porosity": radial[1].tolist()} if radial is not None else {})


def run_study(cases: list[StudyCase], beds: dict[str, dict[str, Any]] | None = None, *,
              overrides: dict[str, Any] | None = None, folder: str | Path | None = None,
              record: bool = True, name: str = "validation study", progress: ProgressCallback | None = None,
              on_row: Callable[[StudyRow], None] | None = None) -> list[StudyRow]:
    """Run ``cases`` one after the other; each row goes to ``on_row`` as it is done. With ``record`` every
    case is a recorded run (:func:`pipeline.run`) in one sweep named ``name``, else a run in ``folder``
    (:func:`pipeline.workflow.run`). ``overrides`` (spec paths) apply to every case, e.g.
    ``{"cfd.processes": 2}``."""
    from .folder import RunFolder
    from .runs import run as recorded_run
    from .workflow import run as local_run

    beds = beds or BEDS
    report = progress or no_progress
    sweep_id = record_study(name, cases) if record else None
    rows: list[StudyRow] = []
    for k, case in enumerate(cases):
        spec = case.spec(beds[case.bed], overrides)
        where = Path(folder) / _folder_name(case) if folder else None
        step = scaled(report, k / len(cases), (k + 1) / len(cases))
        step(0.0, case.label)
        started = time.perf_counter()
        result = recorded_run(spec, folder=where, progress=step, sweep_id=sweep_id) if record else local_run(
            spec, folder=where, progress=step)
        seconds = time.perf_counter() - started
        packing = RunFolder(Path(result.case_dir).parent).packing()
        radial = packing.radial_porosity(bins=40, z_range=result.window) if case.role == "seed" else None
        row = row_of(case, spec, result, seconds, radial)
        rows.append(row)
        if on_row:
            on_row(row)
    report(1.0, f"{len(rows)} cases")
    return rows


def record_study(name: str, cases: list[StudyCase]) -> int:
    """A sweep row that groups the study's runs (varied: Re_p, with seeds, meshes and treatments besides)."""
    from .db.records import new_sweep
    from .runs import open_services

    labels = "; ".join(case.label for case in cases)
    with open_services().db.session() as session:
        return new_sweep(session, name[:200], "cfd.particle_reynolds", sorted({case.reynolds for case in cases}),
                         description=f"validation study of {len(cases)} cases: {labels}")


def _folder_name(case: StudyCase) -> str:
    """Cases that differ only in Re_p share a folder, so their mesh is made once."""
    return f"{case.bed}-seed{case.seed}-d{case.resolution}-{case.treatment}"


def gci(coarse: float, fine: float, ratio: float, order: float = FORMAL_ORDER,
        safety: float = SAFETY_FACTOR) -> float:
    """The grid convergence index of the coarse value from two meshes ``ratio`` apart (relative)."""
    return safety * abs((fine - coarse) / coarse) / (ratio**order - 1.0)


def summarize(rows: list[StudyRow]) -> list[dict[str, Any]]:
    """Per bed and Re_p: the seeds' mean Δp/L, their scatter, the GCI, the combined uncertainty, the mean
    ratios to each correlation (nominal packing), and the treatments' Δp/L and porosity against the default treatment's."""
    summary = []
    for bed in dict.fromkeys(r.case.bed for r in rows):
        mine = [r for r in rows if r.case.bed == bed]
        seeds = [r for r in mine if r.case.role == "seed"]
        for re in dict.fromkeys(r.case.reynolds for r in seeds):
            at = [r for r in seeds if r.case.reynolds == re]
            values = [r.dp_dz for r in at]
            mean = statistics.fmean(values)
            scatter = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else math.nan
            first = at[0]
            finer = next((r for r in mine if r.case.role == "finer" and r.case.seed == first.case.seed
                          and r.case.reynolds == re), None)
            grid = gci(first.dp_dz, finer.dp_dz, finer.case.resolution / first.case.resolution) if finer else math.nan
            parts = [x for x in (scatter / mean, grid) if math.isfinite(x)]
            entry: dict[str, Any] = {
                "bed": bed, "reynolds": re, "aspect_ratio": first.aspect_ratio, "seeds": len(at),
                "window_diameters": statistics.fmean(r.window_diameters for r in at),
                "porosity_nominal": statistics.fmean(r.porosity_nominal for r in at),
                "dp_dz": mean, "seed_scatter": scatter / mean, "gci": grid,
                "uncertainty": math.sqrt(sum(x * x for x in parts)) if parts else math.nan,
                "ratios": {name: statistics.fmean(r.ratios[name] for r in at) for name in PRESSURE_DROP_NAMES
                           if all(name in r.ratios for r in at)},
                "wall_share": statistics.fmean(r.wall_share for r in at),
                "wall_share_reichelt": statistics.fmean(r.wall_share_reichelt for r in at),
                "near_wall_area_share": statistics.fmean(r.near_wall_area_share for r in at),
                "near_wall_flow_share": statistics.fmean(r.near_wall_flow_share for r in at),
                "eisfeld_schnitzlein_measured_wall": statistics.fmean(r.eisfeld_schnitzlein_measured_wall for r in at),
                "finer": {"resolution": finer.case.resolution, "dp_dz": finer.dp_dz, "cells": finer.cells}
                if finer else None,
                "treatments": {r.case.treatment: {"dp_dz": r.dp_dz, "change": r.dp_dz / first.dp_dz - 1.0,
                                                   "porosity_solved": r.porosity_solved,
                                                   "porosity_mesh": r.porosity_mesh}
                               for r in [first] + [t for t in mine if t.case.role == "treatment"
                                                   and t.case.reynolds == re and t.case.seed == first.case.seed]},
                "seconds": sum(r.seconds for r in mine if r.case.reynolds == re),
            }
            summary.append(entry)
    return summary
