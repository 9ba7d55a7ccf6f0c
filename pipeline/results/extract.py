"""The results of a solved packed-bed case: `RunResult`, read from the case folder."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..correlations import friction_factor, reichelt_wall_share
from ..folder import FOAM_FILE, RESULTS_FILE
from ..geometry import porosity_as_meshed
from ..openfoam import MeshQuality
from ..packing import Packing
from ..plain import known_fields
from ..spec import BedSpec
from .forces import BedForces
from .radial import NEAR_WALL, RadialProfile
from .profiles import PlaneProfile, ResultsError, fit_gradient, plane_profile
from .validation import BedGeometry, Comparison, as_meshed, compare

#: A core window shorter than this (particle diameters) or a fit with R² under MIN_R_SQUARED is flagged.
MIN_WINDOW_DIAMETERS = 5.0
MIN_R_SQUARED = 0.99
#: A mesh whose porosity differs from the geometry's by more than this is flagged.
MAX_POROSITY_DRIFT = 0.01


@dataclass
class RunResult:
    """What a researcher reads off a solved bed (SI; pressure in Pa, gradients in Pa/m, positive for a drop)."""

    case_dir: str
    cells: int
    iterations: int
    converged: bool
    dp_dz: float  # core-window fit of area-averaged pressure
    dp_dz_r_squared: float
    window: tuple[float, float]
    dp_inlet_outlet: float
    porosity_core: float  # of the solved geometry (after the contact treatment) in the window
    porosity_mesh: float  # fluid volume of the mesh's cells in the window over the tube's volume there
    superficial_velocity: float
    re_p: float
    friction_factor: float  # dp/dz d ε³ / (rho u² (1-ε)), as-meshed geometry
    as_meshed: Comparison  # the correlations for the geometry solved (particles shrunk by the contact gap)
    nominal: Comparison  # ... for the packing as packed
    residuals: dict[str, float] = field(default_factory=dict)
    mesh: MeshQuality = field(default_factory=MeshQuality)
    seconds: dict[str, float] = field(default_factory=dict)
    profile: dict[str, list[float]] = field(default_factory=dict)
    vtk_dir: str | None = None  # foamToVTK output of the last iteration, when cfd.write_fields
    window_diameters: float = math.nan  # length of the core window in particle diameters
    dp_dz_uncertainty: float = math.nan  # Pa/m: half-width of the fit's 95 % interval
    porosity_mesh_planes: float = math.nan  # fluid area over tube area, mean over the window's planes
    mesh_porosity: Comparison | None = None  # the correlations at the mesh's porosity
    run_id: int | None = None  # the simulation's id in the run database, when the run was recorded
    wall_share: float = math.nan  # the tube wall's share of the drag in the core window (OpenFOAM's forces)
    wall_share_reichelt: float = math.nan  # the wall's share of the wetted surface there (Reichelt's A_w model)
    radial: dict[str, list[float]] = field(default_factory=dict)  # rings from the wall: porosity, u / u_superficial
    near_wall_area_share: float = math.nan  # the cross-section within NEAR_WALL d of the wall
    near_wall_flow_share: float = math.nan  # the flow through it

    @property
    def ergun_dp_dz(self) -> float:
        return self.as_meshed.correlations["ergun"]

    @property
    def eisfeld_schnitzlein_dp_dz(self) -> float:
        return self.as_meshed.correlations["eisfeld_schnitzlein"]

    def warnings(self) -> list[str]:
        """What makes this result less trustworthy, in words (the CLI, the dashboard and reports show these)."""
        found = []
        if not self.converged:
            found.append(f"the solver did not converge in {self.iterations} iterations")
        if math.isfinite(self.window_diameters) and self.window_diameters < MIN_WINDOW_DIAMETERS:
            found.append(f"the core window is {self.window_diameters:.1f} particle diameters long (under "
                         f"{MIN_WINDOW_DIAMETERS:g}): dp/dz is unreliable, pack a taller bed")
        if self.dp_dz_r_squared < MIN_R_SQUARED:
            found.append(f"the pressure is not linear in the core window (R² {self.dp_dz_r_squared:.3f} < "
                         f"{MIN_R_SQUARED}): dp/dz is unreliable")
        if math.isfinite(self.porosity_mesh) and abs(self.porosity_mesh - self.porosity_core) > MAX_POROSITY_DRIFT:
            found.append(f"the mesh holds porosity {self.porosity_mesh:.3f} against the geometry's "
                         f"{self.porosity_core:.3f}: it does not keep the geometry (refine it: "
                         f"cfd.mesh_cells_per_diameter, cfd.surface_refinement, cfd.gap_refinement)")
        return found

    def summary(self) -> dict[str, Any]:
        """The flat keys of ``bedflow run --json``."""
        ratios = self.as_meshed.ratios
        return {
            "id": self.run_id,
            "cells": self.cells,
            "converged": self.converged,
            "iterations": self.iterations,
            "dp_dz": self.dp_dz,
            "dp_inlet_outlet": self.dp_inlet_outlet,
            "porosity_core": self.porosity_core,
            "porosity_mesh": self.porosity_mesh,
            "window_diameters": self.window_diameters,
            "dp_dz_r_squared": self.dp_dz_r_squared,
            "dp_dz_uncertainty": self.dp_dz_uncertainty,
            "wall_share": self.wall_share,
            "wall_share_reichelt": self.wall_share_reichelt,
            "near_wall_area_share": self.near_wall_area_share,
            "near_wall_flow_share": self.near_wall_flow_share,
            "warnings": self.warnings(),
            "re_p": self.re_p,
            "superficial_velocity": self.superficial_velocity,
            "ergun_dp_dz": self.ergun_dp_dz,
            "eisfeld_schnitzlein_dp_dz": self.eisfeld_schnitzlein_dp_dz,
            "ratio_ergun": ratios["ergun"],
            "ratio_eisfeld_schnitzlein": ratios["eisfeld_schnitzlein"],
            "ratios_at_mesh_porosity": dict(self.mesh_porosity.ratios) if self.mesh_porosity else {},
            "window": list(self.window),
            "seconds": self.seconds,
            "case_dir": self.case_dir,
            "folder": str(Path(self.case_dir).parent),
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _repr_html_(self) -> str:
        from .presentation import correlation_rows, html_table, result_rows

        ratios = [(f"CFD / {row.label} (as meshed)", f"{row.ratio_meshed:.3f}") for row in correlation_rows(self)]
        title = f"Run {self.run_id}" if self.run_id is not None else "Result"
        return html_table(title, [*result_rows(self), *ratios, *(("⚠", w) for w in self.warnings())])

    def save(self, path: Path | None = None) -> Path:
        target = Path(path) if path else Path(self.case_dir) / RESULTS_FILE
        target.write_text(json.dumps(self.to_dict(), indent=2))
        return target

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunResult":
        """A result from :meth:`to_dict`'s output (e.g. a simulation row's ``results``); keys this version
        does not know are ignored, missing optional ones take their defaults."""
        values = known_fields(cls, data)
        values["window"] = tuple(values["window"])
        values["as_meshed"] = Comparison.from_dict(values["as_meshed"])
        values["nominal"] = Comparison.from_dict(values["nominal"])
        values["mesh_porosity"] = Comparison.from_dict(values["mesh_porosity"]) \
            if values.get("mesh_porosity") else None
        values["mesh"] = MeshQuality.from_dict(values.get("mesh"))
        return cls(**values)

    @classmethod
    def load(cls, path: Path) -> "RunResult":
        """The result saved in ``path`` (:meth:`save`)."""
        return cls.from_dict(json.loads(Path(path).read_text()))


def read_internal_mesh(case_dir: Path) -> "Any":
    """The internal mesh of the latest time of a case, with its cell fields (PyVista): after
    :func:`pipeline.results.forces.evaluate`, OpenFOAM's own cell volumes ``V`` among them."""
    import pyvista as pv

    foam = Path(case_dir) / FOAM_FILE
    foam.touch()
    reader = pv.OpenFOAMReader(str(foam))
    if len(reader.time_values) < 2:
        raise ResultsError(f"{case_dir} has no solution time beyond 0")
    reader.set_active_time_value(reader.time_values[-1])
    reader.cell_to_point_creation = False
    return reader.read()["internalMesh"]


