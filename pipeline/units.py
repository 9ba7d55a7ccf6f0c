"""Physical units for the bed specification.

Every dimensional quantity in a :class:`~pipeline.spec.BedSpec` is stored in SI.
The `.bed` language lets a user write ``5 mm`` or ``1.8e-5 Pa.s``; this module
turns such a unit spelling into a factor to SI and checks its dimension.

Dimensions are exponent triples ``(length, mass, time)``, enough for every
quantity of a packed-bed flow problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

Dimension = tuple[int, int, int]

DIMENSIONLESS: Final[Dimension] = (0, 0, 0)
LENGTH: Final[Dimension] = (1, 0, 0)
MASS: Final[Dimension] = (0, 1, 0)
TIME: Final[Dimension] = (0, 0, 1)
VELOCITY: Final[Dimension] = (1, 0, -1)
ACCELERATION: Final[Dimension] = (1, 0, -2)
DENSITY: Final[Dimension] = (-3, 1, 0)
PRESSURE: Final[Dimension] = (-1, 1, -2)
FORCE: Final[Dimension] = (1, 1, -2)
DYNAMIC_VISCOSITY: Final[Dimension] = (-1, 1, -1)
PRESSURE_GRADIENT: Final[Dimension] = (-2, 1, -2)

DIMENSION_NAMES: Final[dict[Dimension, str]] = {
    DIMENSIONLESS: "dimensionless",
    LENGTH: "length",
    MASS: "mass",
    TIME: "time",
    VELOCITY: "velocity",
    ACCELERATION: "acceleration",
    DENSITY: "density",
    PRESSURE: "pressure",
    FORCE: "force",
    DYNAMIC_VISCOSITY: "dynamic viscosity",
    PRESSURE_GRADIENT: "pressure gradient",
}


@dataclass(frozen=True)
class Unit:
    """A unit spelling: its SI factor and its dimension."""

    symbol: str
    factor: float
    dimension: Dimension

    def to_si(self, value: float) -> float:
        """Convert ``value`` given in this unit to SI."""
        return value * self.factor


def _table() -> dict[str, Unit]:
    entries: list[tuple[tuple[str, ...], float, Dimension]] = [
        (("m",), 1.0, LENGTH),
        (("cm",), 1e-2, LENGTH),
        (("mm",), 1e-3, LENGTH),
        (("um", "µm", "micron"), 1e-6, LENGTH),
        (("kg",), 1.0, MASS),
        (("g",), 1e-3, MASS),
        (("s", "sec"), 1.0, TIME),
        (("ms",), 1e-3, TIME),
        (("min",), 60.0, TIME),
        (("m/s",), 1.0, VELOCITY),
        (("cm/s",), 1e-2, VELOCITY),
        (("mm/s",), 1e-3, VELOCITY),
        (("m/s2", "m/s^2", "m/s**2", "m.s-2"), 1.0, ACCELERATION),
        (("kg/m3", "kg/m^3", "kg/m**3", "kg.m-3"), 1.0, DENSITY),
        (("g/cm3", "g/cm^3", "g/cm**3"), 1e3, DENSITY),
        (("g/l", "g/L"), 1.0, DENSITY),
        (("Pa",), 1.0, PRESSURE),
        (("kPa",), 1e3, PRESSURE),
        (("MPa",), 1e6, PRESSURE),
        (("bar",), 1e5, PRESSURE),
        (("N",), 1.0, FORCE),
        (("Pa.s", "Pa*s", "Pa·s", "Pas", "kg/(m.s)", "kg/m/s"), 1.0, DYNAMIC_VISCOSITY),
        (("mPa.s", "mPa*s", "mPa·s", "cP", "cp"), 1e-3, DYNAMIC_VISCOSITY),
        (("P",), 0.1, DYNAMIC_VISCOSITY),
        (("Pa/m",), 1.0, PRESSURE_GRADIENT),
        (("kPa/m",), 1e3, PRESSURE_GRADIENT),
    ]
    table: dict[str, Unit] = {}
    for spellings, factor, dimension in entries:
        for spelling in spellings:
            table[spelling] = Unit(spellings[0], factor, dimension)
    return table


UNITS: Final[dict[str, Unit]] = _table()

#: The canonical SI symbol written for each dimension.
SI_SYMBOL: Final[dict[Dimension, str]] = {
    LENGTH: "m",
    MASS: "kg",
    TIME: "s",
    VELOCITY: "m/s",
    ACCELERATION: "m/s2",
    DENSITY: "kg/m3",
    PRESSURE: "Pa",
    FORCE: "N",
    DYNAMIC_VISCOSITY: "Pa.s",
    PRESSURE_GRADIENT: "Pa/m",
}


def lookup(spelling: str) -> Unit | None:
    """Return the :class:`Unit` for a spelling, or ``None`` if it is unknown."""
    return UNITS.get(spelling)


def dimension_of(si_symbol: str | None) -> Dimension:
    """Dimension of a canonical SI symbol (``None`` means dimensionless)."""
    if si_symbol is None:
        return DIMENSIONLESS
    unit = UNITS.get(si_symbol)
    if unit is None or unit.factor != 1.0:
        raise KeyError(f"{si_symbol!r} is not a canonical SI unit")
    return unit.dimension


def spellings_for(dimension: Dimension) -> list[str]:
    """Known spellings of a dimension, canonical symbols first, for error hints."""
    canonical = sorted({u.symbol for u in UNITS.values() if u.dimension == dimension})
    si = SI_SYMBOL.get(dimension)
    if si in canonical:
        canonical.remove(si)
        canonical.insert(0, si)
    return canonical
