"""Exact (or numerically exact) answers the verification cases are compared with.

* Stokes flow through a simple cubic array of spheres along a lattice axis: the dimensionless drag
  ``K = F / (6 π μ a U)`` (``U`` the superficial velocity, ``a`` the radius) of Zick & Homsy (1982,
  J. Fluid Mech. 115, 13–26, table 2) at their solid fractions, and the series of Sangani & Acrivos
  (1982, Int. J. Multiphase Flow 8, 343–360) for dilute arrays between them. The mean pressure gradient
  of the array is ``dp/dz = 18 φ μ U K / d²``.
* A sphere on the axis of a long tube in creeping flow (Haberman & Sayre 1958, David Taylor Model Basin
  report 1143): ``F = 3 π μ d U K(λ)``, ``λ = d / D``.
* Developed laminar flow in a tube (Hagen–Poiseuille): ``dp/dz = 32 μ U / D²``.
"""

from __future__ import annotations

import math

#: Zick & Homsy (1982), table 2, simple cubic array: solid fraction → K.
ZICK_HOMSY_SC: dict[float, float] = {
    0.027: 2.008, 0.064: 2.810, 0.125: 4.292, 0.216: 7.442, 0.343: 15.4, 0.45: 28.1, 0.5236: 42.1,
}
#: Up to this solid fraction the Sangani–Acrivos series is used (0.07 % from Zick & Homsy at 0.125, 0.8 % at 0.216).
SANGANI_ACRIVOS_LIMIT = 0.15
ZICK_HOMSY = "Zick & Homsy 1982, J. Fluid Mech. 115, table 2"
SANGANI_ACRIVOS = "Sangani & Acrivos 1982, Int. J. Multiphase Flow 8 (dilute series)"
HABERMAN_SAYRE = "Haberman & Sayre 1958, DTMB report 1143"
HAGEN_POISEUILLE = "Hagen–Poiseuille"


class NoReference(ValueError):
    """No exact answer is known for the asked parameter."""


def sangani_acrivos_k(solid_fraction: float) -> float:
    """K of a dilute simple cubic array (Sangani & Acrivos 1982, eq. for the simple cubic lattice)."""
    phi = solid_fraction
    chi = phi ** (1.0 / 3.0)
    inverse = 1.0 - 1.7601 * chi + phi - 1.5593 * phi**2 + 3.9799 * chi**8 - 3.0734 * chi**10
    return 1.0 / inverse


def sc_array_k(solid_fraction: float) -> tuple[float, str]:
    """``(K, source)`` of a simple cubic array at ``solid_fraction``: Zick & Homsy's value where they
    tabulate one, else the Sangani–Acrivos series up to :data:`SANGANI_ACRIVOS_LIMIT`."""
    for phi, k in ZICK_HOMSY_SC.items():
        if math.isclose(solid_fraction, phi, rel_tol=1e-9, abs_tol=1e-12):
            return k, ZICK_HOMSY
    if 0.0 < solid_fraction <= SANGANI_ACRIVOS_LIMIT:
        return sangani_acrivos_k(solid_fraction), SANGANI_ACRIVOS
    tabulated = ", ".join(f"{phi:g}" for phi in ZICK_HOMSY_SC)
    raise NoReference(f"no exact drag for a simple cubic array at solid fraction {solid_fraction:g}: use one of "
                      f"{tabulated}, or a value up to {SANGANI_ACRIVOS_LIMIT:g}")


def haberman_sayre_k(diameter_ratio: float) -> float:
    """Wall correction K of a sphere on the axis of a tube, ``λ = d / D`` in (0, 1)."""
    lam = diameter_ratio
    if not 0.0 < lam < 1.0:
        raise NoReference(f"the sphere-to-tube diameter ratio must lie in (0, 1), got {lam:g}")
    return (1.0 - 0.75857 * lam**5) / (1.0 - 2.1050 * lam + 2.0865 * lam**3 - 1.7068 * lam**5 + 0.72603 * lam**6)


def hagen_poiseuille_dp_dz(viscosity: float, velocity: float, diameter: float) -> float:
    """Developed pressure gradient (Pa/m) of laminar flow at mean ``velocity`` in a tube."""
    return 32.0 * viscosity * velocity / diameter**2
