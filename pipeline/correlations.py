"""Textbook correlations for packed beds, each with its source and validity range.

Mean porosity against the tube-to-particle diameter ratio ``D/d`` (Benyahia &
O'Neill, Dixon), and the pressure gradient of flow through a bed (Ergun,
Eisfeld & Schnitzlein with its wall correction, Carman, KTA; Hagen–Poiseuille for
an empty tube). All SI.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable


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


# -- pressure drop -------------------------------------------------------------------------------
# All return the pressure gradient dp/dz (Pa/m) of a bed of porosity ``porosity`` and particle
# diameter ``d`` (m; for non-spheres the volume-equivalent sphere diameter) at superficial velocity
# ``u`` (m/s), with fluid density ``rho`` (kg/m3) and dynamic viscosity ``mu`` (Pa.s).


def particle_reynolds(d: float, u: float, rho: float, mu: float) -> float:
    """Re_p = rho u d / mu, with u the superficial velocity."""
    return rho * u * d / mu


def ergun(d: float, porosity: float, u: float, rho: float, mu: float) -> float:
    """Ergun (1952): dp/dz = 150 mu (1-ε)² u / (ε³ d²) + 1.75 rho (1-ε) u² / (ε³ d).

    Ergun, S. (1952), "Fluid flow through packed columns", Chem. Eng. Prog. 48, 89–94.
    Unbounded beds (no wall correction); widely used for 1 < Re_p/(1-ε) < 2000.
    """
    e3 = porosity**3
    return 150.0 * mu * (1 - porosity) ** 2 * u / (e3 * d * d) + 1.75 * rho * (1 - porosity) * u * u / (e3 * d)


def eisfeld_schnitzlein(d: float, porosity: float, u: float, rho: float, mu: float, tube_diameter: float,
                        k_1: float = 154.0, k1: float = 1.15, k2: float = 0.87,
                        wall_factor: float | None = None) -> float:
    """Eisfeld & Schnitzlein (2001): Reichelt's wall-corrected Ergun form, refitted on 2300 data points.

    ψ = K1 A_w² (1-ε)² / (Re_p ε³) + A_w (1-ε) / (B_w ε³),  dp/dz = ψ rho u² / d,
    A_w = 1 + 2 / (3 (D/d) (1-ε)),  B_w = (k1 (d/D)² + k2)².

    Eisfeld, B. & Schnitzlein, K. (2001), "The influence of confining walls on the pressure drop in
    packed beds", Chem. Eng. Sci. 56, 4321–4329. Spheres: K1 = 154, k1 = 1.15, k2 = 0.87 (the defaults);
    fitted for 0.01 < Re_p < 17 635 and 1.624 < D/d < 250. ``wall_factor`` replaces Reichelt's A_w (e.g. by
    1 / (1 - the wall's share of the drag) a CFD measures: :attr:`pipeline.results.RunResult.wall_share`).
    """
    re_p = particle_reynolds(d, u, rho, mu)
    a_w = reichelt_wall_factor(tube_diameter / d, porosity) if wall_factor is None else wall_factor
    b_w = (k1 * (d / tube_diameter) ** 2 + k2) ** 2
    e3 = porosity**3
    psi = k_1 * a_w**2 * (1 - porosity) ** 2 / (re_p * e3) + a_w * (1 - porosity) / (b_w * e3)
    return psi * rho * u * u / d


def reichelt_wall_factor(aspect_ratio: float, porosity: float) -> float:
    """Reichelt's (1972) wall factor A_w = 1 + 2 / (3 (D/d) (1-ε)) = 1 + S_w / S_p: the tube wall's surface S_w
    added to the particles' S_p in the hydraulic radius (Eisfeld & Schnitzlein 2001 use it squared in the
    viscous term)."""
    return 1.0 + 2.0 / (3.0 * aspect_ratio * (1.0 - porosity))


def reichelt_wall_share(aspect_ratio: float, porosity: float) -> float:
    """The share of the wetted surface that is the tube wall's, S_w / (S_w + S_p) = 1 - 1/A_w: the share of the
    drag the wall takes if, as Reichelt's model assumes, every surface carries the same drag per area."""
    return 1.0 - 1.0 / reichelt_wall_factor(aspect_ratio, porosity)


def carman(d: float, porosity: float, u: float, rho: float, mu: float) -> float:
    """Carman (1937): f = 180/Re' + 2.871/Re'^0.1, Re' = Re_p/(1-ε), dp/dz = f (1-ε) rho u² / (ε³ d).

    Carman, P. C. (1937), "Fluid flow through granular beds", Trans. Inst. Chem. Eng. 15, 150–166, with
    the coefficient as given by Erdim, Akgiray & Demir (2015), Powder Technol. 283, 488–504.
    For 0.1 < Re' < 60 000.
    """
    re_m = particle_reynolds(d, u, rho, mu) / (1.0 - porosity)
    f = 180.0 / re_m + 2.871 / re_m**0.1
    return f * (1.0 - porosity) * rho * u * u / (porosity**3 * d)


