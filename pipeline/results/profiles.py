"""Pressure along the bed from a solved case: area-averaged on cutting planes, fitted in a core window.

A packed bed has a ragged top and wall-affected ends, so the honest pressure
drop is the gradient dp/dz of a straight-line fit of the area-averaged pressure
on horizontal planes across a core window of the bed, reported with that window
and with the porosity measured on the same planes (fluid area over tube area).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

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
    The planes are cut in bands of neighbours, each through only the cells that reach into its band: the same
    slices, several times cheaper on a big mesh than slicing the whole mesh per plane.
    """
    z_values = np.asarray(z_values, dtype=float)
    areas = np.empty(len(z_values))
    means = np.empty(len(z_values))
    within = _cells_within(mesh)
    order = np.argsort(z_values)
    for band in np.array_split(order, math.ceil(math.sqrt(len(order)))) if len(order) else []:
        part = within(float(z_values[band[0]]), float(z_values[band[-1]]))
        for k in band:
            z = float(z_values[k])
            cut = part.slice(normal="z", origin=(0.0, 0.0, z)) if part.n_cells else part
            if cut.n_cells == 0:
                raise ResultsError(f"no fluid on the plane z = {z:g} m (outside the mesh?)")
            area, integral = _integrate(cut, field)
            if area <= 0:
                raise ResultsError(f"zero fluid area on the plane z = {z:g} m")
            areas[k] = area
            means[k] = integral / area
    return PlaneProfile(z_values, areas, means, cross_section)


def _cell_heights(mesh: "pv.DataSet") -> tuple[np.ndarray, np.ndarray] | None:
    """The lowest and highest z of every cell of an unstructured mesh (one pass over its connectivity);
    None for datasets without explicit cells."""
    import pyvista as pv

    if not isinstance(mesh, pv.UnstructuredGrid) or mesh.n_cells == 0:
        return None
    heights = np.asarray(mesh.points[:, 2])[np.asarray(mesh.cell_connectivity)]
    starts = np.asarray(mesh.cell_offsets)[:-1]
    return np.minimum.reduceat(heights, starts), np.maximum.reduceat(heights, starts)


def _cells_within(mesh: "pv.DataSet") -> "Callable[[float, float], pv.DataSet]":
    """A function giving, for heights ``low ≤ high``, the part of ``mesh`` whose cells reach into that band
    (the whole of a dataset without explicit cells)."""
    heights = _cell_heights(mesh)
    if heights is None:
        return lambda low, high: mesh
    bottom, top = heights
    return lambda low, high: mesh.extract_cells(np.flatnonzero((bottom <= high) & (top >= low)))


def _integrate(cut: "pv.PolyData", field: str) -> tuple[float, float]:
    """The area of a slice and the integral of ``field`` over it. A cell field is constant on each polygon,
    so the integral is a sum over polygon areas (ten times faster than VTK's general integration filter)."""
    if field in cut.cell_data:
        area = cut.compute_cell_sizes(length=False, area=True, volume=False).cell_data["Area"]
        return float(area.sum()), float(area @ np.asarray(cut.cell_data[field], dtype=float))
    integrated = cut.integrate_data()
    return float(integrated["Area"][0]), float(np.asarray(integrated[field]).reshape(-1)[0])


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
    both planes, over ``cross_section × (z1 − z0)``.

    With a cell field ``V`` (OpenFOAM's own cell volumes, written by :func:`pipeline.results.forces.evaluate`)
    those are summed, a cell crossing a plane counting with the share of it (by VTK's
    geometry) on the window's side. Without it VTK's cell volumes are summed, which on snapped polyhedra differ
    from OpenFOAM's by up to about a per cent (their magnitudes: VTK gives OpenFOAM's prisms a negative volume).
    """
    heights = _cell_heights(mesh)
    if heights is None:
        return _clipped_volume(mesh, z0, z1, exact=False) / (cross_section * (z1 - z0))
    bottom, top = heights
    exact = "V" in mesh.cell_data
    inside = np.flatnonzero((bottom >= z0) & (top <= z1))
    crossing = np.flatnonzero((bottom < z1) & (top > z0) & ((bottom < z0) | (top > z1)))
    if len(inside) + len(crossing) == 0:
        raise ResultsError(f"no mesh between z = {z0:g} and {z1:g} m")
    volume = float(np.asarray(mesh.cell_data["V"])[inside].sum()) if exact else (
        float(_vtk_volumes(mesh.extract_cells(inside)).sum()) if len(inside) else 0.0)
    if len(crossing):
        volume += _clipped_volume(mesh.extract_cells(crossing), z0, z1, exact)
    return volume / (cross_section * (z1 - z0))


def _vtk_volumes(part: "pv.DataSet") -> np.ndarray:
    """VTK's cell volumes, as magnitudes (VTK gives the prisms of an OpenFOAM mesh a negative volume)."""
    return np.abs(np.asarray(part.compute_cell_sizes(length=False, area=False, volume=True).cell_data["Volume"]))


def _clipped_volume(part: "pv.DataSet", z0: float, z1: float, exact: bool) -> float:
    """The volume of ``part`` between the planes: VTK's volumes of the clipped pieces, or (``exact``) each
    piece's share of its cell's VTK volume times the cell's own ``V``."""
    part = part.copy()
    part.cell_data["bedflow_cell"] = np.arange(part.n_cells)
    cut = part.clip(normal="-z", origin=(0.0, 0.0, z0), crinkle=False)
    cut = cut.clip(normal="z", origin=(0.0, 0.0, z1), crinkle=False) if cut.n_cells else cut
    if cut.n_cells == 0:
        return 0.0
    pieces = _vtk_volumes(cut)
    if not exact:
        return float(pieces.sum())
    cells = np.asarray(cut.cell_data["bedflow_cell"])
    whole = _vtk_volumes(part)[cells]
    share = np.divide(pieces, whole, out=np.zeros_like(pieces), where=whole > 0)
    return float((share * np.asarray(part.cell_data["V"])[cells]).sum())
