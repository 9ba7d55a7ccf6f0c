"""The Blender rigid-body packing engine and Blender exports, with real ``bpy`` in a child process.

Beds are small (30-60 particles) so the suite stays fast; each packing starts Blender once
(about a second). Pure-numpy parts (planning, checks, the progress protocol) are tested
without Blender.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import trimesh

from pipeline import BedSpec
from pipeline.packing.blender import (
    EXPORT_FORMATS,
    BlenderChildError,
    pack_rigid_body,
    progress_line,
    random_quaternions,
    run_child,
    spawn_column,
    wall_slab_count,
    write_blender_exports,
)
from pipeline.packing.model import Container, Packing, PackingError, packing_digest
from pipeline.packing.native import remove_overlaps
from pipeline.packing.report import PackingReport
from pipeline.packing.shapes import check_contained, extents, half_extents, particle_count

D_PARTICLE = 0.005


def make_spec(**particles) -> BedSpec:
    """A 25 mm x 40 mm column (D/d = 5) of 40 spheres of 5 mm, packed with rigid bodies."""
    return BedSpec.from_dict(
        {
            "bed": {"diameter": 0.025, "height": 0.04},
            "particles": {"count": 40, "diameter": D_PARTICLE, **particles},
            "packing": {"method": "rigid_body"},
        }
    )


def sphere_penetration(packing: Packing) -> dict[str, float]:
    """Deepest overlap (fraction of d) between two spheres, into the wall and into the floor."""
    c, d = packing.centres, packing.diameter
    distance = np.linalg.norm(c[:, None, :] - c[None, :, :], axis=-1)
    pairs = distance[np.triu_indices(len(c), 1)]
    return {
        "pair": max(0.0, float((d - pairs).max() / d)),
        "wall": max(0.0, float((np.hypot(c[:, 0], c[:, 1]) + d / 2 - packing.container.radius).max() / d)),
        "floor": max(0.0, float((d / 2 - c[:, 2]).max() / d)),
    }


def assert_inside(packing: Packing, tolerance: float = 0.01) -> None:
    """Every particle within the column's radius and above its floor, to ``tolerance`` × d."""
    ext, d = extents(packing), packing.diameter
    assert ext["radial"].max() <= packing.container.radius + tolerance * d
    assert ext["bottom"].min() >= -tolerance * d
    assert ext["top"].max() <= packing.container.height


@pytest.fixture(scope="module")
def sphere_run() -> tuple[BedSpec, Packing, list[tuple[float, str]]]:
    """40 spheres packed once for the module, with the progress calls received."""
    spec = make_spec()
    calls: list[tuple[float, str]] = []
    packing = pack_rigid_body(spec, lambda fraction, message: calls.append((fraction, message)))
    return spec, packing, calls


# ------------------------------------------------------------------------------------------------
# planning and checks (no Blender)
# ------------------------------------------------------------------------------------------------
def test_count_from_target_porosity():
    spec = make_spec(count=None, target_porosity=0.6)
    expected = round(0.4 * spec.bed.volume() / spec.particles.volume())
    assert particle_count(spec) == expected == 120
    assert particle_count(make_spec(count=33)) == 33


@pytest.mark.parametrize("kind", ["sphere", "cylinder", "cube"])
def test_spawn_column_is_inside_and_overlap_free(kind):
    spec = make_spec(kind=kind, count=60, length=0.004, diameter=0.004)
    column = spawn_column(spec, 60)
    bound = spec.particles.circumscribed_diameter()
    c = column.centres
    distance = np.linalg.norm(c[:, None] - c[None], axis=-1)[np.triu_indices(len(c), 1)]
    assert distance.min() >= bound  # bounding spheres apart: no overlap in any orientation
    assert (np.hypot(c[:, 0], c[:, 1]) + bound / 2).max() <= spec.bed.diameter / 2
    assert (c[:, 2] - bound / 2).min() > 0
    assert column.top == pytest.approx(c[:, 2].max() + bound / 2)
    if kind == "sphere":
        assert column.orientations is None
    else:
        assert np.allclose(np.linalg.norm(column.orientations, axis=1), 1.0)


def test_spawn_column_follows_the_seed():
    a, b, c = (spawn_column(make_spec(seed=seed, kind="cylinder"), 40) for seed in (1, 1, 2))
    assert np.array_equal(a.centres, b.centres) and np.array_equal(a.orientations, b.orientations)
    assert not np.allclose(a.centres, c.centres)


