"""Recorded runs on real services: SQLite + a local folder, PostgreSQL + an S3 server (moto's, via the minio SDK).

Pack-only runs keep these fast; the full chain (mesh, solve, postprocess) is
recorded in ``test_bed_cfd.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipeline import BedSpec
from pipeline.cli.main import main
from pipeline.db import Artifact, Packing, RunStatus
from pipeline.runs import (RunError, StageError, create_run, execute, fetch_artifacts, get_run, list_runs,
                           missing_artifacts, open_services, run_artifacts, run_stage, runs_frame)
from pipeline.settings import Settings
from pipeline.store import StoreError
from pipeline.testing import LocalS3Server

SMALL = {"name": "recorded", "particles": {"count": 40, "seed": 7}, "cfd": {"particle_reynolds": 2}}


def small_spec(**changes) -> BedSpec:
    spec = BedSpec.from_dict(SMALL)
    return spec.updated(changes) if changes else spec


@pytest.fixture(params=["sqlite+local", "postgresql+s3"])
def services(request, tmp_path, monkeypatch):
    env = {"BEDFLOW_DATA_DIR": str(tmp_path / "data")}
    if request.param == "postgresql+s3":
        env.update(request.getfixturevalue("s3_server"), DATABASE_URL=request.getfixturevalue("postgres_url"),
                   BEDFLOW_STORE=f"s3://runs-{tmp_path.name.lower().replace('_', '-')[-40:]}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the CLI commands below read the same settings
    return open_services(Settings.from_env(env, dotenv=None))


def test_a_pack_only_run_is_recorded_with_its_artifacts(services):
    messages: list[str] = []
    run_id = create_run(small_spec(), until="pack", created_by="ana", services=services)
    assert get_run(run_id, services=services).status is RunStatus.queued
    final = execute(run_id, progress=lambda f, m: messages.append(m), services=services)
    assert final.status is RunStatus.succeeded and final.completed_stage == "pack" and final.progress == 1.0
    assert final.started_at <= final.finished_at and final.attempts == 1 and final.heartbeat_at is not None
    assert set(final.timings) == {"pack"}
    provenance = final.provenance
    assert provenance["openfoam"] == "v1912" and provenance["blender"] and provenance["seed"] == 7
    assert provenance["packages"]["numpy"] and provenance["host"]
    kinds = {a.kind for a in run_artifacts(run_id, services=services)}
    assert {"bed", "packing", "stl"} <= kinds
    with services.db.session() as session:
        packing = session.get(Packing, final.packing_id)
        assert packing.count == 40 and 0.3 < packing.porosity < 0.7
        assert packing.porosity - 0.01 < packing.porosity_gap < packing.porosity  # as meshed: bridges add solid
    assert missing_artifacts(services=services) == []
    bed_text = fetch_artifacts(run_id, "bed", services.settings.data_dir / "out", services=services)[0].read_text()
    assert BedSpec.from_dict(get_run(run_id, services=services).spec).to_bed() == bed_text


def test_a_second_run_on_another_machine_fetches_the_packing_instead_of_packing(services):
    first = create_run(small_spec(), until="pack", services=services)
    execute(first, services=services)
    shutil.rmtree(services.work_dir(first))  # as if the next run ran on another machine
    messages: list[str] = []
    second = create_run(small_spec(**{"cfd.particle_reynolds": 20}), until="pack", services=services)
    execute(second, progress=lambda f, m: messages.append(m), services=services)
    assert any("fetched packing" in m for m in messages), messages
    assert get_run(second, services=services).packing_id == get_run(first, services=services).packing_id
    with services.db.session() as session:
        assert session.scalar(select(func.count(Packing.id))) == 1
    frame = runs_frame(services=services)
    assert list(frame.index) == [second, first] and set(frame["status"]) == {"succeeded"}
    assert [r.id for r in list_runs(ranges={"re_p": (10, None)}, services=services)] == [second]


def test_cli_lists_shows_and_fetches_recorded_runs(services, tmp_path, capsys):
    run_id = create_run(small_spec(), until="pack", services=services)
    execute(run_id, services=services)
    capsys.readouterr()
    assert main(["runs", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in listed] == [run_id] and listed[0]["status"] == "succeeded"
    assert main(["runs", "--status", "failed", "--json"]) == 0 and json.loads(capsys.readouterr().out) == []
    assert main(["runs", "--status", "nonsense"]) == 2
    assert "unknown status" in capsys.readouterr().err
    assert main(["show", str(run_id), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["spec"]["name"] == "recorded" and shown["provenance"]["openfoam"] == "v1912"
    assert main(["artifacts", str(run_id), "--json"]) == 0
    artifacts = json.loads(capsys.readouterr().out)
    assert {"bed", "packing", "stl"} <= {a["kind"] for a in artifacts}
    assert main(["fetch", str(run_id), "stl", "--out", str(tmp_path / "got")]) == 0
    fetched = capsys.readouterr().out.split()
    assert fetched and all(Path(p).stat().st_size > 1000 for p in fetched)
    assert main(["fetch", str(run_id), "vtk"]) == 2
    assert "has no 'vtk' artifact" in capsys.readouterr().err
    assert main(["show", "999999"]) == 2
    assert "no run 999999" in capsys.readouterr().err
    assert main(["db", "current", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["revision"] == open_services().db.head_revision()


def test_runs_export_as_csv_and_parquet_with_inputs_results_and_units(services, tmp_path, capsys):
    """One row per run: every spec field and the results, SI units in the column names; CSV to standard output
    or a file, Parquet to a file (the same table either way)."""
    import io

    import pandas

    run_id = create_run(small_spec(), until="pack", services=services)
    execute(run_id, services=services)
    capsys.readouterr()
    assert main(["runs", "--format", "csv"]) == 0
    frame = pandas.read_csv(io.StringIO(capsys.readouterr().out), index_col="id")
    assert list(frame.index) == [run_id] and frame.at[run_id, "status"] == "succeeded"
    assert frame.at[run_id, "spec.bed.diameter [m]"] == small_spec().bed.diameter
    assert frame.at[run_id, "spec.particles.count"] == small_spec().particles.count
    assert frame.at[run_id, "re_p [-]"] == pytest.approx(small_spec().particle_reynolds())
    assert {"dp_dz [Pa/m]", "superficial_velocity [m/s]", "spec.cfd.fluid_dynamic_viscosity [Pa.s]",
            "spec.packing.method"} <= set(frame.columns)
    assert main(["runs", "--format", "parquet", "--out", str(tmp_path / "runs.parquet")]) == 0
    stored = pandas.read_parquet(tmp_path / "runs.parquet")
    assert list(stored.index) == [run_id] and list(stored.columns) == list(frame.columns)
    assert main(["runs", "--out", str(tmp_path / "runs.csv"), "--status", "failed"]) == 0  # format from the name
    assert pandas.read_csv(tmp_path / "runs.csv").empty
    assert main(["runs", "--format", "parquet"]) == 2 and "--out" in capsys.readouterr().err
    assert main(["runs", "--format", "xlsx"]) == 2 and "unknown export format" in capsys.readouterr().err


def test_a_stage_without_its_inputs_says_which_stage_to_run(services):
    run_id = create_run(small_spec(), services=services)
    with pytest.raises(StageError, match="run the pack stage"):
        run_stage(run_id, "mesh", services=services)
    with pytest.raises(RunError, match="unknown stage"):
        run_stage(run_id, "polish", services=services)
    with pytest.raises(RunError, match="until must be one of"):
        create_run(small_spec(), until="everything", services=services)


def test_finished_runs_are_not_executed_again(services):
    run_id = create_run(small_spec(), until="pack", services=services)
    execute(run_id, services=services)
    with pytest.raises(RunError, match="succeeded, not queued; nothing to execute"):
        execute(run_id, services=services)


def test_store_lost_mid_run_fails_the_run_and_records_no_artifact(tmp_path):
    """The S3 server goes away after the run is created: packing works, its upload fails, no row points to
    nothing."""
    server = LocalS3Server().start()
    env = {"BEDFLOW_DATA_DIR": str(tmp_path / "data"), "BEDFLOW_STORE": "s3://lost", **server.settings}
    services = open_services(Settings.from_env(env, dotenv=None))
    run_id = create_run(small_spec(), until="pack", services=services)
    server.stop()
    with pytest.raises(StoreError):
        execute(run_id, services=services)
    run = get_run(run_id, services=services)
    assert run.status is RunStatus.failed and server.endpoint in run.error, run.error
    assert run.packing_id is None and run.finished_at is not None
    with services.db.session() as session:
        assert session.scalar(select(func.count(Packing.id))) == 0
        assert [a.name for a in session.scalars(select(Artifact))] == ["spec.bed"]  # recorded before the loss


def test_cli_says_when_the_database_cannot_be_reached(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres:s3cret@127.0.0.1:1/bedflow")
    assert main(["runs"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the database" in err and "127.0.0.1:1" in err and "s3cret" not in err


def test_a_local_copy_cut_short_is_fetched_again_not_used(services):
    """A packing file in a run folder that does not match its artifact row's checksum (a download cut half-way,
    a changed file) is fetched again from the store, by a later stage and by ``run_folder``."""
    from pipeline.runs import run_folder
    from pipeline.store import sha256_file

    first = create_run(small_spec(), until="pack", services=services)
    execute(first, services=services)
    stored = next(a for a in run_artifacts(first, "packing", services=services) if a.name == "packing.npz")
    local = services.work_dir(first) / "packing" / "packing.npz"
    whole = local.read_bytes()
    local.write_bytes(whole[: len(whole) // 2])
    assert sha256_file(run_folder(first, services=services).packing_file) == stored.sha256

    second = create_run(small_spec(**{"cfd.particle_reynolds": 20}), until="pack", services=services)
    cut = services.work_dir(second) / "packing" / "packing.npz"
    cut.parent.mkdir(parents=True)
    cut.write_bytes(whole[:1000])  # what an interrupted download used to leave under the final name
    messages: list[str] = []
    execute(second, progress=lambda f, m: messages.append(m), services=services)
    assert any("fetched packing" in m for m in messages), messages
    assert sha256_file(cut) == stored.sha256 and get_run(second, services=services).packing_id == stored.packing_id


@pytest.mark.parametrize("tampering", ["parent", "absolute", "symlink"])
def test_bedflow_fetch_writes_nothing_outside_its_folder_whatever_the_database_says(services, bedflow_cmd, tmp_path,
                                                                                    tampering):
    """`bedflow fetch` (the real command) after the artifact's row was tampered with: a name with ``..``, an absolute
    name, or a link in the target folder with the artifact's name pointing outside. Nothing is written outside
    the folder, the error says why, and the exit code is not 0."""
    import os
    import subprocess

    from sqlalchemy import update

    run_id = create_run(small_spec(), until="pack", services=services)
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out" / "deep"
    out.mkdir(parents=True)
    name = {"parent": "../../escaped.bed", "absolute": str(outside / "absolute.bed"), "symlink": "spec.bed"}[tampering]
    if tampering == "symlink":
        (out / "spec.bed").symlink_to(outside / "victim.bed")
    with services.db.session() as session:
        session.execute(update(Artifact).where(Artifact.simulation_id == run_id, Artifact.kind == "bed")
                        .values(name=name))
    done = subprocess.run([*bedflow_cmd, "fetch", str(run_id), "bed", "--out", str(out)], capture_output=True,
                          text=True, timeout=120, env=os.environ.copy())
    assert done.returncode != 0, done.stdout
    assert "refusing the file name" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert list(outside.iterdir()) == [] and not (tmp_path / "escaped.bed").exists()
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == (["deep", "spec.bed"] if tampering == "symlink"
                                                                    else ["deep"])
