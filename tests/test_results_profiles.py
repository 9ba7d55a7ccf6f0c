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
    profile = plane_profile(mesh, "p", z, R)
    np.testing.assert_allclose(profile.mean, 5.0 - 100.0 * z, rtol=1e-10)
    fit = fit_gradient(profile, (0.005, 0.035))
    assert fit.slope == pytest.approx(-100.0)
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.planes == 30


def test_areal_porosity_sees_the_solid():
    mesh = cylinder_mesh(hole=0.002)
    profile = plane_profile(mesh, "p", np.array([0.0055, 0.0205]), R)
    voxel_disc = profile.fluid_area[0]
    assert voxel_disc == pytest.approx(math.pi * R**2, rel=0.03)  # the voxel disc approximates the tube
    assert profile.fluid_area[1] == pytest.approx(voxel_disc - 0.004**2, rel=1e-9)
    assert profile.areal_porosity[1] < profile.areal_porosity[0]


def test_errors_outside_the_mesh_and_with_too_few_planes():
    mesh = cylinder_mesh()
    with pytest.raises(ResultsError, match="no fluid on the plane"):
        plane_profile(mesh, "p", np.array([0.05]), R)
    profile = plane_profile(mesh, "p", np.array([0.01, 0.02]), R)
    with pytest.raises(ResultsError, match="need 3"):
        fit_gradient(profile, (0.0, 0.04))
