"""The ``bedflow`` console script, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from pipeline import BedSpec, parse_bed, read_bed
from pipeline.presets import load_preset


def run(cmd: list[str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_validate_examples(bedflow_cmd, examples):
    result = run(bedflow_cmd, "validate", *map(str, examples))
    assert result.returncode == 0, result.stderr
    for path in examples:
        assert f"ok {path}" in result.stdout
    assert "D/d = 5.00" in result.stdout


def test_validate_json_is_the_canonical_form(bedflow_cmd, examples):
    result = run(bedflow_cmd, "validate", str(examples[0]), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == read_bed(examples[0]).to_dict()
    many = run(bedflow_cmd, "validate", *map(str, examples), "--json")
    assert [d["name"] for d in json.loads(many.stdout)] == [read_bed(p).name for p in examples]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("bed {\n  diameter = 5 mmm;\n}\n", ["bad.bed:2:16: error: unknown unit 'mmm'", "^^^"]),
        ("bed { diameter = 25 mm; }\nparticles { diameter = 30 mm; }\n",
         ["bad.bed:2:24: particles.diameter: must be < bed.diameter (25 mm)"]),
        ("bed {", ["bad.bed:1:6: error: section 'bed' opened at line 1 is not closed"]),
    ],
)
def test_validate_invalid_file_exits_2_without_traceback(bedflow_cmd, tmp_path, text, expected):
    (tmp_path / "bad.bed").write_text(text)
    result = run(bedflow_cmd, "validate", "bad.bed", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in expected:
        assert fragment in result.stderr


def test_validate_reports_every_bad_file_and_still_checks_good_ones(bedflow_cmd, tmp_path, examples):
    (tmp_path / "a.bed").write_text("oops")
    result = run(bedflow_cmd, "validate", str(tmp_path / "a.bed"), str(examples[0]), str(tmp_path / "none.bed"))
    assert result.returncode == 2
    assert "a.bed:1:1: error: unknown section 'oops'" in result.stderr
    assert "none.bed: error: file not found" in result.stderr
    assert f"ok {examples[0]}" in result.stdout


def test_new_writes_a_documented_valid_template(bedflow_cmd, tmp_path):
    result = run(bedflow_cmd, "new")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("//") > 40
    (tmp_path / "my.bed").write_text(result.stdout)
    spec = read_bed(tmp_path / "my.bed")
    assert spec == BedSpec(name="my-bed")


def test_new_from_preset(bedflow_cmd):
    result = run(bedflow_cmd, "new", "--preset", "cylinders")
    assert result.returncode == 0
    assert parse_bed(result.stdout) == load_preset("cylinders")


def test_unknown_preset_and_usage_errors_exit_2(bedflow_cmd):
    result = run(bedflow_cmd, "new", "--preset", "nope")
    assert result.returncode == 2
    assert "unknown preset 'nope'; choose one of: cylinders, small_spheres, spheres_dd10" in result.stderr
    assert "Traceback" not in result.stderr
    assert run(bedflow_cmd, "validate").returncode == 2
    assert run(bedflow_cmd, "frobnicate").returncode == 2


def test_demo_runs_on_embedded_defaults(bedflow_cmd, tmp_path):
    # The CFD part of the demo is the chain tested in test_bed_cfd.py; here up to the packing.
    result = run(bedflow_cmd, "demo", "--until", "pack", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "small-spheres" in result.stdout
    assert "sqlite:///" in result.stdout
    assert "packed small-spheres with native" in result.stdout
    assert len(list((tmp_path / "data" / "runs").glob("small-spheres-*/packing/particles.stl"))) == 1


def test_pack_json_reports_and_writes_files(bedflow_cmd, tmp_path, examples):
    small = next(p for p in examples if p.stem == "small_spheres")
    result = run(bedflow_cmd, "pack", str(small), "--out", str(tmp_path / "out"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("engine", "count", "porosity", "porosity_meshed", "porosity_correlation", "overlaps", "seconds",
                "packing_file"):
        assert key in report
    assert report["engine"] == "native" and report["count"] == 90 and report["overlaps"] == 0
    assert report["porosity"] - 0.005 < report["porosity_meshed"] < report["porosity"]  # bridges add a little solid
    assert abs(report["porosity_correlation"] - 0.4362) < 1e-3
    assert Path(report["packing_file"]).is_file()
    assert {Path(p).name for p in report["files"].values()} >= {"particles.stl", "wall.stl", "packing.glb"}


def test_render_draws_a_packing_file_and_refuses_nonsense(bedflow_cmd, tmp_path, examples):
    small = next(p for p in examples if p.stem == "small_spheres")
    assert run(bedflow_cmd, "pack", str(small), "--out", str(tmp_path / "out")).returncode == 0
    result = run(bedflow_cmd, "render", str(tmp_path / "out" / "packing.npz"), "--size", "300", "--json")
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout)
    assert set(files) == {"packing", "packing-porosity", "porosity-profiles"}
    assert all(Path(f).stat().st_size > 5000 and Path(f).parent == tmp_path / "out" / "figures" for f in files.values())
    assert run(bedflow_cmd, "render", "nothing-here.npz").returncode == 2
    wrong = run(bedflow_cmd, "render", "1", "--what", "movie")
    assert wrong.returncode == 2 and "choose from packing, mesh, fields, plots" in wrong.stderr


def test_pack_human_output_and_bad_engine(bedflow_cmd, tmp_path, examples):
    small = next(p for p in examples if p.stem == "small_spheres")
    result = run(bedflow_cmd, "pack", str(small), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Porosity of the core" in result.stdout and "Benyahia" in result.stdout
    assert (tmp_path / "data" / "packings").is_dir()
    bad = run(bedflow_cmd, "pack", str(small), "--engine", "lammps")
    assert bad.returncode == 2 and "unknown engine 'lammps'" in bad.stderr


def test_pack_too_many_particles_is_a_clear_error(bedflow_cmd, tmp_path):
    (tmp_path / "full.bed").write_text("bed { diameter = 25 mm; height = 20 mm; } particles { count = 105; }")
    result = run(bedflow_cmd, "pack", "full.bed", cwd=tmp_path)
    assert result.returncode == 2
    assert "do not fit below the column height" in result.stderr and "Traceback" not in result.stderr


# -- user text on the terminal ---------------------------------------------------------------------------
#: A name as a tampered (or old) database row may hold it: a screen clear, a window title, an 8-bit CSI, a
#: right-to-left override and rich markup.
EVIL = "evil\x1b[2J\x1b]0;owned\x07\x9b31m\u202etxt.exe [bold red]x[/bold red]"
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def recorded_evil_run() -> int:
    """A run whose bed name, error and artifact name were changed in the database to :data:`EVIL`."""
    from pipeline.db import Artifact, Bed, Simulation
    from pipeline.runs import create_run, open_services

    found = open_services()
    run_id = create_run(BedSpec.from_dict({"name": "fine", "particles": {"count": 10}}), services=found)
    with found.db.session() as session:
        run_row = session.get(Simulation, run_id)
        session.get(Bed, run_row.bed_id).name = EVIL
        run_row.error, run_row.message = f"failed: {EVIL}\nsecond line", EVIL
        for artifact in session.query(Artifact).all():
            artifact.name = EVIL
    return run_id


def test_names_and_messages_reach_the_terminal_escaped(bedflow_cmd):
    run_id = recorded_evil_run()
    for command in (["runs"], ["show", str(run_id)], ["status", str(run_id)], ["artifacts", str(run_id)]):
        result = run(bedflow_cmd, *command)
        assert result.returncode == 0, result.stderr
        printed = result.stdout + result.stderr
        assert not UNSAFE.search(printed), (command, printed)
        shown = "evil\\x1b[2J\\x1b]0;ow" if command == ["runs"] else "evil\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\u202etxt"
        assert shown in printed, (command, printed)  # the runs table cuts names to 20 characters
    assert "failed: evil\\x1b[2J" in run(bedflow_cmd, "status", str(run_id)).stdout  # its lines kept
    assert "[bold red]x[/bold red]" in run(bedflow_cmd, "show", str(run_id)).stdout


def test_json_output_stays_exact_json_and_safe_to_print(bedflow_cmd):
    run_id = recorded_evil_run()
    for command, value in ((["show", str(run_id)], lambda d: d["bed"]), (["runs"], lambda d: d[0]["bed"]),
                           (["status", str(run_id)], lambda d: d["message"]),
                           (["artifacts", str(run_id)], lambda d: d[0]["name"])):
        result = run(bedflow_cmd, *command, "--json")
        assert result.returncode == 0, result.stderr
        assert value(json.loads(result.stdout)) == EVIL  # the same value, escaped as JSON escapes it
        assert not UNSAFE.search(result.stdout), (command, result.stdout)


def test_error_lines_quoting_a_file_are_escaped(bedflow_cmd, tmp_path):
    (tmp_path / "bad.bed").write_text('bed { material = "glass\x1b[31m"; }\nname = "ok" \u202e;\n')
    result = run(bedflow_cmd, "validate", "bad.bed", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "bad.bed:1:18: error: invalid escape sequence in string" in result.stderr
    assert '1 | bed { material = "glass\\x1b[31m"; }' in result.stderr and not UNSAFE.search(result.stderr)
    (tmp_path / "bad.bed").write_text('name = "ok" \u202e;\n')
    result = run(bedflow_cmd, "validate", "bad.bed", cwd=tmp_path)
    assert "bad.bed:1:13: error: unexpected character '\\u202e'" in result.stderr
    assert '1 | name = "ok" \\u202e;' in result.stderr and not UNSAFE.search(result.stderr)


def test_rich_reads_no_markup_in_names(bedflow_cmd, tmp_path):
    (tmp_path / "m.bed").write_text('name = "[red]mark[/red] [link=http://x.invalid]up[/link]";\n'
                                    "particles { count = 10; }\n")
    result = run(bedflow_cmd, "pack", "m.bed", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "packing [red]mark[/red]" in result.stderr  # the progress bar's label, as written
    assert "packed [red]mark[/red] [link=http://x.invalid]up[/link] with native" in result.stdout


# -- names as folder names, ids from the command line ------------------------------------------------------
def test_long_unicode_names_make_folder_names_that_fit(bedflow_cmd, tmp_path):
    from pipeline.folder import RunFolder
    from pipeline.text import NAME_MAX_BYTES, file_name

    name = "𠀀" * 200  # 200 letters of 4 bytes each: a valid name of 800 bytes
    spec = BedSpec.from_dict({"name": name, "particles": {"count": 10}})
    folder = RunFolder.default(spec).root
    assert len(folder.name.encode()) <= NAME_MAX_BYTES and folder.name.endswith(f"-{spec.digest()[:12]}")
    assert folder.name.startswith("𠀀" * 60)  # whole letters, as many as fit
    folder.mkdir(parents=True)
    assert file_name("é" * 300, "-x").encode() == "é".encode() * 126 + b"-x"  # never half a character
    (tmp_path / "long.bed").write_text(spec.to_bed())
    result = run(bedflow_cmd, "pack", "long.bed", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    made = [p.name for p in (tmp_path / "data" / "packings").iterdir()]
    assert len(made) == 1 and made[0].startswith("𠀀" * 60) and len(made[0].encode()) <= NAME_MAX_BYTES


def unboxed(text: str) -> str:
    """A usage error's words without the box rich draws around them (and its line breaks)."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


