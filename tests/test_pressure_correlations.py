"""Pressure-drop correlations, checked against an independent implementation (``fluids``) and limits."""

from __future__ import annotations

import fluids.packed_bed as reference
import pytest

from pipeline.correlations import (
    carman,
    eisfeld_schnitzlein,
    ergun,
    hagen_poiseuille,
    kta,
    particle_reynolds,
    pressure_gradients,
)

CASES = [  # d, porosity, u, rho, mu
    (0.005, 0.40, 0.001, 998.2, 1.002e-3),  # creeping water, Re_p ~ 5
    (0.005, 0.38, 0.05, 998.2, 1.002e-3),  # Re_p ~ 250
    (0.003, 0.45, 1.0, 1.2, 1.8e-5),  # air, Re_p ~ 200
]


@pytest.mark.parametrize("d, eps, u, rho, mu", CASES)
@pytest.mark.parametrize("ours, theirs", [(ergun, reference.Ergun), (carman, reference.Carman), (kta, reference.KTA)])
def test_agrees_with_fluids(ours, theirs, d, eps, u, rho, mu):
    assert ours(d, eps, u, rho, mu) == pytest.approx(theirs(dp=d, voidage=eps, vs=u, rho=rho, mu=mu, L=1.0), rel=1e-10)


def test_eisfeld_schnitzlein_by_hand():
    d, eps, u, rho, mu, tube = 0.005, 0.4, 0.002, 1000.0, 1e-3, 0.025  # Re_p = 10, D/d = 5
    a_w = 1 + 2 / (3 * 5 * 0.6)
    b_w = (1.15 / 25 + 0.87) ** 2
    psi = 154 * a_w**2 * 0.36 / (10 * 0.064) + a_w * 0.6 / (b_w * 0.064)
    assert eisfeld_schnitzlein(d, eps, u, rho, mu, tube) == pytest.approx(psi * rho * u * u / d, rel=1e-12)


def test_eisfeld_schnitzlein_wall_effect_and_limits():
    d, eps, rho, mu = 0.005, 0.4, 1000.0, 1e-3
    creeping = 1e-6
    wide = eisfeld_schnitzlein(d, eps, creeping, rho, mu, tube_diameter=1e3)
    assert wide == pytest.approx(ergun(d, eps, creeping, rho, mu) * 154 / 150, rel=1e-4)  # A_w -> 1
    # Viscous regime: the walls add area (A_w > 1), so the narrow tube has the higher gradient.
    assert eisfeld_schnitzlein(d, eps, creeping, rho, mu, 0.025) > wide
    # Inertial regime in a very narrow tube (D/d = 2): wall channelling (B_w) wins over the added wall
    # area, and the gradient falls below the unbounded bed's.
    fast = 1.0
    assert eisfeld_schnitzlein(d, eps, fast, rho, mu, 0.01) < eisfeld_schnitzlein(d, eps, fast, rho, mu, 1e3)


def test_all_correlations_by_name_and_reynolds():
    grads = pressure_gradients(0.005, 0.4, 0.001, 998.2, 1.002e-3, 0.025)
    assert set(grads) == {"ergun", "eisfeld_schnitzlein", "carman", "kta", "beetstra"}
    assert all(g > 0 for g in grads.values())
    assert particle_reynolds(0.005, 0.001, 998.2, 1.002e-3) == pytest.approx(4.981, rel=1e-3)
    assert hagen_poiseuille(0.01, 0.01, 1e-3) == pytest.approx(3.2)


def test_the_dns_law_is_carman_kozeny_in_creeping_flow_stokes_when_dilute_and_grows_with_inertia():
    from pipeline.correlations import beetstra

    d, rho, mu, creeping = 0.005, 1000.0, 1e-3, 1e-8
    # dense: F ~ 10 φ/(1-φ)², Carman–Kozeny's 180 (+ the small second term), ~1.2x Ergun's 150 at ε = 0.42
    dense = beetstra(d, 0.42, creeping, rho, mu)
    kozeny = 180 * mu * creeping * 0.58**2 / (0.42**3 * d * d)
    assert dense == pytest.approx(kozeny * (1 + 0.42**2 * (1 + 1.5 * 0.58**0.5) / (10 * 0.58 / 0.42**2)), rel=1e-9)
    assert dense / ergun(d, 0.42, creeping, rho, mu) == pytest.approx(1.22, abs=0.01)
    # dilute: one sphere's Stokes drag per sphere, n 3π mu d u = 18 φ mu u / d²
    phi = 1e-6
    assert beetstra(d, 1 - phi, creeping, rho, mu) == pytest.approx(18 * phi * mu * creeping / d**2, rel=1e-3)
    # inertia adds drag: at Re_p = 20 the gradient per unit velocity is higher than in creeping flow
    u20 = 20 * mu / (rho * d)
    assert beetstra(d, 0.42, u20, rho, mu) / u20 > 1.05 * dense / creeping


def test_reichelts_wall_share_is_the_walls_part_of_the_wetted_surface():
    from pipeline.correlations import reichelt_wall_factor, reichelt_wall_share

    aspect, eps = 5.0, 0.45
    wall_area, particle_area = 4.0 / (aspect * 1.0), 6.0 * (1 - eps) / 1.0  # per bed volume, d = 1
    assert reichelt_wall_factor(aspect, eps) == pytest.approx(1 + wall_area / particle_area, rel=1e-12)
    assert reichelt_wall_share(aspect, eps) == pytest.approx(wall_area / (wall_area + particle_area), rel=1e-12)
    assert reichelt_wall_share(1e9, eps) == pytest.approx(0.0, abs=1e-8)


def test_eisfeld_schnitzlein_takes_a_measured_wall_factor():
    from pipeline.correlations import reichelt_wall_factor

    d, eps, u, rho, mu, tube = 0.005, 0.44, 2e-4, 1000.0, 1e-3, 0.025
    reichelt = reichelt_wall_factor(tube / d, eps)
    assert eisfeld_schnitzlein(d, eps, u, rho, mu, tube, wall_factor=reichelt) == eisfeld_schnitzlein(d, eps, u, rho, mu, tube)
    # no wall surface at all: the unbounded bed's viscous term, 154 against Ergun's 150
    bare = eisfeld_schnitzlein(d, eps, 1e-9, rho, mu, tube, wall_factor=1.0)
    assert bare == pytest.approx(ergun(d, eps, 1e-9, rho, mu) * 154 / 150, rel=1e-6)
