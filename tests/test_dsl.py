import math
import re
from pathlib import Path

import pytest

from pipeline import BedSpec, BedSyntaxError, BedValidationError, format_bed, parse_bed, read_bed
from pipeline.presets import load_preset, preset_names


def syntax_error(text: str) -> BedSyntaxError:
    with pytest.raises(BedSyntaxError) as info:
        parse_bed(text, filename="t.bed")
    return info.value


def test_examples_parse_and_round_trip(examples):
    assert {p.stem for p in examples} == set(preset_names())
    for path in examples:
        spec = read_bed(path)
        assert parse_bed(spec.to_bed()) == spec
        assert parse_bed(spec.to_bed(comments=True)) == spec


def test_required_examples_exist():
    small = load_preset("small_spheres")
    assert small.particles.kind == "sphere"
    assert small.particles.diameter == pytest.approx(0.005)
    assert small.bed.diameter == pytest.approx(0.025)
    assert load_preset("spheres_dd10").aspect_ratio() == pytest.approx(10.0)
    assert load_preset("cylinders").particles.kind == "cylinder"


def test_units_are_converted_to_si():
    spec = parse_bed(
        """
        bed { diameter = 2.5 cm; height = 40 mm; }
        particles { diameter = 5e-3 m; density = 2.5 g/cm3; }
        cfd { fluid_dynamic_viscosity = 1.8e-5 Pa.s; fluid_density = 1.2 kg/m^3; inlet_velocity = +12.5 cm/s; }
        packing { gravity = 9.81 m/s2; max_time = 0.5 min; rest_velocity = .4 mm/s; }
        """
    )
    assert spec.bed.diameter == pytest.approx(0.025)
    assert spec.bed.height == pytest.approx(0.04)
    assert spec.particles.density == pytest.approx(2500)
    assert spec.cfd.fluid_dynamic_viscosity == pytest.approx(1.8e-5)
    assert spec.cfd.inlet_velocity == pytest.approx(0.125)
    assert spec.cfd.particle_reynolds is None  # cleared: inlet_velocity given
    assert spec.packing.max_time == pytest.approx(30.0)
    assert spec.packing.rest_velocity == pytest.approx(4e-4)


def test_comments_strings_booleans_lists_and_none():
    spec = parse_bed(
        """
        // line comment
        name = "with \\"quotes\\" // not a comment";
        /* block
           comment */ description = "é unicode";
        export { formats = ["stl", obj, "glb",]; manifold_check = false; }
        particles { count = none; target_porosity = 0.42; }
        lids { top_type = "none"; bottom_type = hemispherical; }
        """
    )
    assert spec.name == 'with "quotes" // not a comment'
    assert spec.description == "é unicode"
    assert spec.export.formats == ["stl", "obj", "glb"]
    assert spec.export.manifold_check is False
    assert spec.particles.count is None and spec.particles.target_porosity == 0.42
    assert spec.lids.top_type == "none" and spec.lids.bottom_type == "hemispherical"


def test_empty_text_is_the_default_spec():
    assert parse_bed("") == BedSpec()
    assert parse_bed("// nothing\n") == BedSpec()


def test_error_names_file_line_column_with_caret():
    err = syntax_error("bed {\n    diameter = 5 furlong;\n}\n")
    assert (err.line, err.column) == (2, 18)
    text = str(err)
    assert text.startswith("t.bed:2:18: error: unknown unit 'furlong' for bed.diameter")
    lines = text.splitlines()
    assert lines[1].endswith("diameter = 5 furlong;")
    assert lines[2].index("^") == lines[1].index("furlong")
    assert lines[2].count("^") == len("furlong")