def kta(d: float, porosity: float, u: float, rho: float, mu: float) -> float:
    """KTA (1981): f = 160/Re' + 3/Re'^0.1, Re' = Re_p/(1-ε), dp/dz = f (1-ε) rho u² / (ε³ d).

    Kerntechnischer Ausschuss, KTA 3102.3 (1981), pebble-bed reactor cores: spheres,
    1 < Re' < 10⁵, 0.36 < ε < 0.42, D/d > 20 (no wall effect).
    """
    re_m = particle_reynolds(d, u, rho, mu) / (1.0 - porosity)
    f = 160.0 / re_m + 3.0 / re_m**0.1
    return f * (1.0 - porosity) * rho * u * u / (porosity**3 * d)


def beetstra(d: float, porosity: float, u: float, rho: float, mu: float) -> float:
    """Beetstra, van der Hoef & Kuipers (2007): the drag of lattice-Boltzmann simulations of random arrays of
    equal spheres, an unbounded bed without walls or contacts treated (u > 0; arrays of u work too).

    F = 10φ/(1-φ)² + (1-φ)²(1 + 1.5√φ) + 0.413 Re / (24 (1-φ)²) · (1/(1-φ) + 3φ(1-φ) + 8.4 Re^-0.343)
        / (1 + 10^(3φ) Re^-(1+4φ)/2),   φ = 1 - ε,  Re = rho u d / mu (u superficial),
    dp/dz = 18 mu u φ F / ((1-φ) d²)  (F is the drag per sphere over Stokes' 3π mu d u; its creeping term
    10φ/(1-φ)² is Carman–Kozeny's 180).

    Beetstra, R., van der Hoef, M. A. & Kuipers, J. A. M. (2007), "Drag force of intermediate Reynolds number
    flow past mono- and bidisperse arrays of spheres", AIChE J. 53, 489–501; creeping limit from van der Hoef,
    Beetstra & Kuipers (2005), J. Fluid Mech. 528, 233–254. For 0.1 < φ < 0.6, Re < 1000.
    """
    phi = 1.0 - porosity
    re = particle_reynolds(d, u, rho, mu)
    f = (10.0 * phi / porosity**2 + porosity**2 * (1.0 + 1.5 * math.sqrt(phi))
         + 0.413 * re / (24.0 * porosity**2)
         * (1.0 / porosity + 3.0 * phi * porosity + 8.4 * re**-0.343)
         / (1.0 + 10.0 ** (3.0 * phi) * re ** (-(1.0 + 4.0 * phi) / 2.0)))
    return 18.0 * mu * u * phi * f / (porosity * d * d)


#: Every pressure-drop correlation by key, with the name tables, charts and reports show.
PRESSURE_DROP_NAMES = {"ergun": "Ergun", "eisfeld_schnitzlein": "Eisfeld–Schnitzlein", "kta": "KTA",
                       "carman": "Carman", "beetstra": "Beetstra (DNS)"}


def pressure_gradients(d: float, porosity: float, u: float, rho: float, mu: float,
                       tube_diameter: float) -> dict[str, float]:
    """dp/dz (Pa/m) from every pressure-drop correlation, by key (:data:`PRESSURE_DROP_NAMES`)."""
    return {
        "ergun": ergun(d, porosity, u, rho, mu),
        "eisfeld_schnitzlein": eisfeld_schnitzlein(d, porosity, u, rho, mu, tube_diameter),
        "carman": carman(d, porosity, u, rho, mu),
        "kta": kta(d, porosity, u, rho, mu),
        "beetstra": beetstra(d, porosity, u, rho, mu),
    }


def friction_factor(dp_dz: Any, d: float, porosity: float, u: Any, rho: float) -> Any:
    """Ergun's friction factor f = (Δp/L) d ε³ / (ρ u² (1 − ε)); with it Ergun reads f = 150 (1 − ε)/Reₚ + 1.75,
    so beds of one porosity fall on one curve whatever the fluid and velocity. Works on arrays."""
    return dp_dz * d * porosity**3 / (rho * u * u * (1.0 - porosity))


def hagen_poiseuille(diameter: float, u: float, mu: float) -> float:
    """Fully developed laminar pipe flow: dp/dz = 32 mu u / D² (Re_D < 2300)."""
    return 32.0 * mu * u / diameter**2
