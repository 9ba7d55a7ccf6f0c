"""Pressure along the bed from a solved case: area-averaged on cutting planes, fitted in a core window.

A packed bed has a ragged top and wall-affected ends, so the honest pressure
drop is the gradient dp/dz of a straight-line fit of the area-averaged pressure
on horizontal planes across a core window of the bed, reported with that window
and with the porosity measured on the same planes (fluid area over tube area).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import BedflowError

if TYPE_CHECKING:
    import pyvista as pv


class ResultsError(BedflowError):
    """A solved case from which a result cannot be extracted (no fluid on a plane, too few planes...)."""


@dataclass(frozen=True)
class PlaneProfile:
    """Area-averaged values on horizontal planes: heights, fluid area, mean pressure (as in the field)."""

    z: np.ndarray
    fluid_area: np.ndarray
    mean: np.ndarray
    tube_area: float

    @property
    def areal_porosity(self) -> np.ndarray:
        """Fluid area over tube area on each plane (the meshed porosity of that slice)."""
        return self.fluid_area / self.tube_area

    def window(self, z0: float, z1: float) -> "PlaneProfile":
        keep = (self.z >= z0) & (self.z <= z1)
        return PlaneProfile(self.z[keep], self.fluid_area[keep], self.mean[keep], self.tube_area)


@dataclass(frozen=True)
class GradientFit:
    """A straight-line fit ``value = intercept + slope * z`` with its quality."""

    slope: float
    intercept: float
    r_squared: float
    window: tuple[float, float]
    planes: int
    slope_uncertainty: float = 0.0  # half-width of the slope's 95 % interval (least squares, planes independent)


def plane_profile(mesh: "pv.DataSet", field: str, z_values: np.ndarray, cross_section: float) -> PlaneProfile:
    """Average ``field`` over the fluid on a horizontal plane at each of ``z_values``.

    ``mesh`` is a PyVista dataset with cell (or point) data ``field``; the average
    is ∫ field dA / ∫ dA over the slice, the slice area being the fluid area.
    ``cross_section`` is the area of the empty channel (π R² of a tube), for the areal porosity.
    """
    z_values = np.asarray(z_values, dtype=float)
    areas = np.empty(len(z_values))
    means = np.empty(len(z_values))
    for k, z in enumerate(z_values):
        cut = mesh.slice(normal="z", origin=(0.0, 0.0, float(z)))
        if cut.n_cells == 0:
            raise ResultsError(f"no fluid on the plane z = {z:g} m (outside the mesh?)")
        integrated = cut.integrate_data()
        area = float(integrated["Area"][0])
        if area <= 0:
            raise ResultsError(f"zero fluid area on the plane z = {z:g} m")
        areas[k] = area
        means[k] = float(np.asarray(integrated[field]).reshape(-1)[0]) / area
    return PlaneProfile(z_values, areas, means, cross_section)


def fit_gradient(profile: PlaneProfile, window: tuple[float, float]) -> GradientFit:
    """Least-squares line through the plane means inside ``window``."""
    inside = profile.window(*window)
    if len(inside.z) < 3:
        raise ResultsError(f"only {len(inside.z)} planes in the window {window[0]:g}..{window[1]:g} m; need 3")
    slope, intercept = np.polyfit(inside.z, inside.mean, 1)
    predicted = intercept + slope * inside.z
    spread = float(((inside.mean - inside.mean.mean()) ** 2).sum())
    residual = float(((inside.mean - predicted) ** 2).sum())
    r_squared = 1.0 - residual / spread if spread > 0 else 1.0
    n = len(inside.z)
    sxx = float(((inside.z - inside.z.mean()) ** 2).sum())
    standard_error = math.sqrt(residual / (n - 2) / sxx) if n > 2 and sxx > 0 else 0.0
    return GradientFit(float(slope), float(intercept), r_squared, window, n,
                       float(student_t95(n - 2) * standard_error))


def student_t95(dof: int) -> float:
    """The two-sided 95 % quantile of Student's t with ``dof`` degrees of freedom."""
    from scipy.stats import t

    return float(t.ppf(0.975, max(dof, 1)))


def fluid_volume_fraction(mesh: "pv.DataSet", z0: float, z1: float, cross_section: float) -> float:
    """The porosity of the mesh between the planes ``z0`` and ``z1``: the volume of its cells, cut exactly at
    both planes, over ``cross_section × (z1 − z0)``."""
    part = mesh.clip(normal="-z", origin=(0.0, 0.0, z0), crinkle=False)
    part = part.clip(normal="z", origin=(0.0, 0.0, z1), crinkle=False)
    if part.n_cells == 0:
        raise ResultsError(f"no mesh between z = {z0:g} and {z1:g} m")
    volume = float(part.compute_cell_sizes(length=False, area=False, volume=True).cell_data["Volume"].sum())
    return volume / (cross_section * (z1 - z0))