@pytest.mark.parametrize(
    "text, line, column, fragment",
    [
        ("mesh { }", 1, 1, "unknown section 'mesh'"),
        ("partcles { }", 1, 1, "did you mean 'particles'"),
        ("bed { heigth = 1 m; }", 1, 7, "unknown key 'heigth' in section 'bed' (did you mean 'height'?)"),
        ("bed { height = 1 m; height = 2 m; }", 1, 21, "duplicate key 'bed.height' (first given at line 1)"),
        ("bed { }\nbed { }", 2, 1, "duplicate section 'bed'"),
        ("bed { height = 1 m\n}", 1, 19, "expected ';' after the value of 'bed.height'"),
        ("bed { height = 1 kg; }", 1, 18, "unit 'kg' is a mass, but bed.height is a length"),
        ("bed { height = 1; }", 1, 17, "bed.height needs a unit (a length: m"),
        ("particles { restitution = 0.5 mm; }", 1, 31, "dimensionless; remove the unit 'mm'"),
        ("bed { height = 1e999 m; }", 1, 16, "out of range"),
        ('name = "open', 1, 8, "unterminated string"),
        ("/* open", 1, 1, "unterminated comment"),
        ("bed { height = 1 m; } @", 1, 23, "unexpected character '@'"),
        ("bed { height = 1 m;", 1, 20, "is not closed"),
        ("bed { height = tall; }", 1, 16, "bed.height expects a number"),
        ('bed { material = glass; }', 1, 18, "expects a string in quotes"),
        ("export { manifold_check = yes; }", 1, 27, "expects true or false"),
        ("export { formats = stl; }", 1, 20, "expected '['"),
        ("export { formats = [stl obj]; }", 1, 25, "expected ',' or ']'"),
        ("bed { = 1 m; }", 1, 7, "expected a key of section 'bed'"),
        ("name = 5;", 1, 8, "'name' must be a string in quotes"),
        ('name = "a\\q";', 1, 8, "invalid escape"),
        ("bed diameter = 1 m;", 1, 5, "expected '{' after section name 'bed'"),
    ],
)
def test_syntax_errors(text, line, column, fragment):
    err = syntax_error(text)
    assert fragment in err.message, err.message
    assert (err.line, err.column) == (line, column), str(err)


def test_value_errors_point_into_the_file():
    text = "bed {\n    diameter = 25 mm;\n}\nparticles {\n    diameter = 30 mm;\n    restitution = 1.5;\n}\n"
    with pytest.raises(BedValidationError) as info:
        parse_bed(text, filename="v.bed")
    rendered = [str(p) for p in info.value.problems]
    assert "v.bed:6:19: particles.restitution: must be between 0 and 1, got 1.5" in rendered
    assert "v.bed:5:16: particles.diameter: must be < bed.diameter (25 mm)" in rendered
    assert info.value.problems[0].location.line == 6


def test_bad_choice_is_a_validation_error_at_the_value():
    with pytest.raises(BedValidationError) as info:
        parse_bed("particles {\n kind = pyramid;\n}", filename="k.bed")
    problem = info.value.problems[0]
    assert problem.path == "particles.kind"
    assert (problem.location.line, problem.location.column) == (2, 9)
    assert "must be one of sphere, cylinder, cube" in problem.message


def test_integer_fields_read_exact_integers():
    spec = parse_bed("particles { seed = 4294967295; count = 1e2; }")
    assert spec.particles.seed == 2**32 - 1
    assert spec.particles.count == 100 and isinstance(spec.particles.count, int)
    with pytest.raises(BedValidationError, match="whole number"):
        parse_bed("particles { count = 10.5; }")


def test_read_bed_reads_paths_and_names_missing_files(tmp_path: Path):
    path = tmp_path / "x.bed"
    path.write_text("bed { diameter = 30 mm; }")
    assert read_bed(path).bed.diameter == pytest.approx(0.03)
    assert read_bed(str(path)).bed.diameter == pytest.approx(0.03)
    with pytest.raises(BedSyntaxError, match="file not found"):
        read_bed(tmp_path / "missing.bed")
    (tmp_path / "bin.bed").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(BedSyntaxError, match="not UTF-8"):
        read_bed(tmp_path / "bin.bed")


def test_writer_output_is_si_and_exact():
    spec = BedSpec.from_dict({"cfd": {"fluid_dynamic_viscosity": 1.8e-5, "inlet_velocity": 0.1 + 0.2}})
    text = spec.to_bed()
    assert "fluid_dynamic_viscosity = 1.8e-05 Pa.s;" in text
    assert "inlet_velocity = 0.30000000000000004 m/s;" in text
    assert parse_bed(text).cfd.inlet_velocity == 0.1 + 0.2
    assert not math.isnan(parse_bed(text).cfd.fluid_density)


