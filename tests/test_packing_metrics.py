"""Packing metrics on hand-made packings with known answers, and the correlations."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from pipeline.correlations import (
    BENYAHIA_ONEILL_SPHERES,
    OutOfRangeWarning,
    benyahia_oneill_cylinders,
    benyahia_oneill_spheres,
    dixon_spheres,
    expected_porosity,
)
from pipeline.packing import Container, Packing
from pipeline.packing.shapes import rotation_matrices

D = 0.005
COLUMN = Container(diameter=0.02, height=0.02, wall_thickness=0.002, clearance=0.0, bottom_type="flat",
                   top_type="flat", bottom_thickness=0.002, top_thickness=0.002)


def spheres(*centres) -> Packing:
    return Packing(container=COLUMN, kind="sphere", diameter=D, length=D, centres=np.array(centres, dtype=float))


def quaternion(axis, angle) -> list[float]:
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    return [math.cos(angle / 2), *(math.sin(angle / 2) * axis)]


def test_sphere_porosity_is_exact():
    p = spheres([0, 0, 0.0025], [0.006, 0, 0.0025])
    column = math.pi * 0.01**2 * 0.005
    assert p.porosity((0.0, 0.005)) == pytest.approx(1 - 2 * math.pi / 6 * D**3 / column, rel=1e-12)
    # half of each sphere below its centre
    assert p.porosity((0.0, 0.0025)) == pytest.approx(1 - math.pi / 6 * D**3 / (math.pi * 0.01**2 * 0.0025), rel=1e-12)
    assert p.porosity((0.0, 0.005), shrink=0.1) > p.porosity((0.0, 0.005))


def test_gaps_overlaps_and_contacts():
    p = spheres([0, 0, 0.0025], [0.0049, 0, 0.0025], [0.0, 0.0075, 0.0030])
    assert p.min_gap() == pytest.approx(-0.0001)
    kinds = {(kind, i, j) for kind, i, j, _ in p.overlaps()}
    assert ("pair", 0, 1) in kinds
    assert ("wall", 2, -1) not in kinds  # 7.5 mm + 2.5 mm = the wall radius exactly
    assert p.coordination_number(tolerance=0.01) == pytest.approx(2 * 1 / 3)
    outside = spheres([0.009, 0, 0.0025], [0, 0, 0.001], [0, 0, 0.019])
    assert {kind for kind, *_ in outside.overlaps()} == {"wall", "bottom", "top"}


def test_rotation_matrices_are_rotations():
    rng = np.random.default_rng(3)
    q = rng.normal(size=(50, 4))
    r = rotation_matrices(q)
    np.testing.assert_allclose(np.einsum("nij,nkj->nik", r, r), np.broadcast_to(np.eye(3), (50, 3, 3)), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(r), 1.0)
    quarter = rotation_matrices(np.array([quaternion([0, 0, 1], math.pi / 2)]))[0]
    np.testing.assert_allclose(quarter @ [1, 0, 0], [0, 1, 0], atol=1e-12)


def test_non_sphere_porosity_by_integration():
    cube = Packing(container=COLUMN, kind="cube", diameter=D, length=D, centres=[[0, 0, 0.003]],
                   orientations=[quaternion([1, 1, 0], 0.7)])
    column = math.pi * 0.01**2 * 0.006
    assert cube.porosity((0.0, 0.006)) == pytest.approx(1 - D**3 / column, abs=2e-3)
    cylinder = Packing(container=COLUMN, kind="cylinder", diameter=D, length=2 * D, centres=[[0, 0, 0.006]],
                       orientations=[quaternion([1, 0, 0], math.pi / 2)])  # lying on its side
    solid = math.pi * D**2 / 4 * 2 * D
    assert cylinder.porosity((0.0, 0.012)) == pytest.approx(1 - solid / (math.pi * 0.01**2 * 0.012), abs=2e-3)


def test_non_sphere_gaps_use_the_true_shapes():
    upright = quaternion([0, 0, 1], 0.0)
    # two upright cylinders side by side, axes 5.5 mm apart: a 0.5 mm gap whatever their bounding spheres say
    pair = Packing(container=COLUMN, kind="cylinder", diameter=D, length=2 * D,
                   centres=[[-0.00275, 0, 0.006], [0.00275, 0, 0.006]], orientations=[upright, upright])
    assert pair.min_gap() == pytest.approx(0.0005, abs=0.02 * D)
    assert pair.overlaps() == []
    stacked = Packing(container=COLUMN, kind="cube", diameter=D, length=D,
                      centres=[[0, 0, 0.0025], [0, 0, 0.0074]], orientations=[upright, upright])
    assert stacked.min_gap() == pytest.approx(-0.0001, abs=0.02 * D)
    assert [kind for kind, *_ in stacked.overlaps(tolerance=1e-5)] == ["pair"]


def test_bed_height_of_a_flat_layer():
    layer = spheres(*[[x, y, 0.0025] for x in (-0.005, 0, 0.005) for y in (-0.005, 0, 0.005)])
    assert layer.bed_height() == pytest.approx(0.005)


def test_correlations_values_and_ranges():
    assert benyahia_oneill_spheres(10) == pytest.approx(0.390 + 1.740 / 11.14**2)
    assert benyahia_oneill_cylinders(5) == pytest.approx(0.373 + 1.703 / 5.611**2)
    assert dixon_spheres(10) == pytest.approx(0.4 + 0.005 + 0.00412)
    assert benyahia_oneill_spheres(1e9) == pytest.approx(0.390, abs=1e-9)  # the bulk limit
    assert expected_porosity("cylinder", 5) == benyahia_oneill_cylinders(5)
    with pytest.warns(OutOfRangeWarning):
        BENYAHIA_ONEILL_SPHERES(100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BENYAHIA_ONEILL_SPHERES(10)
    assert "Benyahia" in benyahia_oneill_spheres.__doc__ and "1.5 ≤ D/d ≤ 50" in benyahia_oneill_spheres.__doc__