def test_spawn_column_fits_a_narrow_tube():
    spec = BedSpec.from_dict(
        {"bed": {"diameter": 0.0075, "height": 0.05}, "particles": {"count": 5, "diameter": 0.005},
         "packing": {"method": "rigid_body"}}
    )
    c = spawn_column(spec, 5).centres
    assert len(c) == 5 and (np.hypot(c[:, 0], c[:, 1]) + 0.0025).max() <= 0.00375


def test_wall_slab_count_bounds():
    assert wall_slab_count(0.0125, 0.005) == 71
    assert wall_slab_count(0.001, 0.005) == 48
    assert wall_slab_count(10.0, 0.001) == 256


def test_half_extents_of_turned_particles():
    up = np.array([[0.0, 0.0, 1.0]])
    lying = np.array([[math.cos(math.pi / 4), math.sin(math.pi / 4), 0.0, 0.0]])  # axis turned onto -y
    standing = np.array([[1.0, 0.0, 0.0, 0.0]])
    assert half_extents("cylinder", 0.004, 0.008, standing, up)[0] == pytest.approx(0.004)
    assert half_extents("cylinder", 0.004, 0.008, lying, up)[0] == pytest.approx(0.002)
    assert half_extents("cube", 0.004, 0.0, standing, up)[0] == pytest.approx(0.002)
    assert half_extents("sphere", 0.004, 0.0, None, up)[0] == pytest.approx(0.002)
    q = random_quaternions(np.random.default_rng(0), 100)
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0) and (q[:, 0] >= 0).all()


def test_progress_lines_are_parsed_from_noisy_output():
    assert progress_line('{"progress": 0.42, "message": "frame 120"}\n') == (0.42, "frame 120")
    assert progress_line('Info: saved {"progress": 1, "message": "done"}') == (1.0, "done")
    assert progress_line("Read prefs: /nowhere") is None
    assert progress_line('{"other": 1}') is None
    assert progress_line("{broken") is None


def _packing(centres, container: Container | None = None) -> Packing:
    container = container or Container(0.025, 0.04, 0.002, 0.0, "flat", "flat", 0.003, 0.003)
    return Packing(container=container, kind="sphere", diameter=D_PARTICLE, length=D_PARTICLE, centres=centres)


def test_remove_overlaps_moves_spheres_apart_by_about_their_overlap():
    """The native packer's polish, as the Blender engine runs it on its spheres: two spheres overlapping by 2 % of
    d and one 1 % of d through the wall end apart and inside, each moved by about its share."""
    d, reach = D_PARTICLE, 0.0125 - D_PARTICLE / 2
    before = np.array([[0.0, 0.0, 0.0025], [0.0, 0.98 * d, 0.0025], [reach + 0.01 * d, 0.0, 0.01]])
    after = remove_overlaps(before, d, reach)
    assert np.linalg.norm(after[0] - after[1]) >= d * (1 - 1e-7)
    assert np.hypot(after[2, 0], after[2, 1]) <= reach * (1 + 1e-12)
    assert after[:, 2].min() >= d / 2 * (1 - 1e-12)
    moved = np.linalg.norm(after - before, axis=1) / d
    assert moved.max() < 0.03 and moved[2] == pytest.approx(0.01, rel=1e-6), moved


def test_overlaps_are_counted_against_the_contact_gap():
    """A packing report counts overlaps beyond 1e-6 d and, apart, those deeper than the gap the contact treatment
    opens (cylinders and cubes from Blender keep Bullet's: shallower ones vanish before meshing)."""
    d = D_PARTICLE
    for depth, beyond in ((0.005, 0), (0.02, 1)):
        packing = Packing(container=Container(0.025, 0.04, 0.002, 0.0, "flat", "flat", 0.003, 0.003),
                          kind="sphere", diameter=d, length=d, contact_gap=0.01,
                          centres=np.array([[0.0, 0.0, 0.0025], [0.0, (1 - depth) * d, 0.0025]]))
        report = PackingReport.of(packing)
        assert (report.overlaps, report.overlaps_beyond_gap) == (1, beyond)
        assert report.max_overlap == pytest.approx(depth * d)


def test_escaped_particle_is_an_error():

    check_contained(_packing([[0.0, 0.0, 0.0025], [0.01, 0.0, 0.0025]]))
    with pytest.raises(PackingError, match=r"1 of 2 particles escaped"):
        check_contained(_packing([[0.0, 0.0, 0.0025], [0.02, 0.0, 0.0025]]))
    with pytest.raises(PackingError, match=r"escaped"):
        check_contained(_packing([[0.0, 0.0, -0.004]]))