def pressure_profile(mesh: Any, packing: Packing, cell: float, z0: float, z1: float) -> PlaneProfile:
    """Area-averaged kinematic pressure on planes at background cell centres from z0 to z1 (``mesh``:
    :func:`read_internal_mesh`)."""
    z = np.arange(z0 + 0.5 * cell, z1, cell)
    return plane_profile(mesh, "p", z, math.pi * packing.container.radius**2)


def bed_result(case_dir: Path, packing: Packing, spec: BedSpec, profile: PlaneProfile, iterations: int,
               converged: bool, residuals: dict[str, float], mesh: MeshQuality,
               seconds: dict[str, float], porosity_mesh: float = math.nan,
               forces: BedForces | None = None, radial: RadialProfile | None = None) -> RunResult:
    """Pressure gradient in the core window, porosity there, and the correlations it is compared with.

    ``porosity_mesh`` is the fluid volume fraction of the mesh in the core window
    (:func:`pipeline.results.profiles.fluid_volume_fraction`); without it, the planes' areal mean stands in.
    ``forces`` (:func:`pipeline.results.forces.evaluate`) give the wall's share of the window's drag; ``radial``
    (:func:`pipeline.results.radial.radial_profile`) where the flow goes across the tube.
    """
    cfd = spec.cfd
    rho, mu = cfd.fluid_density, cfd.fluid_dynamic_viscosity
    window = packing.core_range()
    fit = fit_gradient(profile, window)
    porosity_planes = float(profile.window(*window).areal_porosity.mean())
    if not math.isfinite(porosity_mesh):
        porosity_mesh = porosity_planes
    porosity = porosity_as_meshed(packing, window)
    u = spec.superficial_velocity()
    dp_dz = -fit.slope * rho
    nominal_geometry = BedGeometry(packing.diameter, packing.porosity(window), packing.container.diameter)
    meshed_geometry = as_meshed(nominal_geometry, packing.contact_gap, porosity)
    solved: Comparison = compare(dp_dz, meshed_geometry, u, rho, mu, "as meshed")
    nominal: Comparison = compare(dp_dz, nominal_geometry, u, rho, mu, "nominal")
    at_mesh = compare(dp_dz, as_meshed(nominal_geometry, packing.contact_gap, porosity_mesh), u, rho, mu,
                      "at the mesh's porosity")
    d = meshed_geometry.particle_diameter
    near_wall = radial.flow_share(NEAR_WALL * packing.diameter) if radial else (math.nan, math.nan)
    return RunResult(
        case_dir=str(case_dir),
        cells=mesh.cells,
        iterations=iterations,
        converged=converged,
        dp_dz=dp_dz,
        dp_dz_r_squared=fit.r_squared,
        window=window,
        dp_inlet_outlet=float(profile.mean[0]) * rho,
        porosity_core=porosity,
        porosity_mesh=porosity_mesh,
        superficial_velocity=u,
        re_p=spec.particle_reynolds(),
        friction_factor=friction_factor(dp_dz, d, porosity, u, rho),
        as_meshed=solved,
        nominal=nominal,
        residuals=residuals,
        mesh=mesh,
        seconds=seconds,
        profile={"z": profile.z.tolist(), "p": (profile.mean * rho).tolist(),
                 "porosity": profile.areal_porosity.tolist()},
        window_diameters=(window[1] - window[0]) / packing.diameter,
        dp_dz_uncertainty=fit.slope_uncertainty * rho,
        porosity_mesh_planes=porosity_planes,
        mesh_porosity=at_mesh,
        wall_share=forces.wall_share(-fit.slope, math.pi * packing.container.radius**2, *window)
        if forces else math.nan,
        wall_share_reichelt=reichelt_wall_share(packing.container.diameter / d, porosity),
        radial=radial.to_dict(packing.diameter, u) if radial else {},
        near_wall_area_share=near_wall[0],
        near_wall_flow_share=near_wall[1],
    )
