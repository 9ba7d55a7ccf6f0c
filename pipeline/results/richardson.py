"""Richardson extrapolation of a quantity computed on three meshes (Roache's grid-convergence study)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .profiles import ResultsError


@dataclass(frozen=True)
class Extrapolation:
    """The observed order of convergence, the extrapolated value and the fine-grid error estimate."""

    order: float
    value: float
    relative_error_fine: float  # |f1 - f_exact| / |f_exact| estimated
    gci_fine: float  # grid convergence index of the finest mesh (safety factor 1.25)
    monotonic: bool


def richardson(sizes: tuple[float, float, float], values: tuple[float, float, float]) -> Extrapolation:
    """Extrapolate ``values`` computed with cell sizes ``sizes`` (any order; three different sizes).

    Solves f_i = f_exact + C h_i^p for the observed order p (fixed-point iteration
    for non-constant refinement ratios, Celik et al. 2008, J. Fluids Eng. 130, 078001)
    and returns f_exact. Oscillatory convergence (the differences change sign) has
    no Richardson limit: the finest value is returned with an uncertainty of half
    the oscillation's range (× 1.25, Roache), the order as NaN, ``monotonic`` False.
    """
    pairs = sorted(zip(sizes, values))
    (h1, f1), (h2, f2), (h3, f3) = pairs
    if not (0 < h1 < h2 < h3):
        raise ResultsError(f"need three different positive cell sizes, got {sizes}")
    r21, r32 = h2 / h1, h3 / h2
    e21, e32 = f2 - f1, f3 - f2
    if e21 == 0 or e32 == 0:
        return Extrapolation(math.inf, f1, 0.0, 0.0, True)
    if e21 * e32 < 0:
        spread = 0.5 * (max(f1, f2, f3) - min(f1, f2, f3))
        relative = spread / abs(f1) if f1 else 0.0
        return Extrapolation(math.nan, f1, relative, 1.25 * relative, False)
    order = abs(math.log(abs(e32 / e21))) / math.log(r21)
    for _ in range(100):
        q = math.log((r21**order - 1.0) / (r32**order - 1.0)) if order > 0 else 0.0
        new = abs(math.log(abs(e32 / e21)) + q) / math.log(r21)
        if abs(new - order) < 1e-12:
            break
        order = new
    value = (r21**order * f1 - f2) / (r21**order - 1.0)
    relative = abs((f1 - value) / value) if value else 0.0
    gci = 1.25 * abs(e21 / f1) / (r21**order - 1.0) if f1 else 0.0
    return Extrapolation(order, value, relative, gci, True)
