"""The results of a solved packed-bed case: `RunResult`, read from the case folder."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..correlations import friction_factor
from ..packing import Packing
from ..spec import BedSpec
from .profiles import PlaneProfile, ResultsError, fit_gradient, plane_profile
from .validation import BedGeometry, Comparison, as_meshed, compare

RESULTS_FILE = "results.json"


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
    porosity_core: float  # of the solved geometry (particles shrunk by the contact gap) in the window
    porosity_mesh: float  # fluid area of the mesh over tube area, mean over the window's planes
    superficial_velocity: float
    re_p: float
    friction_factor: float  # dp/dz d ε³ / (rho u² (1-ε)), as-meshed geometry
    as_meshed: dict[str, Any]
    nominal: dict[str, Any]
    residuals: dict[str, float] = field(default_factory=dict)
    mesh: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    profile: dict[str, list[float]] = field(default_factory=dict)
    vtk_dir: str | None = None  # foamToVTK output of the last iteration, when cfd.write_fields
    run_id: int | None = None  # the simulation's id in the run database, when the run was recorded

    @property
    def ergun_dp_dz(self) -> float:
        return self.as_meshed["correlations"]["ergun"]

    @property
    def eisfeld_schnitzlein_dp_dz(self) -> float:
        return self.as_meshed["correlations"]["eisfeld_schnitzlein"]

    def summary(self) -> dict[str, Any]:
        """The flat keys of ``bedflow run --json``."""
        ratios = self.as_meshed["ratios"]
        return {
            "id": self.run_id,
            "cells": self.cells,
            "converged": self.converged,
            "iterations": self.iterations,
            "dp_dz": self.dp_dz,
            "dp_inlet_outlet": self.dp_inlet_outlet,
            "porosity_core": self.porosity_core,
            "porosity_mesh": self.porosity_mesh,
            "re_p": self.re_p,
            "superficial_velocity": self.superficial_velocity,
            "ergun_dp_dz": self.ergun_dp_dz,
            "eisfeld_schnitzlein_dp_dz": self.eisfeld_schnitzlein_dp_dz,
            "ratio_ergun": ratios["ergun"],
            "ratio_eisfeld_schnitzlein": ratios["eisfeld_schnitzlein"],
            "window": list(self.window),
            "seconds": self.seconds,
            "case_dir": self.case_dir,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: Path | None = None) -> Path:
        target = Path(path) if path else Path(self.case_dir) / RESULTS_FILE
        target.write_text(json.dumps(self.to_dict(), indent=2))
        return target

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunResult":
        """A result from :meth:`to_dict`'s output (e.g. a simulation row's ``results``); keys this version
        does not know are ignored, missing optional ones take their defaults."""
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        if "window" in values:
            values["window"] = tuple(values["window"])
        return cls(**values)

    @classmethod
    def load(cls, path: Path) -> "RunResult":
        data = json.loads(Path(path).read_text())
        data["window"] = tuple(data["window"])
        return cls(**data)


def read_internal_mesh(case_dir: Path) -> "Any":
    """The internal mesh of the latest time of a case, with cell fields (PyVista)."""
    import pyvista as pv

    foam = Path(case_dir) / "case.foam"
    foam.touch()
    reader = pv.OpenFOAMReader(str(foam))
    if len(reader.time_values) < 2:
        raise ResultsError(f"{case_dir} has no solution time beyond 0")
    reader.set_active_time_value(reader.time_values[-1])
    reader.cell_to_point_creation = False
    return reader.read()["internalMesh"]


def pressure_profile(case_dir: Path, packing: Packing, cell: float, z0: float, z1: float) -> PlaneProfile:
    """Area-averaged kinematic pressure on planes at background cell centres from z0 to z1."""
    mesh = read_internal_mesh(case_dir)
    z = np.arange(z0 + 0.5 * cell, z1, cell)
    return plane_profile(mesh, "p", z, math.pi * packing.container.radius**2)


def bed_result(case_dir: Path, packing: Packing, spec: BedSpec, profile: PlaneProfile, iterations: int,
               converged: bool, residuals: dict[str, float], mesh: dict[str, Any],
               seconds: dict[str, float]) -> RunResult:
    """Pressure gradient in the core window, porosity there, and the correlations it is compared with."""
    cfd = spec.cfd
    rho, mu = cfd.fluid_density, cfd.fluid_dynamic_viscosity
    window = packing.core_range()
    fit = fit_gradient(profile, window)
    porosity_mesh = float(profile.window(*window).areal_porosity.mean())
    porosity = packing.porosity(window, shrink=packing.contact_gap)
    u = spec.superficial_velocity()
    dp_dz = -fit.slope * rho
    nominal_geometry = BedGeometry(packing.diameter, packing.porosity(window), packing.container.diameter)
    meshed_geometry = as_meshed(nominal_geometry, packing.contact_gap, porosity)
    solved: Comparison = compare(dp_dz, meshed_geometry, u, rho, mu, "as meshed")
    nominal: Comparison = compare(dp_dz, nominal_geometry, u, rho, mu, "nominal")
    d = meshed_geometry.particle_diameter
    return RunResult(
        case_dir=str(case_dir),
        cells=int(mesh.get("cells", 0)),
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
        as_meshed=solved.to_dict(),
        nominal=nominal.to_dict(),
        residuals=residuals,
        mesh=mesh,
        seconds=seconds,
        profile={"z": profile.z.tolist(), "p": (profile.mean * rho).tolist(),
                 "porosity": profile.areal_porosity.tolist()},
    )
