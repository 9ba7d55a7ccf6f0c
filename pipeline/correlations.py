"""Textbook correlations for packed beds, each with its source and validity range.

Porosity against the tube-to-particle diameter ratio ``D/d``. (Pressure-drop
correlations join with the CFD stage.)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable


class OutOfRangeWarning(UserWarning):
    """A correlation was evaluated outside the range it was fitted on."""


@dataclass(frozen=True)
class Correlation:
    """A named formula with its reference and the range of its argument."""

    name: str
    source: str
    valid: tuple[float, float]
    formula: Callable[[float], float]

    def __call__(self, x: float) -> float:
        low, high = self.valid
        if not low <= x <= high:
            warnings.warn(f"{self.name}: {x:g} is outside the fitted range {low:g}–{high:g}", OutOfRangeWarning,
                          stacklevel=2)
        return self.formula(x)


def benyahia_oneill_spheres(aspect_ratio: float) -> float:
    """Mean porosity of a randomly packed bed of equal spheres.

    ε = 0.390 + 1.740 / (D/d + 1.140)²

    Benyahia, F. & O'Neill, K. E. (2005), "Enhanced voidage correlations for packed beds of various
    particle shapes and sizes", Particulate Science and Technology 23(2), 169–177. Fitted for
    1.5 ≤ D/d ≤ 50.
    """
    return 0.390 + 1.740 / (aspect_ratio + 1.140) ** 2


def benyahia_oneill_cylinders(aspect_ratio: float) -> float:
    """Mean porosity of a randomly packed bed of equilateral solid cylinders.

    ε = 0.373 + 1.703 / (N + 0.611)², with N = D/d_pv and d_pv the diameter of the sphere of equal volume.

    Benyahia & O'Neill (2005), as above. Fitted for 1.7 ≤ N ≤ 26.3.
    """
    return 0.373 + 1.703 / (aspect_ratio + 0.611) ** 2


def dixon_spheres(aspect_ratio: float) -> float:
    """Mean porosity of a bed of equal spheres.

    ε = 0.4 + 0.05 (d/D) + 0.412 (d/D)²

    Dixon, A. G. (1988), "Correlations for wall and particle shape effects on fixed bed bulk voidage",
    Canadian Journal of Chemical Engineering 66(5), 705–708. For d/D ≤ 0.5 (D/d ≥ 2).
    """
    ratio = 1.0 / aspect_ratio
    return 0.4 + 0.05 * ratio + 0.412 * ratio**2


BENYAHIA_ONEILL_SPHERES = Correlation(
    "Benyahia–O'Neill 2005 (spheres)", "Part. Sci. Technol. 23 (2005) 169–177", (1.5, 50.0), benyahia_oneill_spheres
)
BENYAHIA_ONEILL_CYLINDERS = Correlation(
    "Benyahia–O'Neill 2005 (cylinders)", "Part. Sci. Technol. 23 (2005) 169–177", (1.7, 26.3),
    benyahia_oneill_cylinders,
)
DIXON_SPHERES = Correlation("Dixon 1988 (spheres)", "Can. J. Chem. Eng. 66 (1988) 705–708", (2.0, 1e9), dixon_spheres)


def porosity_correlation(kind: str) -> Correlation:
    """The mean-porosity correlation for a particle kind (cubes use the sphere fit, the closest available)."""
    return BENYAHIA_ONEILL_CYLINDERS if kind == "cylinder" else BENYAHIA_ONEILL_SPHERES


def expected_porosity(kind: str, aspect_ratio: float) -> float:
    """Mean porosity a correlation predicts for ``kind`` particles at ``D/d`` (no range warning)."""
    return porosity_correlation(kind).formula(aspect_ratio)