def test_export_rejects_unknown_format(tmp_path):
    with pytest.raises(PackingError, match="stl"):
        write_blender_exports(_packing([[0.0, 0.0, 0.0025]]), tmp_path, ["stl"])
    assert write_blender_exports(_packing([[0.0, 0.0, 0.0025]]), tmp_path, []) == {}


# ------------------------------------------------------------------------------------------------
# packing with Blender
# ------------------------------------------------------------------------------------------------
def test_spheres_pack_settle_inside_without_overlap(sphere_run):
    spec, packing, _ = sphere_run
    assert packing.count == 40 and packing.kind == "sphere" and packing.orientations is None
    assert packing.engine == "rigid_body"
    assert packing.digest == packing_digest(spec)
    assert packing.seed == spec.particles.seed and packing.treatment() == spec.contact_treatment()
    assert packing.spec == spec.to_dict()
    assert packing.container == Container.from_spec(spec)
    assert (packing.settled, packing.stop_reason) in ((True, "settled"), (False, "max_time"))
    assert 0 < packing.simulated_time <= spec.packing.max_time
    assert {"build", "simulate", "relax", "readback", "polish", "total"} <= set(packing.timings)
    assert_inside(packing)
    penetration = sphere_penetration(packing)
    # Bullet leaves contacts slightly penetrating (after its relaxation up to ~0.2 % of d); the native polish
    # leaves nothing beyond 1e-7 d, so the packing's report counts no overlap
    assert max(penetration.values()) < 1e-6, penetration
    assert packing.overlaps() == [] and PackingReport.of(packing).overlaps == 0
    bed_top = (packing.centres[:, 2] + D_PARTICLE / 2).max()
    assert bed_top < 0.025  # 40 spheres fill about 4 layers; nothing stays in the spawn column


def test_progress_is_reported_live(sphere_run):
    _, _, calls = sphere_run
    fractions = [fraction for fraction, _ in calls]
    assert len(calls) > 5
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert any("max speed" in message for _, message in calls)


def test_time_limit_stops_an_unsettled_bed():
    spec = make_spec(count=30).updated({"packing.max_time": 0.125})  # 3 frames: the pour is hardly over
    packing = pack_rigid_body(spec)
    assert (packing.settled, packing.stop_reason) == (False, "max_time")
    assert packing.simulated_time == pytest.approx(0.125)
    assert_inside(packing)


@pytest.mark.slow
def test_same_seed_same_packing_other_seed_different(sphere_run):
    spec, packing, _ = sphere_run
    again = pack_rigid_body(spec.copy())
    assert np.array_equal(again.centres, packing.centres)
    assert again.simulated_time == packing.simulated_time
    other = pack_rigid_body(spec.updated({"particles.seed": spec.particles.seed + 1}))
    assert other.centres.shape == packing.centres.shape
    assert not np.allclose(np.sort(other.centres[:, 2]), np.sort(packing.centres[:, 2]))


@pytest.mark.slow
@pytest.mark.parametrize("kind, count, length", [("cylinder", 30, 0.007), ("cube", 30, 0.005)])
def test_non_spheres_pack_with_unit_quaternions(kind, count, length):
    spec = make_spec(kind=kind, count=count, length=length, diameter=0.004)
    packing = pack_rigid_body(spec)
    assert packing.kind == kind and packing.count == count
    assert packing.orientations.shape == (count, 4)
    assert np.allclose(np.linalg.norm(packing.orientations, axis=1), 1.0, atol=1e-9)
    assert_inside(packing)
    tilt = np.abs(np.einsum("ni,i->n", _axes(packing.orientations), [0.0, 0.0, 1.0]))
    assert tilt.std() > 0.0  # orientations were really read back, not all identical


def _axes(quaternions: np.ndarray) -> np.ndarray:
    """The particles' local z axes in the column frame."""
    w, x, y, z = quaternions.T
    return np.stack([2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)], axis=1)


@pytest.mark.slow
def test_tall_column_is_poured_in_bands_and_frozen_from_below():
    """A 40 d tall spawn column: the hopper meters the pour and buried particles freeze."""
    spec = BedSpec.from_dict(
        {"bed": {"diameter": 0.015, "height": 0.2}, "particles": {"count": 100, "diameter": D_PARTICLE},
         "packing": {"method": "rigid_body"}}
    )
    assert spawn_column(spec, 100).top > 0.2
    messages: list[str] = []
    packing = pack_rigid_body(spec, lambda fraction, message: messages.append(message))
    waiting = [int(m) for m in re.findall(r"(\d+) waiting", " ".join(messages))]
    frozen = [int(m) for m in re.findall(r"(\d+) frozen", " ".join(messages))]
    assert max(waiting) > 20 and max(frozen) > 0  # released band by band; the bottom froze
    assert packing.settled
    assert_inside(packing)
    assert max(sphere_penetration(packing).values()) < 1e-6


