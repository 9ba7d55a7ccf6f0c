"""CFD pressure gradients next to the textbook correlations, for the solved and the nominal geometry.

The correlations are evaluated twice, separately labelled: for the geometry that
was actually solved (particles shrunk by the contact gap: smaller diameter,
higher porosity) and for the nominal one. The shrink alone moves the Ergun
reference by tens of percent, more than any other uncertainty, so comparing
the CFD with the nominal-geometry value would be comparing different beds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..correlations import pressure_gradients


@dataclass(frozen=True)
class BedGeometry:
    """The numbers a correlation needs about a bed (SI)."""

    particle_diameter: float
    porosity: float
    tube_diameter: float


@dataclass(frozen=True)
class Comparison:
    """dp/dz from CFD and from each correlation, with the ratios CFD / correlation."""

    label: str
    geometry: BedGeometry
    correlations: dict[str, float]
    ratios: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Comparison":
        """A comparison from :meth:`to_dict`'s output (a stored result)."""
        return cls(str(data.get("label", "")), BedGeometry(**data["geometry"]), dict(data["correlations"]),
                   dict(data["ratios"]))


def compare(dp_dz: float, geometry: BedGeometry, velocity: float, density: float, viscosity: float,
            label: str) -> Comparison:
    """Compare a CFD pressure gradient ``dp_dz`` (Pa/m, positive for a drop) with every correlation."""
    values = pressure_gradients(geometry.particle_diameter, geometry.porosity, velocity, density, viscosity,
                                geometry.tube_diameter)
    return Comparison(label, geometry, values, {name: dp_dz / value for name, value in values.items()})


def as_meshed(nominal: BedGeometry, contact_gap: float, meshed_porosity: float) -> BedGeometry:
    """The solved geometry: particles shrunk by ``contact_gap`` × d, with the porosity they leave."""
    return BedGeometry(nominal.particle_diameter * (1.0 - contact_gap), meshed_porosity, nominal.tube_diameter)
