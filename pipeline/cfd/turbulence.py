"""The RANS k-omega SST model (``cfd.regime = rans_komega_sst``): fields, schemes and solver settings.

Inlet turbulence: intensity ``INTENSITY`` of the inlet velocity, k = 1.5 (I U)²,
and a mixing length of ``LENGTH_SCALE`` particle diameters, ω = √k / (C_μ^¼ ℓ).
Walls (tube and particles) use the standard wall functions (kqRWallFunction,
omegaWallFunction, nutkWallFunction), which switch to their low-Re forms where
y⁺ is small — as it is between particles.
"""

from __future__ import annotations

import math
from typing import Any

from ..openfoam import Raw, words

INTENSITY = 0.05
LENGTH_SCALE = 0.1
C_MU = 0.09
TURBULENT_ENERGY = "[0 2 -2 0 0 0 0]"
DISSIPATION_RATE = "[0 0 -1 0 0 0 0]"
KINEMATIC_VISCOSITY = "[0 2 -1 0 0 0 0]"


def inlet_turbulence(velocity: float, particle_diameter: float) -> tuple[float, float]:
    """(k, ω) at the inlet."""
    k = 1.5 * (INTENSITY * velocity) ** 2
    omega = math.sqrt(k) / (C_MU**0.25 * LENGTH_SCALE * particle_diameter)
    return k, omega


def rans_fields(velocity: float, particle_diameter: float, walls: tuple[str, ...]) -> dict[str, tuple[str, dict[str, Any]]]:
    """``0/k``, ``0/omega``, ``0/nut`` for the inlet/outlet/walls of a case."""
    k, omega = inlet_turbulence(velocity, particle_diameter)

    def field(dimensions: str, value: float, wall: str, inlet: dict[str, Any]) -> dict[str, Any]:
        uniform = words("uniform", value)
        return {
            "dimensions": Raw(dimensions),
            "internalField": uniform,
            "boundaryField": {
                "inlet": inlet,
                "outlet": {"type": "inletOutlet", "inletValue": uniform, "value": uniform}
                if inlet["type"] == "fixedValue" else {"type": "calculated", "value": uniform},
                **{name: {"type": wall, "value": uniform} for name in walls},
            },
        }

    return {
        "k": ("volScalarField", field(TURBULENT_ENERGY, k, "kqRWallFunction",
                                      {"type": "fixedValue", "value": words("uniform", k)})),
        "omega": ("volScalarField", field(DISSIPATION_RATE, omega, "omegaWallFunction",
                                          {"type": "fixedValue", "value": words("uniform", omega)})),
        "nut": ("volScalarField", field(KINEMATIC_VISCOSITY, 0.0, "nutkWallFunction",
                                        {"type": "calculated", "value": words("uniform", 0.0)})),
    }


TURBULENCE_PROPERTIES = {
    "simulationType": "RAS",
    "RAS": {"RASModel": "kOmegaSST", "turbulence": True, "printCoeffs": True},
}


def rans_schemes(schemes: dict[str, Any]) -> dict[str, Any]:
    """``fvSchemes`` with the k and ω transport terms and the wall distance."""
    div = {**schemes["divSchemes"], "div(phi,k)": words("bounded", "Gauss", "upwind"),
           "div(phi,omega)": words("bounded", "Gauss", "upwind")}
    return {**schemes, "divSchemes": div, "wallDist": {"method": "meshWave"}}


def rans_solution(solution: dict[str, Any], convergence: float) -> dict[str, Any]:
    """``fvSolution`` with solvers, residual control and relaxation for k and ω."""
    tolerance = convergence * 1e-2
    solvers = {**solution["solvers"],
               '"(k|omega)"': {"solver": "smoothSolver", "smoother": "symGaussSeidel", "tolerance": tolerance,
                               "relTol": 0.1}}
    simple = {**solution["SIMPLE"],
              "residualControl": {**solution["SIMPLE"]["residualControl"], '"(k|omega)"': convergence}}
    relaxation = {"equations": {**solution["relaxationFactors"]["equations"], '"(k|omega)"': 0.7}}
    return {**solution, "solvers": solvers, "SIMPLE": simple, "relaxationFactors": relaxation}
