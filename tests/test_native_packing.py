"""The native packer against the physics of poured beds (real packer, small beds)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline import BedSpec, PackingError, pack
from pipeline.correlations import benyahia_oneill_spheres
from pipeline.packing import Packing, packing_digest
from pipeline.packing.native import pack_native, particle_count


def sphere_bed(aspect: float, count: int, height: float = 0.2, **particles) -> BedSpec:
    d = 0.005
    return BedSpec.from_dict(
        {"bed": {"diameter": aspect * d, "height": height}, "particles": {"count": count, "diameter": d, **particles}}
    )


@pytest.fixture(scope="module")
def bed10() -> Packing:
    return pack_native(sphere_bed(10, 1000))


@pytest.fixture(scope="module")
def bed5() -> Packing:
    return pack_native(sphere_bed(5, 300))


@pytest.mark.parametrize("name, aspect", [("bed5", 5.0), ("bed10", 10.0)])
def test_porosity_matches_benyahia_oneill(request, name, aspect):
    packing = request.getfixturevalue(name)
    expected = benyahia_oneill_spheres(aspect)
    assert packing.aspect_ratio == pytest.approx(aspect)
    assert abs(packing.porosity() - expected) < 0.03, (packing.porosity(), expected)
    assert abs(packing.core_porosity() - expected) < 0.03, (packing.core_porosity(), expected)


def test_no_overlaps_and_everything_inside(bed10):
    assert bed10.overlaps() == []
    assert bed10.min_gap() > -1e-6 * bed10.diameter
    rho = np.hypot(bed10.centres[:, 0], bed10.centres[:, 1])
    assert (rho + bed10.radius <= bed10.container.radius * (1 + 1e-9)).all()
    assert (bed10.centres[:, 2] - bed10.radius >= -1e-12).all()
    assert bed10.settled and bed10.stop_reason == "settled"


def test_radial_porosity_oscillates_at_the_wall(bed10):
    distance, porosity = bed10.radial_porosity(bins=50, z_range=bed10.core_range())
    d = bed10.diameter
    assert porosity[0] > 0.8  # a point contact with the wall: almost all void
    near = distance < 1.5 * d
    first_min = distance[near][np.argmin(porosity[near])]
    assert 0.3 * d < first_min < 0.7 * d  # the ordered first layer, half a diameter in
    assert porosity[near].min() < 0.3
    beyond = (distance > 0.7 * d) & (distance < 1.3 * d)
    assert porosity[beyond].max() > porosity[near].min() + 0.15  # and the second peak: damped oscillation


def test_axial_porosity_is_bottom_ordered_and_open_at_the_top(bed10):
    z, porosity = bed10.axial_porosity(bins=30)
    assert porosity[-1] > 0.8  # above the ragged top
    middle = porosity[(z > 2 * bed10.diameter) & (z < bed10.bed_height() - 2 * bed10.diameter)]
    assert 0.33 < middle.mean() < 0.47


def test_coordination_number_is_that_of_a_random_pack(bed10):
    assert 4.5 < bed10.coordination_number() < 7.0


def test_same_seed_same_packing_other_seed_other_packing():
    a = pack_native(sphere_bed(5, 120))
    b = pack_native(sphere_bed(5, 120))
    c = pack_native(sphere_bed(5, 120, seed=7))
    np.testing.assert_array_equal(a.centres, b.centres)
    assert not np.allclose(a.centres, c.centres)


def test_too_many_particles_names_the_achievable_count():
    spec = sphere_bed(5, 105, height=0.02)  # passes the spec's 0.74 solid-fraction limit, but no pour fits it
    with pytest.raises(PackingError) as info:
        pack_native(spec)
    message = str(info.value)
    fits = int(message.split("only ")[1].split(" ")[0])
    assert 40 < fits < 105
    assert f"at most {fits}" in message


def test_target_porosity_sets_the_count():
    spec = BedSpec.from_dict({"bed": {"diameter": 0.025, "height": 0.03}, "particles": {"target_porosity": 0.6}})
    n = particle_count(spec)
    assert n == round(0.4 * spec.bed.volume() / spec.particles.volume())
    assert pack_native(spec).count == n


def test_non_spheres_are_refused():
    spec = BedSpec.from_dict({"particles": {"kind": "cube"}, "packing": {"method": "rigid_body"}})
    with pytest.raises(PackingError, match="spheres only"):
        pack_native(spec)


def test_save_load_round_trip(tmp_path, bed5):
    path = bed5.save(tmp_path / "p.npz")
    again = Packing.load(path)
    np.testing.assert_array_equal(again.centres, bed5.centres)
    assert again.digest == bed5.digest and again.engine == "native"
    assert again.porosity() == bed5.porosity()
    (tmp_path / "bad.npz").write_bytes(b"not a packing")
    with pytest.raises(PackingError, match="not a bedflow packing"):
        Packing.load(tmp_path / "bad.npz")


def test_pack_reuses_a_packing_with_the_same_digest(tmp_path):
    spec = sphere_bed(5, 60)
    target = tmp_path / "packing.npz"
    first = pack(spec, reuse=target)
    stamp = target.stat().st_mtime_ns
    messages = []
    second = pack(spec, reuse=target, progress=lambda f, m: messages.append(m))
    assert target.stat().st_mtime_ns == stamp
    assert "reused" in messages[-1]
    np.testing.assert_array_equal(first.centres, second.centres)
    changed = pack(spec.updated({"particles.seed": 1}), reuse=target)
    assert changed.digest == packing_digest(spec.updated({"particles.seed": 1})) != first.digest


def test_engine_names(tmp_path):
    with pytest.raises(PackingError, match="unknown engine"):
        pack(sphere_bed(5, 10), engine="lammps")


def test_friction_loosens_the_bed():
    rough = pack_native(sphere_bed(8, 500, friction=1.0))
    smooth = pack_native(sphere_bed(8, 500, friction=0.0))
    assert rough.core_porosity() > smooth.core_porosity() + 0.005


def test_progress_is_reported():
    seen: list[float] = []
    pack_native(sphere_bed(5, 60), progress=lambda f, m: seen.append(f))
    assert seen[0] <= 0.05 and seen[-1] == 1.0
    assert all(b >= a - 1e-9 for a, b in zip(seen, seen[1:]))
    assert math.isclose(seen[-1], 1.0)
