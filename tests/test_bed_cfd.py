"""A small packed bed through the whole chain with real OpenFOAM: bedflow run, as a user runs it."""

from __future__ import annotations

import json
import math
import subprocess

import pytest

from pipeline import BedSpec, BedValidationError
from pipeline.cfd.bed import PATCHES, bed_domain
from pipeline.packing import Packing
from pipeline.results.extract import RunResult
from pipeline.workflow import mesh, run

pytestmark = pytest.mark.slow

SMALL_BED = """
name = "ci-bed";
bed { diameter = 25 mm; height = 40 mm; }
particles { kind = sphere; diameter = 5 mm; count = 90; seed = 42; }
cfd { particle_reynolds = 5; mesh_cells_per_diameter = 10; convergence = 1e-5; max_iterations = 1500; }
"""


@pytest.fixture(scope="module")
def solved(tmp_path_factory, bedflow_cmd):
    folder = tmp_path_factory.mktemp("run")
    (folder / "ci.bed").write_text(SMALL_BED)
    result = subprocess.run([*bedflow_cmd, "run", "ci.bed", "--out", "out", "--json"], cwd=folder,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "out", json.loads(result.stdout)


def test_run_json_has_the_promised_keys(solved):
    _, summary = solved
    for key in ("cells", "converged", "iterations", "dp_dz", "dp_inlet_outlet", "porosity_core", "re_p",
                "superficial_velocity", "ergun_dp_dz", "eisfeld_schnitzlein_dp_dz", "ratio_ergun",
                "ratio_eisfeld_schnitzlein", "seconds", "case_dir"):
        assert key in summary, key
    assert summary["converged"] and summary["cells"] > 50_000
    assert summary["re_p"] == pytest.approx(5.0)


def test_pressure_gradient_agrees_with_the_correlations(solved):
    _, summary = solved
    assert 0.6 < summary["ratio_ergun"] < 1.4, summary
    assert 0.6 < summary["ratio_eisfeld_schnitzlein"] < 1.4, summary
    assert summary["dp_inlet_outlet"] > 0


def test_patches_and_the_point_inside_the_fluid(solved):
    folder, _ = solved
    boundary = (folder / "case" / "constant" / "polyMesh" / "boundary").read_text()
    assert PATCHES == ("inlet", "outlet", "wall", "particles")
    for patch in PATCHES:
        assert f"{patch}\n" in boundary, patch
    assert (folder / "case" / "Allrun").stat().st_mode & 0o100
    packing = Packing.load(folder / "packing" / "packing.npz")
    domain = bed_domain(packing, 10)
    x, y, z = domain.location_in_mesh()
    assert domain.z0 < z < 0.0  # in the empty entrance, below every particle
    assert math.hypot(x, y) < packing.container.radius
    assert (packing.centres[:, 2] - packing.radius).min() >= 0.0


def test_results_file_round_trips_and_profile_is_monotonic(solved):
    folder, summary = solved
    result = RunResult.load(folder / "case" / "results.json")
    assert result.dp_dz == pytest.approx(summary["dp_dz"])
    p = result.profile["p"]
    assert p[0] > p[len(p) // 2] > p[-1] - 1e-9  # pressure falls along the flow
    assert 0.3 < result.porosity_mesh < result.porosity_core < 0.6
    vtk = list((folder / "case" / "VTK").rglob("*.vt*"))
    assert result.vtk_dir and vtk, "foamToVTK wrote nothing"


def test_mesh_is_reused_for_the_same_spec(solved):
    folder, _ = solved
    spec = BedSpec.from_json((folder / "case" / "bed.json").read_text())
    messages: list[str] = []
    quality = mesh(spec, folder, progress=lambda f, m: messages.append(m))
    assert any("reused mesh" in m for m in messages)
    assert quality["ok"]


def test_bad_spec_fails_before_any_program(tmp_path):
    spec = BedSpec()
    spec.particles.diameter = 0.03  # larger than the tube
    with pytest.raises(BedValidationError):
        run(spec, folder=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_rans_case_runs_with_wall_functions(tmp_path):
    spec = BedSpec.from_dict({
        "name": "rans", "particles": {"count": 40},
        "cfd": {"regime": "rans_komega_sst", "particle_reynolds": 200, "mesh_cells_per_diameter": 7,
                "max_iterations": 25, "convergence": 1e-4},
    })
    result = run(spec, folder=tmp_path / "rans")
    case = tmp_path / "rans" / "case"
    assert "kOmegaSST" in (case / "constant" / "turbulenceProperties").read_text()
    for name, wall in (("k", "kqRWallFunction"), ("omega", "omegaWallFunction"), ("nut", "nutkWallFunction")):
        text = (case / "0" / name).read_text()
        assert wall in text and "particles" in text
    assert "kOmegaSST" in (case / "log.simpleFoam").read_text()
    assert result.iterations == 25 and not result.converged
    assert {"k", "omega"} <= set(result.residuals)
    assert result.dp_dz > 0


def test_parallel_solve_matches_serial(solved):
    """Two MPI ranks (decomposePar, mpirun as root, reconstructPar) give the serial answer. Runs last: it
    re-solves the shared case."""
    from pipeline.workflow import solve

    folder, summary = solved
    parallel = solve(folder / "case", processes=2)
    assert parallel.dp_dz == pytest.approx(summary["dp_dz"], rel=0.01)
    assert (folder / "case" / "log.decomposePar").is_file() and (folder / "case" / "log.reconstructPar").is_file()
