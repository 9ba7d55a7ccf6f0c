"""A small packed bed through the whole chain with real OpenFOAM: bedflow run, as a user runs it."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import tarfile
import threading
import time
from dataclasses import replace

import pytest
from conftest import _alive, _descendants

from pipeline import BedSpec, BedValidationError, parse_bed
from pipeline.cfd.bed import PATCHES, bed_domain
from pipeline.cfd.mesh_size import estimated_cells
from pipeline.db import RunStatus, Simulation
from pipeline.jobs import queue_for, submit
from pipeline.jobs.tasks import stage_task
from pipeline.packing import Packing
from pipeline.results.extract import RunResult
from pipeline.results.presentation import result_rows
from pipeline.runs import (fetch_artifacts, get_run, missing_artifacts, open_services, run, run_folder,
                           run_artifacts)
from pipeline.settings import Settings
from pipeline.workflow import mesh

pytestmark = pytest.mark.slow

SMALL_BED = """
name = "ci-bed";
bed { diameter = 25 mm; height = 40 mm; }
particles { kind = sphere; diameter = 5 mm; count = 90; seed = 42; }
cfd { particle_reynolds = 5; mesh_cells_per_diameter = 10; surface_refinement = 0; boundary_layers = 0;
      convergence = 1e-5; max_iterations = 1500; }
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, bedflow_cmd):
    """`bedflow run ci.bed --json` in a fresh data dir (its own SQLite database and store folder)."""
    folder = tmp_path_factory.mktemp("run")
    (folder / "ci.bed").write_text(SMALL_BED)
    env = {**os.environ, "BEDFLOW_DATA_DIR": str(folder / "data")}
    for name in ("DATABASE_URL", "BEDFLOW_STORE"):
        env.pop(name, None)
    result = subprocess.run([*bedflow_cmd, "run", "ci.bed", "--out", "out", "--json"], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "out", json.loads(result.stdout), Settings.from_env(env, dotenv=None)


@pytest.fixture
def solved(recorded):
    folder, summary, _ = recorded
    return folder, summary


def test_run_json_has_the_promised_keys(solved):
    _, summary = solved
    for key in ("id", "cells", "converged", "iterations", "dp_dz", "dp_inlet_outlet", "porosity_core", "re_p",
                "superficial_velocity", "ergun_dp_dz", "eisfeld_schnitzlein_dp_dz", "ratio_ergun",
                "ratio_eisfeld_schnitzlein", "seconds", "case_dir", "folder"):
        assert key in summary, key
    assert summary["converged"] and summary["cells"] > 50_000
    assert summary["re_p"] == pytest.approx(5.0)


def test_the_result_says_how_far_to_trust_it(solved):
    """The mesh's porosity from cell volumes in the window, the window in diameters, the fit's uncertainty,
    the correlations at the mesh's porosity, and warnings: this short bed (2.3 d of core) is flagged."""
    _, summary = solved
    assert 0.3 < summary["porosity_mesh"] < summary["porosity_core"] + 0.01, summary
    assert 1.5 < summary["window_diameters"] < 5.0
    assert 0 < summary["dp_dz_uncertainty"] < 0.5 * summary["dp_dz"]
    assert summary["dp_dz_r_squared"] > 0.9
    assert set(summary["ratios_at_mesh_porosity"]) == {"ergun", "eisfeld_schnitzlein", "carman", "kta", "beetstra"}
    assert any("core window" in w and "unreliable" in w for w in summary["warnings"]), summary["warnings"]
    result = RunResult.load(solved[0] / "case" / "results.json")
    assert result.warnings() == summary["warnings"]
    shown = {q.key: q for q in result_rows(result)}
    assert shown["porosity_mesh"].text == f"{summary['porosity_mesh']:.4g}"
    assert result.mesh.ok and result.mesh.cells == summary["cells"] and result.mesh.phase_seconds


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
    # meshes and fields are written in binary (ASCII costs minutes on beds of millions of cells)
    for written in ("constant/polyMesh/points", "constant/polyMesh/faces"):
        assert re.search(r"format\s+binary;", (folder / "case" / written).read_bytes()[:2000].decode("latin-1"))
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


def test_the_mesh_porosity_sums_openfoams_own_cell_volumes(solved):
    """The fluid volume bedflow measures is OpenFOAM's: over the whole domain it is checkMesh's total volume (VTK's
    own cell volumes differ by up to a per cent on snapped cells, and VTK gives OpenFOAM's prisms a negative one)."""
    from pipeline.results.extract import read_internal_mesh
    from pipeline.results.profiles import fluid_volume_fraction

    folder, summary = solved
    internal = read_internal_mesh(folder / "case")
    assert (folder / "case" / "log.resultsFunctions").is_file() and "V" in internal.cell_data
    total = float(re.search(r"Total volume = ([0-9.e+-]+?)\.?\s", (folder / "case" / "log.checkMesh").read_text())[1])
    z0, z1 = internal.bounds[4], internal.bounds[5]
    area = math.pi * Packing.load(folder / "packing" / "packing.npz").container.radius ** 2
    assert fluid_volume_fraction(internal, z0, z1, area) * area * (z1 - z0) == pytest.approx(total, rel=1e-6)
    window = summary["window"]
    inside = fluid_volume_fraction(internal, *window, area)
    assert inside == pytest.approx(summary["porosity_mesh"], rel=1e-9)


def test_the_forces_on_wall_and_particles_carry_the_pressure_drop(solved):
    """OpenFOAM's forces on the tube wall and the particles balance the pressure drop from inlet to outlet, and
    the wall takes a smaller share of the drag than of the wetted surface (the wall-corrected correlations assume
    equal shares)."""
    from pipeline.results.forces import read_forces

    folder, summary = solved
    forces = read_forces(folder / "case")
    spec = BedSpec.from_json((folder / "case" / "bed.json").read_text())
    area = math.pi * Packing.load(folder / "packing" / "packing.npz").container.radius ** 2
    assert forces.wall_total + forces.particles_total == pytest.approx(
        summary["dp_inlet_outlet"] / spec.cfd.fluid_density * area, rel=0.02)
    assert 0.0 < forces.wall_total < 0.2 * forces.particles_total
    assert 0.0 < summary["wall_share"] < summary["wall_share_reichelt"] < 0.3


def test_the_flow_channels_along_the_wall(solved):
    """Next to the wall the packing is open (porosity near 1) and the flow takes more than its share of the area;
    half a diameter in, the first layer of spheres packs it tighter than the bed's mean."""
    folder, summary = solved
    result = RunResult.load(folder / "case" / "results.json")
    porosity = result.radial["porosity"]
    assert porosity[0] > 0.7 and min(porosity[:6]) < result.porosity_mesh
    assert summary["near_wall_flow_share"] > summary["near_wall_area_share"] > 0.2
    assert result.radial["velocity_ratio"][0] > 1.0


def test_mesh_is_reused_for_the_same_spec(solved):
    folder, _ = solved
    spec = BedSpec.from_json((folder / "case" / "bed.json").read_text())
    messages: list[str] = []
    quality = mesh(spec, folder, progress=lambda f, m: messages.append(m))
    assert any("reused mesh" in m for m in messages)
    assert quality.ok


def test_the_run_is_recorded_with_every_artifact(recorded, tmp_path):
    _, summary, settings = recorded
    services = open_services(settings)
    run_ = get_run(summary["id"], services=services)
    assert run_.status.value == "succeeded" and run_.completed_stage == "postprocess"
    assert run_.dp_dz == pytest.approx(summary["dp_dz"]) and run_.cells == summary["cells"]
    assert run_.ratio_ergun == pytest.approx(summary["ratio_ergun"]) and run_.converged
    assert set(run_.timings) == {"pack", "mesh", "solve", "postprocess"}
    kinds = {a.kind for a in run_artifacts(run_.id, services=services)}
    assert {"bed", "packing", "stl", "mesh", "case", "vtk", "log", "results"} <= kinds, kinds
    assert missing_artifacts(services=services) == []
    archive = fetch_artifacts(run_.id, "case", tmp_path, services=services)[0]
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert "constant/polyMesh/boundary" in names and "log.simpleFoam" in names
    assert "case.foam" in names  # the archive opens in ParaView as it is
    assert any(name.endswith("/U") and not name.startswith("0/") for name in names), "no solved time in the case"
    assert not any(name.startswith(("processor", "VTK/")) for name in names)


def test_the_run_records_its_folder_and_report_and_render_read_it_without_downloading(recorded, tmp_path,
                                                                                     monkeypatch):
    """``bedflow run --out`` records the folder it ran in; the report and the pictures right after read that
    folder and ask the store for nothing (every read of the store fails here)."""
    from pipeline.reporting import report
    from pipeline.store.local import LocalStore
    from viz.figures import render_run

    folder, summary, settings = recorded
    services = open_services(settings)
    assert summary["folder"] == str(folder.absolute())
    assert get_run(summary["id"], services=services).folder == str(folder.absolute())
    for name, value in {"BEDFLOW_DATA_DIR": str(settings.data_dir)}.items():
        monkeypatch.setenv(name, value)
    for name in ("DATABASE_URL", "BEDFLOW_STORE"):
        monkeypatch.delenv(name, raising=False)
    asked: list[str] = []

    def no_download(self, key):
        asked.append(key)
        raise AssertionError(f"the store was asked for {key}")

    monkeypatch.setattr(LocalStore, "_open", no_download)
    assert run_folder(summary["id"], services=services).root == folder.absolute()
    files = render_run(summary["id"], what=("packing", "plots"), out=tmp_path / "pictures", record=False,
                       services=services)
    assert {"residuals", "pressure-profile", "validation"} <= set(files)
    page = report(summary["id"], out=tmp_path / "report.html")
    assert "run files:" not in page.read_text(), "the report could not read the run's files"
    assert asked == []
    assert not services.work_dir(summary["id"]).exists(), "nothing was copied into a second folder"


def test_a_recorded_run_comes_back_whole_on_a_machine_without_its_folder(recorded):
    _, summary, settings = recorded
    services = open_services(settings)
    with services.db.session() as session:  # as another machine sees it: the recorded folder is not there
        row = session.get(Simulation, summary["id"])
        recorded_at, row.folder = row.folder, "/nonexistent/on/this/machine"
    try:
        folder = run_folder(summary["id"], services=services)
    finally:
        with services.db.session() as session:
            session.get(Simulation, summary["id"]).folder = recorded_at
    assert folder.root == services.work_dir(summary["id"])
    result = RunResult.load(folder.results_file)
    assert result.dp_dz == pytest.approx(summary["dp_dz"])
    assert list(folder.vtk_dir.rglob("*.vtu")) and (folder.case / "constant" / "polyMesh").is_dir()
    assert folder.packing().count == 90


def test_render_draws_every_picture_of_the_run_and_records_them(recorded, bedflow_cmd, tmp_path):
    import numpy as np
    from PIL import Image

    _, summary, settings = recorded
    env = {**os.environ, "BEDFLOW_DATA_DIR": str(settings.data_dir)}
    done = subprocess.run([*bedflow_cmd, "render", str(summary["id"]), "--size", "400", "--out", str(tmp_path),
                           "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    files = json.loads(done.stdout)
    for name in ("packing", "porosity-profiles", "mesh", "velocity", "pressure-field", "residuals",
                 "pressure-profile", "validation"):
        image = np.asarray(Image.open(files[name]).convert("L"), dtype=float)
        assert image.std() > 10, f"{name} looks blank"
    pictures = {a.name for a in run_artifacts(summary["id"], "png", services=open_services(settings))}
    assert {"mesh.png", "velocity.png", "validation.png"} <= pictures


def test_a_new_run_of_the_same_bed_reuses_the_stored_mesh(recorded, tmp_path):
    """A different flow rate on the same packing and mesh, in an empty folder: both come from the store."""
    folder, summary, settings = recorded
    services = open_services(settings)
    spec = BedSpec.from_json((folder / "case" / "bed.json").read_text()).updated({"cfd.particle_reynolds": 2.5})
    messages: list[str] = []
    result = run(spec, folder=tmp_path / "elsewhere", progress=lambda f, m: messages.append(m), services=services)
    assert any("fetched mesh" in m for m in messages), messages
    again, first = get_run(result.run_id, services=services), get_run(summary["id"], services=services)
    assert again.mesh_id == first.mesh_id and again.packing_id == first.packing_id
    assert again.timings["mesh"] < 0.2 * first.timings["mesh"]
    assert result.cells == summary["cells"]
    # Half the velocity, a bit less than half the gradient: the inertial part (Ergun's 1.75 term) falls as u².
    assert 0.45 < result.dp_dz / summary["dp_dz"] < 0.501


def test_the_cell_estimate_comes_close_to_the_real_mesh(solved):
    """The estimate the cell limit (BEDFLOW_MAX_CELLS) is checked with, against the shared bed's real mesh
    (90 spheres, d/10, unrefined: 148 k cells when last measured)."""
    folder, summary = solved
    spec = BedSpec.from_json((folder / "case" / "bed.json").read_text())
    assert 0.85 < estimated_cells(spec) / summary["cells"] < 1.15, (estimated_cells(spec), summary["cells"])


def _command(pid: int) -> str:
    """A process's command line ('' once it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def test_a_solve_over_its_time_limit_is_stopped_and_the_run_fails_with_the_reason(recorded):
    """The shared bed solved to a residual it never reaches, by the worker's own task (in this process) under
    BEDFLOW_MAX_STAGE_SECONDS = 6: simpleFoam is killed and nothing it started is left, the run fails with the
    reason, is not queued again, and the solver's log so far is kept."""
    folder, _, settings = recorded
    spec = BedSpec.from_json((folder / "case" / "bed.json").read_text()).updated(
        {"name": "ci-bed-forever", "cfd.convergence": 1e-15, "cfd.max_iterations": 100_000})
    run_id = submit(spec, settings=settings)
    worker = queue_for(settings)
    assert stage_task(worker, run_id, "pack") == "next" and stage_task(worker, run_id, "mesh") == "next"
    limited = replace(settings, limits=replace(settings.limits, max_stage_seconds=6))
    services = open_services(limited)
    queue = queue_for(limited)
    queue.huey.flush()  # no worker here: this test plays the worker's part
    groups: set[int] = set()
    done = threading.Event()
    before = set(_descendants(os.getpid()))  # servers and browsers other tests of this process started

    def watch_programs() -> None:
        while not done.wait(0.2):
            group = get_run(run_id, services=services).process_group
            if group:
                groups.add(group)

    watcher = threading.Thread(target=watch_programs, daemon=True)
    watcher.start()
    try:
        assert stage_task(queue, run_id, "solve") == "failed"
    finally:
        done.set()
        watcher.join()
    run_ = get_run(run_id, services=services)
    assert run_.status is RunStatus.failed and run_.completed_stage == "mesh"
    assert run_.error == "solve stopped after its time limit of 6 s (BEDFLOW_MAX_STAGE_SECONDS)"
    assert groups, "simpleFoam never showed up on the run's row"
    deadline = time.monotonic() + 10  # killed ones may take a moment to be gone
    while True:
        left = {pid: _command(pid) for pid in set(_descendants(os.getpid())) - before if _alive(pid)}
        solver_side = {pid: cmd for pid, cmd in left.items()
                       if re.search(r"Foam|mpirun|orted|prte|decomposePar", cmd)}
        if not solver_side or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not solver_side, left  # nothing of the solve (any other process born meanwhile is listed for context)
    for group in groups:
        with pytest.raises(ProcessLookupError):
            os.killpg(group, 0)
    assert queue.huey.pending_count() == 0  # not retried
    logs = {a.name for a in run_artifacts(run_id, "log", services=services)}
    assert "log.simpleFoam" in logs
    solver_log = (services.work_dir(run_id) / "case" / "log.simpleFoam").read_text()
    assert solver_log.count("\nTime = ") >= 1 and "End\n" not in solver_log


def test_bad_spec_fails_before_any_program(tmp_path):
    spec = BedSpec()
    spec.particles.diameter = 0.03  # larger than the tube
    with pytest.raises(BedValidationError):
        run(spec, folder=tmp_path / "never")
    assert not (tmp_path / "never").exists()
    assert not (tmp_path / "data").exists()  # nothing recorded either


def test_rans_case_runs_with_wall_functions(tmp_path):
    spec = BedSpec.from_dict({
        "name": "rans", "particles": {"count": 40},
        "cfd": {"regime": "rans_komega_sst", "particle_reynolds": 200, "mesh_cells_per_diameter": 7,
                "surface_refinement": 0, "boundary_layers": 0, "max_iterations": 25, "convergence": 1e-4},
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


def test_a_bed_with_bridges_meshes_and_solves_with_the_porosity_of_its_bridged_solid(tmp_path):
    """Bridges join touching spheres and reach through the tube wall: snappyHexMesh carves the one bridged
    solid (porosity below the nominal one, unlike the gap's) and the flow solves. Unrefined at d/8 the mesh
    closes the narrow pores around contacts, and the run says so."""
    spec = parse_bed(SMALL_BED).updated({"packing.contact_treatment": "bridge", "particles.count": 40,
                                         "cfd.mesh_cells_per_diameter": 8, "cfd.max_iterations": 400})
    result = run(spec, folder=tmp_path / "bridged")
    packing = Packing.load(tmp_path / "bridged" / "packing" / "packing.npz")
    nominal = packing.porosity(result.window)
    assert packing.treatment().kind == "bridge" and result.porosity_core < nominal - 5e-4
    assert 0.2 < result.porosity_mesh < result.porosity_core - 0.01
    assert any("does not keep the geometry" in warning for warning in result.warnings())
    assert result.as_meshed.geometry.particle_diameter == pytest.approx(packing.diameter)  # no shrink
    assert result.converged and result.dp_dz > 0
    boundary = (tmp_path / "bridged" / "case" / "constant" / "polyMesh" / "boundary").read_text()
    assert all(f"{patch}\n" in boundary for patch in PATCHES)


def test_parallel_meshing_matches_serial(tmp_path):
    """snappyHexMesh on two ranks (decomposePar, mpirun, reconstructParMesh), with a surface level and prism
    layers, gives the serial mesh to a few cells, passes checkMesh and leaves no processor folders behind."""
    spec = parse_bed(SMALL_BED).updated({"cfd.mesh_cells_per_diameter": 5, "cfd.surface_refinement": 1,
                                         "cfd.boundary_layers": 2})  # the default refinement, coarser
    serial = mesh(spec, tmp_path / "serial")
    parallel = mesh(spec.updated({"cfd.processes": 2}), tmp_path / "parallel")
    assert parallel.ok and parallel.cells == pytest.approx(serial.cells, rel=0.02)
    for quality in (serial, parallel):  # what each snappyHexMesh phase cost, and the whole
        assert set(quality.phase_seconds) == {"refine", "snap", "layers"}
        assert 0 < sum(quality.phase_seconds.values()) < quality.seconds
    case = tmp_path / "parallel" / "case"
    assert (case / "log.reconstructParMesh").is_file() and not list(case.glob("processor*"))


def test_parallel_solve_matches_serial(solved):
    """Two MPI ranks (decomposePar, mpirun as root, reconstructPar) give the serial answer. Runs last: it
    re-solves the shared case."""
    from pipeline.workflow import solve

    folder, summary = solved
    parallel = solve(folder / "case", processes=2)
    assert parallel.dp_dz == pytest.approx(summary["dp_dz"], rel=0.01)
    assert (folder / "case" / "log.decomposePar").is_file() and (folder / "case" / "log.reconstructPar").is_file()


STUDY_BED = """
name = "study-bed";
bed { diameter = 25 mm; height = 25 mm; }
particles { kind = sphere; diameter = 5 mm; count = 40; seed = 3; }
cfd { particle_reynolds = 5; mesh_cells_per_diameter = 4; surface_refinement = 0; boundary_layers = 0;
      max_iterations = 60; }
"""


def test_a_mesh_study_records_each_resolution_as_a_run_in_one_sweep(tmp_path, bedflow_cmd):
    """``bedflow run --mesh-study --json``: three recorded runs (4, 5, 8 cells per d) in one sweep that ``bedflow
    runs --sweep`` lists, each with its folder under the study's."""
    (tmp_path / "study.bed").write_text(STUDY_BED)
    env = {**os.environ, "BEDFLOW_DATA_DIR": str(tmp_path / "data")}
    for name in ("DATABASE_URL", "BEDFLOW_STORE"):
        env.pop(name, None)
    done = subprocess.run([*bedflow_cmd, "run", "study.bed", "--mesh-study", "--out", "study", "--json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["resolutions"] == [4, 5, 8] and len(set(summary["cells"])) == 3
    assert summary["folders"] == [str(tmp_path / "study" / f"d{n}") for n in (4, 5, 8)]
    listed = subprocess.run([*bedflow_cmd, "runs", "--sweep", str(summary["sweep_id"]), "--json"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr[-3000:]
    runs = json.loads(listed.stdout)
    assert sorted(r["id"] for r in runs) == sorted(summary["run_ids"]) and len(runs) == 3
    assert {r["status"] for r in runs} == {"succeeded"} and sorted(r["resolution"] for r in runs) == [4, 5, 8]
    assert (tmp_path / "study" / "study.json").is_file()
