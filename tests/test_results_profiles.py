"""Plane averages and gradient fits on meshes with known fields."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pyvista as pv

from pipeline.results import ResultsError, fit_gradient, plane_profile

R = 0.008


def cylinder_mesh(hole: float = 0.0) -> pv.UnstructuredGrid:
    """A voxel cylinder of radius R along z (0..40 mm), minus a square 'particle' column of half-width ``hole``."""
    grid = pv.ImageData(dimensions=(41, 41, 41), spacing=(0.0005, 0.0005, 0.001), origin=(-0.01, -0.01, 0.0))
    grid = grid.cast_to_unstructured_grid()
    centres = grid.cell_centers().points
    fluid = np.hypot(centres[:, 0], centres[:, 1]) < R
    if hole:
        fluid &= ~((np.abs(centres[:, 0]) < hole) & (np.abs(centres[:, 1]) < hole) & (centres[:, 2] > 0.01))
    mesh = grid.extract_cells(np.flatnonzero(fluid))
    mesh.cell_data["p"] = 5.0 - 100.0 * mesh.cell_centers().points[:, 2]
    return mesh


def test_plane_means_and_linear_fit_recover_the_gradient():
    mesh = cylinder_mesh()
    z = np.arange(0.0025, 0.04, 0.001)  # cell centres: the cell field is exact there
    profile = plane_profile(mesh, "p", z, math.pi * R**2)
    np.testing.assert_allclose(profile.mean, 5.0 - 100.0 * z, rtol=1e-10)
    fit = fit_gradient(profile, (0.005, 0.035))
    assert fit.slope == pytest.approx(-100.0)
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.planes == 30


def test_areal_porosity_sees_the_solid():
    mesh = cylinder_mesh(hole=0.002)
    profile = plane_profile(mesh, "p", np.array([0.0055, 0.0205]), math.pi * R**2)
    voxel_disc = profile.fluid_area[0]
    assert voxel_disc == pytest.approx(math.pi * R**2, rel=0.03)  # the voxel disc approximates the tube
    assert profile.fluid_area[1] == pytest.approx(voxel_disc - 0.004**2, rel=1e-9)
    assert profile.areal_porosity[1] < profile.areal_porosity[0]


def test_errors_outside_the_mesh_and_with_too_few_planes():
    mesh = cylinder_mesh()
    with pytest.raises(ResultsError, match="no fluid on the plane"):
        plane_profile(mesh, "p", np.array([0.05]), math.pi * R**2)
    profile = plane_profile(mesh, "p", np.array([0.01, 0.02]), math.pi * R**2)
    with pytest.raises(ResultsError, match="need 3"):
        fit_gradient(profile, (0.0, 0.04))


def test_comparison_labels_geometries_and_ratios():
    from pipeline.correlations import ergun
    from pipeline.results import BedGeometry, as_meshed, compare

    nominal = BedGeometry(particle_diameter=0.005, porosity=0.428, tube_diameter=0.025)
    meshed = as_meshed(nominal, contact_gap=0.02, meshed_porosity=0.461)
    assert meshed.particle_diameter == pytest.approx(0.0049) and meshed.porosity == 0.461
    u, rho, mu = 0.001, 998.2, 1.002e-3
    reference = ergun(0.0049, 0.461, u, rho, mu)
    solved = compare(reference * 1.1, meshed, u, rho, mu, "as meshed")
    assert solved.ratios["ergun"] == pytest.approx(1.1)
    assert set(solved.ratios) == {"ergun", "eisfeld_schnitzlein", "carman", "kta", "beetstra"}
    nominal_cmp = compare(reference * 1.1, nominal, u, rho, mu, "nominal")
    # the shrink (2 % of d, porosity 0.428 -> 0.461) moves the Ergun reference by about a third
    assert nominal_cmp.correlations["ergun"] / reference == pytest.approx(1.35, abs=0.05)
    assert solved.to_dict()["label"] == "as meshed"


def test_fluid_volume_fraction_cuts_cells_at_the_window_planes():
    """A column of half-width 2 mm removed above z = 10 mm: between z = 12.3 and 31.7 mm (planes inside
    cells, so cells must be cut) the fluid is the voxel disc minus the column, exactly."""
    from pipeline.results.profiles import fluid_volume_fraction

    mesh = cylinder_mesh(hole=0.002)
    disc = float(mesh.slice(normal="z", origin=(0, 0, 0.005)).area)  # the voxel disc's area
    fraction = fluid_volume_fraction(mesh, 0.0123, 0.0317, disc)
    assert fraction == pytest.approx(1.0 - 0.004**2 / disc, rel=1e-9)
    assert fluid_volume_fraction(mesh, 0.0023, 0.0087, disc) == pytest.approx(1.0, rel=1e-9)
    with pytest.raises(ResultsError):
        fluid_volume_fraction(mesh, 0.05, 0.06, disc)


def test_fluid_volume_fraction_sums_a_given_cell_volume_field_cut_cells_by_their_share():
    """With a cell field V (OpenFOAM's volumes) the fraction sums V, cut cells by the share inside the window:
    V twice the geometric volume doubles it exactly, planes inside cells included."""
    from pipeline.results.profiles import fluid_volume_fraction

    mesh = cylinder_mesh(hole=0.002)
    disc = float(mesh.slice(normal="z", origin=(0, 0, 0.005)).area)
    geometric = fluid_volume_fraction(mesh, 0.0123, 0.0317, disc)
    mesh.cell_data["V"] = 2 * mesh.compute_cell_sizes(length=False, area=False, volume=True).cell_data["Volume"]
    assert fluid_volume_fraction(mesh, 0.0123, 0.0317, disc) == pytest.approx(2 * geometric, rel=1e-9)


def test_the_fit_reports_its_uncertainty():
    rng = np.random.default_rng(1)
    mesh = cylinder_mesh()
    z = np.arange(0.0025, 0.04, 0.001)
    exact = plane_profile(mesh, "p", z, math.pi * R**2)
    assert fit_gradient(exact, (0.005, 0.035)).slope_uncertainty == pytest.approx(0.0, abs=1e-6)
    noisy = type(exact)(exact.z, exact.fluid_area, exact.mean + rng.normal(0, 0.01, len(z)), exact.tube_area)
    fit = fit_gradient(noisy, (0.005, 0.035))
    assert 0.1 < fit.slope_uncertainty < 2.0 and abs(fit.slope + 100.0) < fit.slope_uncertainty * 2