@pytest.mark.slow
def test_too_many_particles_names_the_count_that_fits():
    spec = BedSpec.from_dict(
        {"bed": {"diameter": 0.025, "height": 0.02}, "particles": {"count": 100, "diameter": D_PARTICLE},
         "packing": {"method": "rigid_body"}}
    )
    with pytest.raises(PackingError, match=r"do not fit") as info:
        pack_rigid_body(spec)
    fit = int(re.search(r"at most (\d+)", str(info.value)).group(1))
    assert 30 < fit < 100  # a D/d = 5 bed of 20 mm holds roughly 55-65 spheres


def test_progress_callback_errors_stop_the_child():
    class Stop(Exception):
        pass

    def stop_at_first_frame(fraction: float, message: str) -> None:
        if "max speed" in message:
            raise Stop(message)

    with pytest.raises(Stop):
        pack_rigid_body(make_spec(count=30), stop_at_first_frame)


# ------------------------------------------------------------------------------------------------
# child failures
# ------------------------------------------------------------------------------------------------
def test_child_failure_raises_with_log_tail(tmp_path):
    with pytest.raises(PackingError, match="unknown request mode 'explode'") as info:
        run_child({"mode": "explode"}, tmp_path, 120.0, lambda f, m: None)
    error = info.value
    assert isinstance(error, BlenderChildError) and error.returncode == 1
    assert 0 < len(error.log_tail) <= 30 and "Traceback" in str(error)
    assert error.log_path == tmp_path / "blender.log" and "explode" in error.log_path.read_text()


def test_child_failure_on_missing_inputs(tmp_path):
    request = {"mode": "scene", "inputs": "missing.npz", "particle": {}, "container": {}, "exports": {}}
    with pytest.raises(BlenderChildError, match="missing.npz"):
        run_child(request, tmp_path, 120.0, lambda f, m: None)


def test_child_timeout(tmp_path):
    with pytest.raises(BlenderChildError, match="timed out"):
        run_child({"mode": "scene"}, tmp_path, 0.05, lambda f, m: None)


# ------------------------------------------------------------------------------------------------
# exports
# ------------------------------------------------------------------------------------------------
def lattice_packing(kind: str) -> Packing:
    """A packing not made by the rigid-body engine: 3 x 3 x 2 particles on a lattice."""
    container = Container(0.03, 0.02, 0.002, 0.0, "hemispherical", "flat", 0.002, 0.003)
    grid = np.array([(x, y, z) for z in (0.003, 0.009) for y in (-0.006, 0.0, 0.006) for x in (-0.006, 0.0, 0.006)])
    orientations = None if kind == "sphere" else random_quaternions(np.random.default_rng(3), len(grid))
    return Packing(container=container, kind=kind, diameter=0.005, length=0.004, centres=grid,
                   orientations=orientations, engine="native")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sphere", "cylinder"])
def test_exports_are_written_and_readable(tmp_path, kind):
    packing = lattice_packing(kind)
    paths = write_blender_exports(packing, tmp_path / "out", list(EXPORT_FORMATS))
    assert set(paths) == set(EXPORT_FORMATS)
    for fmt, path in paths.items():
        assert path == tmp_path / "out" / f"packing.{fmt}" and path.stat().st_size > 0
    assert paths["blend"].read_bytes()[:7] == b"BLENDER"
    assert (tmp_path / "out" / "packing.bin").is_file()
    assert json.loads(paths["gltf"].read_text())["asset"]["version"] == "2.0"

    glb = trimesh.load(paths["glb"])
    particle_nodes = [n for n in glb.graph.nodes_geometry if n.startswith("particle")]
    assert len(particle_nodes) == packing.count
    obj = trimesh.load(paths["obj"])
    low, high = obj.bounds  # OBJ keeps the column frame: z up, metres; column + lids set the bounds
    outer = packing.container.radius + packing.container.wall_thickness
    assert np.allclose(high[:2], outer, rtol=0.01) and np.allclose(low[:2], -outer, rtol=0.01)
    assert low[2] == pytest.approx(-packing.container.radius - packing.container.bottom_thickness, rel=0.01)
    assert high[2] == pytest.approx(packing.container.height + packing.container.top_thickness, rel=0.01)