def test_run_ids_out_of_range_are_usage_errors(bedflow_cmd):
    commands = [["show"], ["status"], ["watch"], ["cancel"], ["artifacts"], ["fetch", "stl"], ["report"], ["render"]]
    for index, command in enumerate(commands):
        run_id = (0, 2**31, 2**63, 10**30)[index % 4]  # 0; over PostgreSQL's integer; over SQLite's; beyond
        result = run(bedflow_cmd, command[0], str(run_id), *command[1:])
        assert result.returncode == 2 and "Traceback" not in result.stderr, (command, run_id, result.stderr)
        assert f"no run {run_id}: run ids go from 1 to 2,147,483,647" in unboxed(result.stderr), command


def test_ids_out_of_range_on_both_databases(bedflow_cmd, database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url}
    for args, message in ((["show", str(2**63)], f"no run {2**63}:"),
                          (["runs", "--sweep", str(2**31)], f"no sweep {2**31}:"),
                          (["report", "--sweep", str(2**64)], f"no sweep {2**64}:")):
        result = subprocess.run([*bedflow_cmd, *args], capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 2 and "Traceback" not in result.stderr, (args, result.stderr)
        assert message in unboxed(result.stderr), (args, result.stderr)
    found = subprocess.run([*bedflow_cmd, "show", str(2**31 - 1)], capture_output=True, text=True, timeout=120,
                           env=env)
    assert found.returncode == 2 and f"error: no run {2**31 - 1} in" in found.stderr  # in range: looked up


def test_version_comes_from_the_package_metadata(bedflow_cmd):
    """One place sets the version (pyproject.toml); the package metadata, ``pipeline.__version__`` and
    ``bedflow --version`` all read it."""
    import tomllib
    from importlib.metadata import version

    import pipeline
    from conftest import ROOT

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert pipeline.__version__ == version("bedflow") == declared
    result = run(bedflow_cmd, "--version")
    assert (result.returncode, result.stdout) == (0, f"bedflow {declared}\n"), result.stderr
