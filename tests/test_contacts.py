"""Contact treatments: which contacts are found, and what a gap, a bridge or a cap does to the solid."""

from __future__ import annotations

import math

import numpy as np
import pytest
from manifold3d import Manifold

from pipeline import BedSpec, BedValidationError, parse_bed
from pipeline.contacts import ContactTreatment, find_contacts, treated_particles, window_porosity
from pipeline.geometry import build_geometry, porosity_as_meshed, sphere_surface, write_geometry
from pipeline.packing import Container, Packing
from pipeline.packing.native import pack_native

D = 0.005
R = D / 2
COLUMN = Container(0.03, 0.03, 0.002, 0.0, "flat", "flat", 0.002, 0.002)


def spheres(*centres: tuple[float, float, float], treatment: str = "gap", size: float = 0.0,
            gap: float = 0.0) -> Packing:
    return Packing(COLUMN, "sphere", D, D, np.array(centres, dtype=float), contact_gap=gap,
                   contact_treatment=treatment, contact_size=size)


def solid_of(packing: Packing) -> Manifold:
    return treated_particles(packing, packing.treatment(), sphere_surface(R, 3))


def cap_volume(height: float) -> float:
    return math.pi * height**2 * (3 * R - height) / 3


def test_contacts_are_pairs_and_wall_touches_closer_than_the_tolerance():
    wall_x = COLUMN.radius - R - 0.002 * D  # 0.2 % of d from the wall
    packing = spheres((0, 0, 0.01), (D, 0, 0.01), (0, 1.02 * D, 0.01), (wall_x, 0, 0.02), (0, 0, 0.01 + 0.995 * D))
    contacts = find_contacts(packing)
    assert contacts.pairs.tolist() == [[0, 1], [0, 4]]  # touching, and overlapping by 0.5 % of d; not 2 % apart
    assert contacts.wall.tolist() == [3]
    assert find_contacts(packing, tolerance=0.03).pairs.tolist() == [[0, 1], [0, 2], [0, 4]]


def test_a_bridge_joins_two_touching_spheres_with_the_volume_of_its_cylinder_outside_them():
    size = 0.2
    packing = spheres((0, 0, 0.01), (0, 0, 0.01 + D), treatment="bridge", size=size)
    solid = solid_of(packing)
    assert len(solid.decompose()) == 1  # one body
    a = size * D / 2
    # the cylinder between the contact plane and each sphere's surface, for both spheres
    outside = 2 * (math.pi * a**2 * R - 2 * math.pi / 3 * (R**3 - (R**2 - a**2) ** 1.5))
    added = solid.volume() - 2 * math.pi / 6 * D**3
    assert added == pytest.approx(outside, rel=0.1)  # a 16-sided bridge on faceted spheres


def test_caps_flatten_touching_spheres_to_faces_the_cap_size_apart():
    size = 0.04
    packing = spheres((0, 0, 0.01), (0, 0, 0.01 + D), treatment="cap", size=size)
    left, right = solid_of(packing).decompose()
    assert left.min_gap(right, D) == pytest.approx(size * D, rel=1e-3)
    removed = 2 * math.pi / 6 * D**3 - (left.volume() + right.volume())
    assert removed == pytest.approx(2 * cap_volume(size * D / 2), rel=0.05)


def test_a_cap_keeps_a_sphere_off_the_wall_and_a_bridge_reaches_into_it():
    centre = (COLUMN.radius - R, 0.0, 0.01)  # touching the wall
    capped = solid_of(spheres(centre, treatment="cap", size=0.04))
    assert capped.bounding_box()[3] == pytest.approx(COLUMN.radius - 0.04 * D, rel=1e-6)
    bridged = solid_of(spheres(centre, treatment="bridge", size=0.2))
    assert bridged.bounding_box()[3] > COLUMN.radius  # through the wall: the wall ends where it meets it


def test_window_porosity_of_the_faceted_solid_matches_the_exact_spheres():
    packing = pack_native(BedSpec.from_dict({"particles": {"count": 40, "seed": 3}}))
    window = packing.core_range()
    exact = packing.porosity(window, shrink=0.01)
    solid = treated_particles(packing, ContactTreatment("gap", 0.01), sphere_surface(R * 0.99, 3))
    assert window_porosity(solid, packing.container.radius, *window) == pytest.approx(exact, abs=2e-3)


@pytest.fixture(scope="module")
def bed() -> BedSpec:
    return BedSpec.from_dict({"particles": {"count": 60, "seed": 5}})


@pytest.mark.parametrize("treatment, size", [("bridge", None), ("cap", 0.05)])
def test_each_treatment_packs_the_same_particles_into_one_closed_solid(bed, treatment, size, tmp_path):
    gap = pack_native(bed.updated({"packing.contact_treatment": "gap"}))
    treated = pack_native(bed.updated({"packing.contact_treatment": treatment, "packing.contact_size": size}))
    np.testing.assert_array_equal(treated.centres, gap.centres)
    expected = ContactTreatment(treatment, size or {"bridge": 0.2, "cap": 0.02}[treatment])
    assert treated.treatment() == expected and treated.contact_gap == 0.0
    files = write_geometry(treated, tmp_path, ["stl"])
    assert files.watertight["particles"]
    window = treated.core_range()
    nominal, as_meshed = treated.porosity(window), porosity_as_meshed(treated, window)
    # bridges add solid, caps take a little away; both far less than the gap's uniform shrink
    assert (as_meshed < nominal) if treatment == "bridge" else (as_meshed > nominal)
    assert abs(as_meshed - nominal) < 0.5 * (porosity_as_meshed(gap, window) - nominal)
    assert build_geometry(treated).treatment == expected.describe()


def test_the_spec_takes_a_treatment_and_refuses_it_for_cylinders():
    spec = parse_bed('particles { count = 30; } packing { contact_treatment = bridge; contact_size = 0.25; }')
    assert spec.contact_treatment() == ContactTreatment("bridge", 0.25)
    # auto, the default: bridges for spheres, the gap for shapes whose contacts are not found
    assert BedSpec().packing.contact_treatment == "auto"
    assert BedSpec().contact_treatment() == ContactTreatment("bridge", 0.2)
    cylinders = BedSpec.from_dict({"particles": {"kind": "cylinder", "count": 10}, "packing": {"method": "rigid_body"}})
    assert cylinders.contact_treatment() == ContactTreatment("gap", 0.01)
    assert pack_native(BedSpec.from_dict({"particles": {"count": 20}})).contact_treatment == "bridge"
    with pytest.raises(BedValidationError, match="contact_treatment"):
        BedSpec.from_dict({"particles": {"kind": "cylinder", "count": 10},
                           "packing": {"method": "rigid_body", "contact_treatment": "cap"}})
    with pytest.raises(BedValidationError, match="contact_size"):
        BedSpec.from_dict({"packing": {"contact_treatment": "cap", "contact_size": 0.9}})
    with pytest.raises(ValueError, match="contact treatment"):
        ContactTreatment("glue", 0.1)
