"""Geometry export: closed solids, named files, contact gap, units; files read back."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import trimesh

from pipeline import BedSpec
from pipeline.geometry import GeometryError, build_geometry, write_geometry
from pipeline.packing import Container, Packing
from pipeline.packing.native import pack_native


@pytest.fixture(scope="module")
def packing() -> Packing:
    return pack_native(BedSpec.from_dict({"particles": {"count": 40}, "packing": {"contact_treatment": "gap"}}))


def test_stl_solids_are_watertight_and_separate(tmp_path, packing):
    files = write_geometry(packing, tmp_path, ["stl"])
    assert files.watertight == {"particles": True, "wall": True, "lid_bottom": True, "lid_top": True}
    for name in files.watertight:
        mesh = trimesh.load(tmp_path / f"{name}.stl")
        assert mesh.is_watertight and mesh.volume > 0
    particles = trimesh.load(tmp_path / "particles.stl")
    assert particles.body_count == packing.count
    manifest = json.loads((tmp_path / "geometry.json").read_text())
    assert manifest["units"] == "m" and manifest["contact_gap"] == 0.01


def test_particles_are_shrunk_by_the_contact_gap(packing):
    geometry = build_geometry(packing)
    volume = geometry.solids["particles"].volume
    shrunk = packing.count * math.pi / 6 * (packing.diameter * 0.99) ** 3
    assert volume == pytest.approx(shrunk * geometry.tessellation_volume_ratio, rel=1e-6)
    assert geometry.tessellation_volume_ratio == pytest.approx(1.0, abs=1e-9)  # the icospheres hold the volume
    assert packing.porosity_meshed > packing.porosity()


def test_view_formats_read_back_with_named_solids(tmp_path, packing):
    files = write_geometry(packing, tmp_path, ["obj", "glb", "gltf"], units="mm")
    scene = trimesh.load(files.files["glb"])
    assert set(scene.geometry) == {"particles", "wall", "lid_bottom", "lid_top"}
    extent = scene.geometry["wall"].extents
    assert extent[0] == pytest.approx(packing.container.diameter * 1000, rel=0.01)  # millimetres
    obj = trimesh.load(files.files["obj"], force="mesh")
    assert len(obj.faces) > 0
    assert files.files["gltf"].exists()


@pytest.mark.parametrize("wall_mode, bottom, top", [("solid", "hemispherical", "none"), ("none", "flat", "hemispherical")])
def test_wall_and_lid_variants(tmp_path, wall_mode, bottom, top):
    spec = BedSpec.from_dict({"particles": {"count": 20}, "lids": {"bottom_type": bottom, "top_type": top},
                              "export": {"wall_mode": wall_mode}})
    packing = pack_native(spec)
    geometry = build_geometry(packing, wall_mode)
    assert geometry.check()
    names = set(geometry.solids)
    assert ("wall" in names) == (wall_mode != "none")
    assert ("lid_top" in names) == (top != "none")
    if bottom == "hemispherical":
        lid = geometry.solids["lid_bottom"]
        r, t = packing.container.radius, packing.container.bottom_thickness
        assert lid.volume == pytest.approx(2 / 3 * math.pi * ((r + t) ** 3 - r**3), rel=0.02)
        assert lid.bounds[1][2] <= 1e-9  # entirely below the bottom face


def test_overlapping_particles_beyond_the_gap_are_refused():
    column = Container(0.02, 0.02, 0.002, 0.0, "flat", "flat", 0.002, 0.002)
    bad = Packing(container=column, kind="sphere", diameter=0.005, length=0.005, contact_gap=0.01,
                  centres=np.array([[0, 0, 0.0025], [0.0045, 0, 0.0025]]))
    with pytest.raises(GeometryError, match="more than the contact gap"):
        build_geometry(bad)


def test_spheres_closer_than_their_facets_allow_are_refused():
    """A volume-true icosphere's vertices reach 0.29 % of its radius beyond the sphere: two spheres 0.001 d
    apart would intersect as meshed with no contact gap, and do not with the default 0.01."""
    column = Container(0.02, 0.02, 0.002, 0.0, "flat", "flat", 0.002, 0.002)
    centres = np.array([[0, 0, 0.0025], [0.005005, 0, 0.0025]])
    close = Packing(container=column, kind="sphere", diameter=0.005, length=0.005, contact_gap=0.0, centres=centres)
    with pytest.raises(GeometryError, match="raise packing.contact_gap to at least 0.00"):
        build_geometry(close)
    spaced = Packing(container=column, kind="sphere", diameter=0.005, length=0.005, contact_gap=0.01, centres=centres)
    assert build_geometry(spaced).check()


def test_non_spheres_mesh_closed():
    column = Container(0.03, 0.02, 0.002, 0.0, "flat", "flat", 0.002, 0.002)
    cylinders = Packing(container=column, kind="cylinder", diameter=0.004, length=0.006, contact_gap=0.01,
                        centres=[[-0.005, 0, 0.003], [0.005, 0, 0.003]], orientations=[[1, 0, 0, 0], [0.7071, 0.7071, 0, 0]])
    mesh = build_geometry(cylinders).solids["particles"]
    assert mesh.is_watertight and mesh.body_count == 2


def test_check_catches_an_open_solid(packing):
    geometry = build_geometry(packing)
    wall = geometry.solids["wall"]
    geometry.solids["wall"] = trimesh.Trimesh(wall.vertices, wall.faces[:-3], process=False)  # punch a hole
    with pytest.raises(GeometryError, match="solid 'wall' is not a closed"):
        geometry.check()
    template = geometry.particle_template
    geometry.particle_template = trimesh.Trimesh(template.vertices, template.faces[1:], process=False)
    geometry.solids["wall"] = wall
    with pytest.raises(GeometryError):
        geometry.check()