def test_documented_template_mentions_every_field():
    text = BedSpec().to_bed(comments=True)
    from pipeline.spec import SECTION_CLASSES

    for key, cls in SECTION_CLASSES.items():
        for field in cls.field_names():
            doc = " ".join(cls.param[field].doc.split())
            assert f"    {field} = " in text, field
            assert f"// {doc[:40]}" in text, field
    assert "// Inner diameter D of the column. [1 to 10000 mm]" in text


def test_name_problems_point_into_the_text():
    text = 'bed { diameter = 25 mm; }\nname = "ok \\u001b[31m red";\ndescription = "' + "d" * 2001 + '";\n'
    with pytest.raises(BedValidationError) as info:
        parse_bed(text, filename="n.bed")
    lines = str(info.value).splitlines()
    assert "n.bed:2:8: name: must not contain \\x1b (control character) at character 4" in lines[1]
    assert "n.bed:3:15: description: must be at most 2,000 characters, got 2,001" in lines[2]
    assert info.value.paths == ["name", "description"]
    assert len(str(info.value)) < 500  # the message quotes neither value


# -- size limits: lexing is linear, texts are capped ----------------------------------------------------------
def peak_megabytes(action) -> tuple[float, BaseException | None]:
    """Peak memory (MB, tracemalloc) an action allocates, and what it raised."""
    import tracemalloc

    raised = None
    tracemalloc.start()
    try:
        action()
    except BaseException as error:  # noqa: BLE001 - returned to the test
        raised = error
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return peak, raised


def test_a_5_mb_name_is_refused_with_bounded_memory():
    text = 'name = "' + "a" * 5_000_000 + '";\n'  # the old lexer took 1.4 GB for it
    peak, raised = peak_megabytes(lambda: parse_bed(text, filename="big.bed"))
    assert isinstance(raised, BedSyntaxError), raised
    assert str(raised).startswith("big.bed: error: too long: a .bed text may take at most 1,000,000 bytes")
    assert peak < 50, f"{peak:.0f} MB"


