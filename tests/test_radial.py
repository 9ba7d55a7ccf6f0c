"""Radial rings of porosity and superficial velocity, on a synthetic mesh of a tube (the real case runs in
tests/test_bed_cfd.py)."""

from __future__ import annotations


import numpy as np
import pytest
import pyvista as pv

from pipeline.results.profiles import ResultsError
from pipeline.results.radial import radial_profile

RADIUS = 0.01


def tube(velocity, fluid=lambda r: np.ones_like(r), cells=160):
    """A box of cells whose centres lie in the tube, with V = the cell volume × fluid(r) and U_z = velocity(r)."""
    grid = pv.ImageData(dimensions=(cells + 1, cells + 1, 3), spacing=(2 * RADIUS / cells,) * 2 + (0.01,),
                        origin=(-RADIUS, -RADIUS, 0.0))
    centres = grid.cell_centers().points
    keep = np.flatnonzero(np.hypot(centres[:, 0], centres[:, 1]) < RADIUS)
    mesh = grid.extract_cells(keep)
    c = mesh.cell_centers().points
    r = np.hypot(c[:, 0], c[:, 1])
    volume = (2 * RADIUS / cells) ** 2 * 0.01
    mesh.cell_data["V"] = volume * fluid(r)
    mesh.cell_data["U"] = np.column_stack([np.zeros_like(r), np.zeros_like(r), velocity(r)])
    return mesh


def test_a_uniform_flow_fills_every_ring_evenly():
    profile = radial_profile(tube(lambda r: np.full_like(r, 2.0)), 0.0, 0.02, RADIUS, RADIUS / 8)
    assert len(profile.porosity) == 8
    np.testing.assert_allclose(profile.porosity, 1.0, rtol=0.05)
    np.testing.assert_allclose(profile.velocity, 2.0, rtol=0.05)
    assert profile.area_share.sum() == pytest.approx(1.0)
    area, flow = profile.flow_share(RADIUS / 4)
    assert area == pytest.approx(1 - (3 / 4) ** 2) and flow == pytest.approx(area, rel=0.05)


def test_flow_along_the_wall_takes_more_than_its_area():
    mesh = tube(lambda r: np.where(r > 0.75 * RADIUS, 3.0, 1.0), fluid=lambda r: np.where(r > 0.75 * RADIUS, 1.0, 0.4))
    profile = radial_profile(mesh, 0.0, 0.02, RADIUS, RADIUS / 4)
    assert profile.porosity[0] == pytest.approx(1.0, rel=0.05) and profile.porosity[-1] == pytest.approx(0.4, rel=0.05)
    # superficial velocity: U_z weighted by the fluid's volume
    assert profile.velocity[0] == pytest.approx(3.0, rel=0.05) and profile.velocity[-1] == pytest.approx(0.4, rel=0.05)
    area, flow = profile.flow_share(RADIUS / 4)
    assert flow == pytest.approx(3.0 * area / (3.0 * area + 0.4 * (1 - area)), rel=0.03) and flow > 1.9 * area
    ratios = profile.to_dict(0.002, 1.0)
    assert ratios["wall_distance_d"][0] == pytest.approx(RADIUS / 8 / 0.002)


def test_a_window_without_cells_or_volumes_is_an_error():
    mesh = tube(lambda r: np.ones_like(r))
    with pytest.raises(ResultsError, match="no cell centre"):
        radial_profile(mesh, 0.5, 0.6, RADIUS, RADIUS / 4)
    del mesh.cell_data["V"]
    with pytest.raises(ResultsError, match="cell volumes"):
        radial_profile(mesh, 0.0, 0.02, RADIUS, RADIUS / 4)
