"""The ``bedflow`` console script, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
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
         ["bad.bed:2:24: particles.diameter: must be < bed.diameter (0.025 m)"]),
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
    assert "porosity" in result.stdout and "Benyahia" in result.stdout
    assert (tmp_path / "data" / "packings").is_dir()
    bad = run(bedflow_cmd, "pack", str(small), "--engine", "lammps")
    assert bad.returncode == 2 and "unknown engine 'lammps'" in bad.stderr


def test_pack_too_many_particles_is_a_clear_error(bedflow_cmd, tmp_path):
    (tmp_path / "full.bed").write_text("bed { diameter = 25 mm; height = 20 mm; } particles { count = 105; }")
    result = run(bedflow_cmd, "pack", "full.bed", cwd=tmp_path)
    assert result.returncode == 2
    assert "do not fit below the column height" in result.stderr and "Traceback" not in result.stderr
