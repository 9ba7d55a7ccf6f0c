import json
import math

import param
import pytest

from pipeline import BedSpec, BedValidationError
from pipeline.spec import SECTION_CLASSES, Quantity, unit_of
from pipeline.units import dimension_of


def all_fields():
    for key, cls in SECTION_CLASSES.items():
        for field in cls.field_names():
            yield key, field, cls.param[field]


def test_default_spec_is_valid():
    spec = BedSpec()
    assert spec.problems() == []
    assert spec.validate() is spec


@pytest.mark.parametrize("key, field, parameter", list(all_fields()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_field_is_documented_with_default_and_bounds(key, field, parameter):
    assert parameter.doc and len(parameter.doc) > 10, f"{key}.{field} has no docstring"
    if isinstance(parameter, param.Number):
        assert parameter.bounds is not None, f"{key}.{field} has no bounds"
        assert parameter.default is not None or parameter.allow_None
    if isinstance(parameter, Quantity):
        dimension_of(unit_of(parameter))  # a canonical SI symbol


def test_dimensional_fields_carry_si_units():
    units = {f"{k}.{f}": unit_of(p) for k, f, p in all_fields()}
    assert units["bed.diameter"] == "m"
    assert units["cfd.fluid_dynamic_viscosity"] == "Pa.s"
    assert units["cfd.fluid_density"] == "kg/m3"
    assert units["packing.gravity"] == "m/s2"
    assert units["particles.restitution"] is None


def test_sections_are_separate_per_spec():
    a, b = BedSpec(), BedSpec()
    a.particles.diameter = 0.004
    assert b.particles.diameter == 0.005


def test_to_dict_is_complete_json_and_round_trips():
    spec = BedSpec(name="x")
    data = spec.to_dict()
    assert data["format"] == "bedflow.bed/1"
    assert set(data) == {"format", "name", "description", *SECTION_CLASSES}
    for key, cls in SECTION_CLASSES.items():
        assert list(data[key]) == cls.field_names()
    assert BedSpec.from_dict(json.loads(json.dumps(data))) == spec


def test_from_dict_partial_takes_defaults():
    spec = BedSpec.from_dict({"bed": {"diameter": 0.03}})
    assert spec.bed.diameter == 0.03
    assert spec.bed.height == BedSpec().bed.height


def test_numbers_are_canonicalised():
    a = BedSpec.from_dict({"bed": {"diameter": 0.03}, "cfd": {"max_iterations": 100.0}})
    assert isinstance(a.cfd.max_iterations, int)
    b = BedSpec.from_dict({"particles": {"density": 2500}})
    assert isinstance(b.particles.density, float)
    c = BedSpec.from_dict({"bed": {"roughness": -0.0}})
    assert math.copysign(1.0, c.bed.roughness) == 1.0


def test_validation_lists_every_problem_with_paths():
    with pytest.raises(BedValidationError) as info:
        BedSpec.from_dict(
            {
                "bed": {"diameter": -1.0, "height": "tall"},
                "particles": {"restitution": 2.0, "kind": "pyramid", "colour": "red"},
                "cfd": {"fluid_dynamic_viscosity": 0.0, "processes": 1.5},
                "mesh": {},
            }
        )
    paths = info.value.paths
    for expected in [
        "bed.diameter",
        "bed.height",
        "particles.restitution",
        "particles.kind",
        "particles.colour",
        "cfd.fluid_dynamic_viscosity",
        "cfd.processes",
        "mesh",
    ]:
        assert expected in paths, (expected, paths)
    text = str(info.value)
    assert "8 problems" in text
    assert "mesh: unknown section" in text


def test_particle_must_be_smaller_than_bed():
    with pytest.raises(BedValidationError) as info:
        BedSpec.from_dict({"bed": {"diameter": 0.05}, "particles": {"diameter": 0.06}})
    assert "particles.diameter: must be < bed.diameter (50 mm)" in str(info.value)


def test_cylinders_must_fit_in_any_orientation():
    with pytest.raises(BedValidationError) as info:
        BedSpec.from_dict(
            {
                "bed": {"diameter": 0.02},
                "particles": {"kind": "cylinder", "diameter": 0.01, "length": 0.02},
                "packing": {"method": "rigid_body"},
            }
        )
    assert "spans 22.3607 mm" in str(info.value)


def test_count_must_fit_and_names_capacity():
    with pytest.raises(BedValidationError) as info:
        BedSpec.from_dict({"particles": {"count": 1_000_000}})
    message = str(info.value)
    assert "particles.count" in message
    bed = BedSpec().bed
    capacity = int(0.74 * bed.volume() / (math.pi * 0.005**3 / 6))
    assert f"at most {capacity} fit" in message
    # the capacity itself is accepted
    BedSpec.from_dict({"particles": {"count": capacity}})


def test_porosity_below_limit_is_rejected():
    with pytest.raises(BedValidationError) as info:
        BedSpec.from_dict({"particles": {"target_porosity": 0.2}})
    assert "particles.target_porosity: must be ≥ 0.26" in str(info.value)


def test_exclusive_pairs_clear_each_other():
    spec = BedSpec.from_dict({"particles": {"target_porosity": 0.4}})
    assert spec.particles.count is None and spec.particles.target_porosity == 0.4
    spec = BedSpec.from_dict({"cfd": {"inlet_velocity": 0.01}})
    assert spec.cfd.particle_reynolds is None
    with pytest.raises(BedValidationError, match="not both"):
        BedSpec.from_dict({"particles": {"target_porosity": 0.4, "count": 10}})
    with pytest.raises(BedValidationError, match="set inlet_velocity or particle_reynolds"):
        BedSpec.from_dict({"cfd": {"inlet_velocity": None, "particle_reynolds": None}})


def test_a_spec_from_field_paths_is_checked_field_by_field_and_optionally_against_the_rules():
    from pipeline.spec.bedspec import exclusive_partner

    assert exclusive_partner("particles.count") == "particles.target_porosity"
    assert exclusive_partner("cfd.particle_reynolds") == "cfd.inlet_velocity" and exclusive_partner("bed.height") is None
    paths = {"name": "draft", "particles.count": 10, "particles.target_porosity": 0.4}  # both of a pair: a rule
    with pytest.raises(BedValidationError, match="not both"):
        BedSpec.from_paths(paths)
    draft = BedSpec.from_paths(paths, rules=False)  # what a form holds while someone edits it
    assert (draft.name, draft.particles.count, draft.particles.target_porosity) == ("draft", 10, 0.4)
    with pytest.raises(BedValidationError, match="particles.count: must be a whole number") as refused:
        BedSpec.from_paths({**paths, "particles.count": 2.5}, rules=False)  # a field's own check always runs
    assert [p.path for p in refused.value.problems] == ["particles.count"]
    spec = BedSpec().updated({"particles.count": 12, "name": "every field"})
    every = {"name": spec.name, "description": spec.description, **{p: spec.get(p) for p in BedSpec.field_paths()}}
    assert BedSpec.from_paths(every) == spec


def test_lids_need_thickness_unless_absent():
    with pytest.raises(BedValidationError, match=r"lids.top_thickness: must be > 0 m for a flat lid"):
        BedSpec.from_dict({"lids": {"top_thickness": 0.0}})
    BedSpec.from_dict({"lids": {"top_type": "none", "top_thickness": 0.0}})


def test_native_packer_refuses_non_spheres():
    with pytest.raises(BedValidationError, match="native packer packs spheres only"):
        BedSpec.from_dict({"particles": {"kind": "cube"}})
    BedSpec.from_dict({"particles": {"kind": "cube"}, "packing": {"method": "rigid_body"}})


def test_tolerances_relative_to_particle():
    with pytest.raises(BedValidationError) as info:
        BedSpec.from_dict({"packing": {"collision_margin": 0.003}, "export": {"merge_distance": 1e-4}})
    assert set(info.value.paths) == {"packing.collision_margin", "export.merge_distance"}


def test_clearance_must_leave_room():
    with pytest.raises(BedValidationError, match="bed.clearance"):
        BedSpec.from_dict({"bed": {"clearance": 0.01}})


def test_rules_skip_fields_that_already_failed():
    with pytest.raises(BedValidationError) as info:
        BedSpec.from_dict({"bed": {"diameter": "wide"}, "particles": {"diameter": 0.1}})
    assert info.value.paths == ["bed.diameter"]  # no echo about particles vs bed


def test_problems_on_mutated_instance():
    spec = BedSpec()
    spec.particles.diameter = 0.03  # param allows it (within bounds); the rules do not
    assert [p.path for p in spec.problems()] == ["particles.diameter", "particles.count"]
    with pytest.raises(BedValidationError):
        spec.validate()


def test_param_rejects_out_of_bounds_assignment():
    spec = BedSpec()
    with pytest.raises(ValueError):
        spec.bed.diameter = -0.01


def test_digest_ignores_key_order_name_and_description():
    a = BedSpec.from_dict({"name": "a", "bed": {"diameter": 0.03, "height": 0.05}})
    b = BedSpec.from_dict({"description": "other", "bed": {"height": 0.05, "diameter": 0.03}})
    assert a.digest() == b.digest()
    assert len(a.digest()) == 64


def test_digest_changes_with_physics_and_sections():
    a = BedSpec()
    b = a.updated({"cfd.fluid_density": 1000.0})
    assert a.digest() != b.digest()
    packing_sections = ("bed", "lids", "particles", "packing")
    assert a.digest(*packing_sections) == b.digest(*packing_sections)
    with pytest.raises(KeyError):
        a.digest("mesh")


def test_digest_of_default_spec_is_pinned():
    # Stored packings and meshes are found by digest. If this changes (a new field, a new default),
    # old artifacts stop being reused: make that a deliberate decision and update the constant.
    assert BedSpec().digest() == DEFAULT_DIGEST


DEFAULT_DIGEST = "435d331c5fb5ee6140c559898d0cdfd0ac8aa6512b0f58d079f05b9f77043bcb"  # packing.contact_treatment auto (bridges for spheres)


def test_updated_returns_validated_copy():
    spec = BedSpec()
    new = spec.updated({"particles.target_porosity": 0.45, "name": "loose"})
    assert new.particles.count is None and new.name == "loose"
    assert spec.particles.count == 90
    with pytest.raises(BedValidationError):
        spec.updated({"particles.diameter": 1.0})
    with pytest.raises(BedValidationError, match="unknown"):
        spec.updated({"nozzle.size": 1.0})


def test_get_by_path():
    spec = BedSpec()
    assert spec.get("bed.diameter") == 0.025
    assert spec.get("name") == "unnamed"
    with pytest.raises(KeyError):
        spec.get("bed.colour")


def test_velocity_and_reynolds_agree():
    spec = BedSpec()  # Re_p = 5 given
    u = spec.superficial_velocity()
    cfd = spec.cfd
    assert u == pytest.approx(5 * cfd.fluid_dynamic_viscosity / (cfd.fluid_density * 0.005))
    other = spec.updated({"cfd.inlet_velocity": u})
    assert other.particle_reynolds() == pytest.approx(5.0)
    assert other.superficial_velocity() == u


def test_equivalent_diameter_and_volume():
    spec = BedSpec.from_dict(
        {"particles": {"kind": "cylinder", "diameter": 0.004, "length": 0.006}, "packing": {"method": "rigid_body"}}
    )
    p = spec.particles
    assert p.volume() == pytest.approx(math.pi / 4 * 0.004**2 * 0.006)
    assert math.pi / 6 * p.equivalent_diameter() ** 3 == pytest.approx(p.volume())


def test_json_errors_are_validation_errors():
    with pytest.raises(BedValidationError, match="not valid JSON"):
        BedSpec.from_json("{")
    with pytest.raises(BedValidationError, match="must be a mapping"):
        BedSpec.from_dict([1, 2])  # type: ignore[arg-type]
    with pytest.raises(BedValidationError, match="unsupported format"):
        BedSpec.from_dict({"format": "bedflow.bed/99"})


# -- names and descriptions: one line of printable text, bounded ---------------------------------------
@pytest.mark.parametrize("name, fragment", [
    ("x" * 201, "at most 200 characters, got 201"),
    ("bad\x1b[31mred", "\\x1b (control character) at character 4"),
    ("two\nlines", "\\x0a"),
    ("tab\there", "\\x09"),
    ("del\x7f", "\\x7f"),
    ("csi\x9b31m", "\\x9b"),
    ("evil\u202egnp.exe", "\\u202e (right-to-left override) at character 5"),
    ("isolate\u2066x\u2069", "\\u2066 (left-to-right isolate)"),
    ("mark\u200f", "\\u200f (right-to-left mark)"),
    ("line\u2028sep", "\\u2028 (line separator)"),
    ("half\ud800", "\\ud800"),
])
def test_names_are_one_short_line_of_printable_text(name, fragment):
    with pytest.raises(BedValidationError) as info:
        BedSpec.from_dict({"name": name})
    assert info.value.paths == ["name"] and fragment in str(info.value)
    assert [p.path for p in BedSpec(name=name).problems()] == ["name"]  # built directly: validate() says so too
    with pytest.raises(BedValidationError):
        BedSpec().updated({"name": name})


def test_names_of_any_script_and_long_descriptions_are_fine():
    for name in ("x" * 200, "🧪" * 200, "Schüttung – 球床 – طبقة", "a b_c-d.e (f) [g] 'h' \"i\""):
        assert BedSpec.from_dict({"name": name}).name == name
    text = "First line.\n\tIndented second line with a tab.\n" + "y" * 1_900
    assert BedSpec.from_dict({"description": text}).description == text
    with pytest.raises(BedValidationError, match=r"description: must be at most 2,000 characters, got 2,001"):
        BedSpec.from_dict({"description": "y" * 2_001})
    with pytest.raises(BedValidationError, match=r"description: must not contain \\x1b"):
        BedSpec.from_dict({"description": "ok\n\x1b]0;title\x07"})
    with pytest.raises(BedValidationError, match=r"description: must not contain \\u202e"):
        BedSpec.from_dict({"description": "a\u202eb"})
    with pytest.raises(BedValidationError, match=r"bed.material: must not contain \\x1b"):
        BedSpec.from_dict({"bed": {"material": "glass\x1b[2J"}})