def test_a_string_filling_the_limit_lexes_in_bounded_memory():
    from pipeline.dsl.lexer import MAX_BED_BYTES

    for body in ("a" * (MAX_BED_BYTES - 20), "\\n" * ((MAX_BED_BYTES - 20) // 2)):
        text = f'description = "{body}";'
        peak, raised = peak_megabytes(lambda: parse_bed(text, filename="d.bed"))  # the old lexer: ~300 MB
        assert isinstance(raised, BedValidationError) and raised.paths == ["description"], raised
        assert "d.bed:1:15: description: must be at most 2,000 characters" in str(raised)
        assert peak < 50, f"{peak:.0f} MB"


def test_texts_and_files_over_the_limit_are_refused_with_the_limit(tmp_path: Path):
    from pipeline.dsl import MAX_BED_BYTES

    line = "// " + "x" * 96 + "\n"
    fits = (line * (MAX_BED_BYTES // len(line) + 1))[:MAX_BED_BYTES]  # comments only: the default bed
    assert len(fits.encode()) == MAX_BED_BYTES and parse_bed(fits) == BedSpec()
    for over in (fits + "\n", fits[:-1] + "é"):  # one byte over: a character or a byte of UTF-8 too many
        with pytest.raises(BedSyntaxError, match="at most 1,000,000 bytes .UTF-8., this one takes 1,000,001"):
            parse_bed(over, filename="editor.bed")
    path = tmp_path / "huge.bed"
    path.write_text(fits + "\n" * 5_000)
    with pytest.raises(BedSyntaxError) as info:
        read_bed(path)
    assert str(info.value) == f"{path}: error: too long: a .bed text may take at most 1,000,000 bytes (UTF-8), " \
                              "this one takes more"
    peak, raised = peak_megabytes(lambda: read_bed("/dev/zero"))  # endless: never read whole
    assert isinstance(raised, BedSyntaxError) and "too long" in str(raised) and peak < 50


def test_long_tokens_are_cut_in_messages_and_huge_integers_are_out_of_range():
    error = syntax_error("bed " + '"' + "q" * 10_000 + '"')
    assert "found string '\"qqqq" in error.message and len(error.message) < 200
    error = syntax_error("particles { count = " + "9" * 5_000 + "; }")  # int() itself refuses > 4300 digits
    assert error.message.startswith("number 9999") and error.message.endswith("… is out of range")
    assert (error.line, error.column) == (1, 21)


# -- text and files: two entry points, no guessing ---------------------------------------------------------------
def test_parse_bed_reads_text_only_never_a_file(tmp_path: Path, monkeypatch):
    bait = tmp_path / "x.bed"
    bait.write_text("bed { diameter = 30 mm; }")  # what the old guess read for a one-line text "x.bed"
    monkeypatch.chdir(tmp_path)
    for text in ("x.bed", str(bait), "/etc/passwd.bed", "../../x.bed"):
        with pytest.raises(BedSyntaxError) as info:
            parse_bed(text, filename="editor.bed")
        assert info.value.location.filename == "editor.bed" and info.value.line == 1, text  # a syntax error in text
        assert "file not found" not in str(info.value)
    with pytest.raises(TypeError, match=r"not the path '.*x\.bed': use read_bed\(path\)"):
        parse_bed(bait)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="read_bed"):
        parse_bed(b"bed { }")  # type: ignore[arg-type]
    import pipeline

    assert pipeline.read_bed is read_bed and pipeline.read_bed(bait).bed.diameter == pytest.approx(0.03)


def test_read_bed_names_unreadable_paths(tmp_path: Path):
    with pytest.raises(BedSyntaxError, match=r": error: is a folder, not a \.bed file"):
        read_bed(tmp_path)
    (tmp_path / "a.bed").write_text("bed { }")
    with pytest.raises(BedSyntaxError, match=r"a\.bed/b\.bed: error: cannot be read \(Not a directory\)"):
        read_bed(tmp_path / "a.bed" / "b.bed")


def test_presets_are_names_never_paths():
    from pipeline import BedflowError

    for name in ("../examples/small_spheres", "/etc/passwd", "small_spheres.bed", ""):
        with pytest.raises(BedflowError, match="unknown preset"):
            load_preset(name)


def test_gravity_written_with_its_downward_sign_is_its_magnitude():
    """``gravity = -9.81 m/s2`` (how Blender and most people write it) is the same bed as ``9.81 m/s2``."""
    downward = parse_bed("packing { gravity = -9.81 m/s2; }")
    assert downward.packing.gravity == 9.81 and downward == parse_bed("packing { gravity = 9.81 m/s2; }")
    assert downward.digest() == parse_bed("").digest()  # 9.81 is the default: the same packing
    with pytest.raises(BedValidationError, match="packing.gravity: must be"):
        parse_bed("packing { gravity = 0 m/s2; }")


def test_lengths_are_written_in_millimetres_and_read_back_exactly():
    """A packed bed's lengths read as researchers write them (``diameter = 25.4 mm;``), stored in SI; a length
    whose millimetre text would not read back to the same float is written as it is stored (in m)."""
    from pipeline.spec.fields import from_display, to_display

    awkward = 0.1 + 0.2  # 0.30000000000000004 m
    spec = BedSpec().updated({"bed.diameter": 0.0254, "bed.height": awkward, "particles.diameter": 0.005,
                              "cfd.inlet_velocity": 0.01, "cfd.particle_reynolds": None}).validate()
    text = format_bed(spec)
    assert "\n    diameter = 25.4 mm;" in text and "\n    diameter = 5 mm;" in text
    assert "inlet_velocity = 0.01 m/s;" in text, "only lengths change unit"
    height = re.search(r"\n    height = (.*);", text)[1]
    assert parse_bed(text) == spec and parse_bed(f"bed {{ height = {height}; }}").bed.height == awkward
    parameter = BedSpec.parameter("bed.diameter")
    assert to_display(parameter, 0.0254) == 25.4 and from_display(parameter, 25.4) == 0.0254
    assert to_display(BedSpec.parameter("particles.count"), 90) == 90


def test_a_length_out_of_bounds_is_told_in_millimetres():
    with pytest.raises(BedValidationError, match=r"bed\.diameter.*must be between 1 and 10000 mm, got 0\.5 mm"):
        parse_bed("bed { diameter = 0.5 mm; }")
