"""Where the flow goes across the tube: porosity and superficial velocity in rings from the wall inwards.

In a narrow tube the packing is ordered near the wall (porosity 1 at the wall, a minimum half a particle
diameter in, damped oscillations further in), and the fluid takes the open region next to the wall: the
*channelling* that the wall-corrected correlations balance against the wall's added surface. The rings are
filled with the cells whose centres fall in them (cells of the core window only), weighted by OpenFOAM's own
cell volumes ``V``: ring porosity = fluid volume / ring volume, superficial velocity = ∫ U_z dV / ring volume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .profiles import ResultsError

if TYPE_CHECKING:
    import pyvista as pv

#: Ring width in particle diameters.
RING_WIDTH = 0.125
#: The near-wall region whose share of the flow a result reports (particle diameters from the wall).
NEAR_WALL = 0.5


@dataclass(frozen=True)
class RadialProfile:
    """Rings from the wall inwards: inner and outer wall distance (m), porosity, superficial axial velocity
    (m/s) and the ring's share of the tube's cross-section."""

    wall_distance: np.ndarray  # (n, 2): each ring's distance from the wall, outer edge first
    porosity: np.ndarray
    velocity: np.ndarray
    area_share: np.ndarray

    def flow_share(self, within: float) -> tuple[float, float]:
        """The share of the cross-section and of the flow within ``within`` (m) of the wall."""
        near = self.wall_distance[:, 1] <= within * (1 + 1e-9)
        flow = self.velocity * self.area_share
        return float(self.area_share[near].sum()), float(flow[near].sum() / flow.sum())

    def to_dict(self, particle_diameter: float, superficial_velocity: float) -> dict[str, list[float]]:
        """Ring centres in particle diameters from the wall, porosity, and velocity over the superficial one."""
        return {"wall_distance_d": (self.wall_distance.mean(axis=1) / particle_diameter).tolist(),
                "porosity": self.porosity.tolist(),
                "velocity_ratio": (self.velocity / superficial_velocity).tolist()}


def radial_profile(mesh: "pv.DataSet", z0: float, z1: float, radius: float, width: float) -> RadialProfile:
    """The rings of ``width`` (m) from the wall of a tube of ``radius`` between ``z0`` and ``z1`` (``mesh``: the
    internal mesh with cell fields ``U`` and ``V``)."""
    if "V" not in mesh.cell_data or "U" not in mesh.cell_data:
        raise ResultsError("a radial profile needs the cell fields U and V (OpenFOAM's cell volumes)")
    centres = np.asarray(mesh.cell_centers().points)
    inside = (centres[:, 2] > z0) & (centres[:, 2] < z1)
    if not inside.any():
        raise ResultsError(f"no cell centre between z = {z0:g} and {z1:g} m")
    distance = radius - np.hypot(centres[inside, 0], centres[inside, 1])
    volume = np.asarray(mesh.cell_data["V"])[inside]
    flux = np.asarray(mesh.cell_data["U"])[inside, 2] * volume
    count = max(1, math.ceil(radius / width - 1e-9))
    edges = np.minimum(np.arange(count + 1) * width, radius)
    ring = np.clip(np.searchsorted(edges, distance, side="right") - 1, 0, count - 1)
    outer, inner = radius - edges[:-1], radius - edges[1:]
    ring_area = math.pi * (outer**2 - inner**2)
    ring_volume = ring_area * (z1 - z0)
    return RadialProfile(
        wall_distance=np.column_stack([edges[:-1], edges[1:]]),
        porosity=np.bincount(ring, volume, count) / ring_volume,
        velocity=np.bincount(ring, flux, count) / ring_volume,
        area_share=ring_area / (math.pi * radius**2),
    )

