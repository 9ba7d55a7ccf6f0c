"""Workload limits: read from the environment, checked at submission (real queue, real SQLite and PostgreSQL
databases), a stage over its time stopped and failed, a worker refusing more MPI ranks than it has CPUs.

The OpenFOAM stage stopped after its time is in tests/test_bed_cfd.py (it reuses that module's meshed bed).
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from pipeline import BedSpec, BedValidationError
from pipeline.db import RunStatus, Simulation, Sweep
from pipeline.doctor import diagnose
from pipeline.jobs import cancel, queue_for, resubmit, submit, submit_sweep
from pipeline.jobs.tasks import stage_task
from pipeline.limits import LimitExceeded, Limits, StageTimeLimit, available_cpus
from pipeline.openfoam.runner import TooManyRanks, run_foam
from pipeline.runs import create_run, get_run, open_services
from pipeline.settings import Settings, SettingsError

TINY = {"name": "tiny", "particles": {"count": 10, "seed": 1}}


def tiny(**changes) -> BedSpec:
    return BedSpec.from_dict(TINY).updated(changes) if changes else BedSpec.from_dict(TINY)


def settings_with(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"BEDFLOW_DATA_DIR": str(tmp_path / "data"), **env}, dotenv=None)


def recorded_runs(settings: Settings) -> int:
    with open_services(settings).db.session() as session:
        return int(session.scalar(select(func.count(Simulation.id))))


# -- the settings --------------------------------------------------------------------------------------------
def test_limits_have_finite_defaults_and_are_read_from_the_environment(tmp_path):
    default = settings_with(tmp_path).limits
    assert default == Limits() and default.max_processes == available_cpus()
    assert default.max_particles == 100_000 and default.max_cells == 10_000_000
    assert default.max_stage_seconds == 86_400 and default.max_sweep == 100 and default.max_runs_per_user == 100
    chosen = settings_with(tmp_path, BEDFLOW_MAX_PARTICLES="500", BEDFLOW_MAX_CELLS="2_000_000",
                           BEDFLOW_MAX_PROCESSES="4", BEDFLOW_MAX_STAGE_SECONDS="90.5", BEDFLOW_MAX_SWEEP="7",
                           BEDFLOW_MAX_RUNS_PER_USER="3").limits
    assert chosen == Limits(max_particles=500, max_cells=2_000_000, max_processes=4, max_stage_seconds=90.5,
                            max_sweep=7, max_runs_per_user=3)
    with pytest.raises(SettingsError) as refused:
        settings_with(tmp_path, BEDFLOW_MAX_PARTICLES="lots", BEDFLOW_MAX_SWEEP="0", BEDFLOW_MAX_STAGE_SECONDS="inf")
    message = str(refused.value)
    assert "BEDFLOW_MAX_PARTICLES='lots': must be a whole number ≥ 1" in message
    assert "BEDFLOW_MAX_SWEEP='0': must be a whole number ≥ 1" in message
    assert "BEDFLOW_MAX_STAGE_SECONDS='inf': must be a number of seconds > 0" in message


def test_doctor_shows_the_limits_in_effect(tmp_path, monkeypatch):
    monkeypatch.setenv("BEDFLOW_MAX_CELLS", "1234567")
    check = diagnose(only=["settings"])[0]
    assert check.status == "ok"
    assert "BEDFLOW_MAX_CELLS 1234567" in check.detail and "BEDFLOW_MAX_STAGE_SECONDS 86400" in check.detail
    assert f"BEDFLOW_MAX_PROCESSES {available_cpus()}" in check.detail


# -- the spec's own ceiling ----------------------------------------------------------------------------------
def test_a_target_porosity_implying_absurdly_many_particles_is_invalid():
    """The issue's case: a 10 m × 100 m column of 10 µm spheres at porosity 0.4 is about 9e18 particles."""
    huge = {"bed": {"diameter": 10, "height": 100}, "particles": {"diameter": 1e-5, "count": None,
                                                                   "target_porosity": 0.4},
            "export": {"merge_distance": 0}}
    with pytest.raises(BedValidationError) as refused:
        BedSpec.from_dict(huge)
    assert refused.value.paths == ["particles.target_porosity"]
    assert "fills this bed with about 9e+18 particles; at most 10000000" in str(refused.value)
    fits = BedSpec.from_dict({"particles": {"count": None, "target_porosity": 0.4}})  # the default bed: 180 particles
    assert fits.validate() is not None


# -- submission ----------------------------------------------------------------------------------------------
def test_too_many_particles_is_refused_before_anything_is_recorded(tmp_path):
    settings = settings_with(tmp_path, BEDFLOW_MAX_PARTICLES="9")
    with pytest.raises(LimitExceeded, match=r"the bed has 10 particles \(particles\.count\); this deployment "
                                            r"allows at most BEDFLOW_MAX_PARTICLES = 9"):
        submit(tiny(), until="pack", settings=settings)
    porous = tiny(**{"particles.count": None, "particles.target_porosity": 0.5})
    with pytest.raises(LimitExceeded, match=r"has 150 particles \(implied by particles\.target_porosity 0\.5\)"):
        submit(porous, until="pack", settings=settings)
    assert recorded_runs(settings) == 0 and queue_for(settings).huey.pending_count() == 0
    assert get_run(submit(tiny(**{"particles.count": 9}), until="pack", settings=settings),
                   services=open_services(settings)).status is RunStatus.queued


def test_a_mesh_over_the_cell_limit_and_more_ranks_than_allowed_are_refused(tmp_path):
    settings = settings_with(tmp_path, BEDFLOW_MAX_CELLS="100000", BEDFLOW_MAX_PROCESSES="1")
    wide = tiny(**{"cfd.processes": 2})
    with pytest.raises(LimitExceeded) as refused:
        submit(wide, until="solve", settings=settings)
    message = str(refused.value)
    assert message.startswith("refused (2 limits):")
    assert "cfd.processes = 2 MPI ranks; this deployment allows at most BEDFLOW_MAX_PROCESSES = 1" in message
    assert "this deployment allows at most BEDFLOW_MAX_CELLS = 100000" in message
    assert "mesh would have about 0.258 million cells" in message  # the default bed, 10 spheres: 0.26 million cells
    with pytest.raises(LimitExceeded, match="BEDFLOW_MAX_CELLS = 100000"):
        submit(tiny(), until="mesh", settings=settings)
    assert recorded_runs(settings) == 0
    submit(wide, until="pack", settings=settings)  # packing meshes nothing and runs no MPI program


def test_a_sweep_over_its_size_limit_is_refused(tmp_path):
    settings = settings_with(tmp_path, BEDFLOW_MAX_SWEEP="2", BEDFLOW_MAX_PARTICLES="20")
    with pytest.raises(LimitExceeded, match="a sweep of 3 values; this deployment allows at most "
                                            "BEDFLOW_MAX_SWEEP = 2 runs in one sweep"):
        submit_sweep(tiny(), "cfd.particle_reynolds", [1, 2, 3], until="pack", settings=settings)
    with pytest.raises(LimitExceeded, match="the bed has 30 particles"):  # every variant is checked first
        submit_sweep(tiny(), "particles.count", [10, 30], until="pack", settings=settings)
    with open_services(settings).db.session() as session:
        assert session.scalar(select(func.count(Sweep.id))) == 0
    assert recorded_runs(settings) == 0
    submit_sweep(tiny(), "cfd.particle_reynolds", [1, 2], until="pack", settings=settings)
    assert recorded_runs(settings) == 2


def test_runs_per_user_count_queued_and_running_runs_and_whole_sweeps(tmp_path, database_url):
    settings = settings_with(tmp_path, DATABASE_URL=database_url, BEDFLOW_MAX_RUNS_PER_USER="3")
    found = open_services(settings)
    first = submit(tiny(), until="pack", created_by="Alice", settings=settings)
    second = submit(tiny(**{"particles.seed": 2}), until="pack", created_by="alice", settings=settings)
    with found.db.session() as session:  # one of them running: it counts as well
        session.get(Simulation, second).status = RunStatus.running
    with pytest.raises(LimitExceeded, match=r"alice has 2 runs queued or running and asked for 2 more; this "
                                            r"deployment allows at most BEDFLOW_MAX_RUNS_PER_USER = 3 at once"):
        submit_sweep(tiny(), "cfd.particle_reynolds", [1, 2], until="pack", created_by="alice", settings=settings)
    third = resubmit(first, by="ALICE", settings=settings)
    with pytest.raises(LimitExceeded, match="ALICE has 3 runs queued or running and asked for one more"):
        submit(tiny(), until="pack", created_by="ALICE", settings=settings)
    submit(tiny(), until="pack", created_by="bob", settings=settings)  # another user's runs are his own
    cancel(third, by="alice", settings=settings)  # a finished run no longer counts
    submit(tiny(), until="pack", created_by="alice", settings=settings)
    with found.db.session() as session:
        owners = session.execute(select(func.lower(Simulation.created_by), Simulation.status)).all()
    assert sorted(owners) == sorted([("alice", RunStatus.queued), ("alice", RunStatus.running),
                                     ("alice", RunStatus.cancelled), ("alice", RunStatus.queued),
                                     ("bob", RunStatus.queued)])


def test_runs_submitted_at_once_cannot_pass_the_per_user_limit_together(tmp_path, database_url):
    """Eight submissions of one user in eight threads against a limit of three: three runs are recorded."""
    settings = settings_with(tmp_path, DATABASE_URL=database_url, BEDFLOW_MAX_RUNS_PER_USER="3")
    found = open_services(settings)

    def attempt(seed: int) -> str:
        try:
            create_run(tiny(**{"particles.seed": seed}), until="pack", created_by="carol", services=found)
            return "recorded"
        except LimitExceeded:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert sorted(outcomes) == ["recorded"] * 3 + ["refused"] * 5
    assert recorded_runs(settings) == 3


def test_the_cli_prints_the_limit_a_submission_exceeds(tmp_path, bedflow_cmd):
    (tmp_path / "tiny.bed").write_text(tiny().to_bed())
    env = {**os.environ, "BEDFLOW_DATA_DIR": str(tmp_path / "data"), "BEDFLOW_MAX_PARTICLES": "5"}
    done = subprocess.run([*bedflow_cmd, "submit", str(tmp_path / "tiny.bed"), "--until", "pack"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == ("error: refused: the bed has 10 particles (particles.count); this deployment "
                                   "allows at most BEDFLOW_MAX_PARTICLES = 5")
    assert "Traceback" not in done.stderr


# -- while a run runs ----------------------------------------------------------------------------------------
def test_a_stage_over_its_time_limit_is_stopped_and_the_run_fails_without_retry(tmp_path):
    """The native packer (in-process) pouring 8000 spheres, ten seconds of work, under a one-second limit: it
    stops at its next progress report, and the worker's task fails the run with the reason, queueing nothing."""
    settings = settings_with(tmp_path, BEDFLOW_MAX_STAGE_SECONDS="1")
    big = tiny(**{"bed.diameter": 0.05, "bed.height": 0.06, "particles.diameter": 0.002, "particles.count": 8000})
    run_id = submit(big, until="pack", settings=settings)
    queue = queue_for(settings)
    queue.huey.flush()  # no worker here: this test plays the worker's part
    assert stage_task(queue, run_id, "pack") == "failed"
    run = get_run(run_id, services=open_services(settings))
    assert run.status is RunStatus.failed and not run.completed_stage
    assert run.error == "pack stopped after its time limit of 1 s (BEDFLOW_MAX_STAGE_SECONDS)"
    assert queue.huey.pending_count() == 0  # not retried
    assert str(StageTimeLimit("mesh", 7200)) == \
        "mesh stopped after its time limit of 7200 s (BEDFLOW_MAX_STAGE_SECONDS)"


def test_a_worker_refuses_more_mpi_ranks_than_it_has_cpus(tmp_path):
    cpus = available_cpus()
    with pytest.raises(TooManyRanks, match=f"checkMesh asks for {cpus + 1} MPI ranks, but this worker may use only "
                                           f"{cpus} CPUs"):
        run_foam("checkMesh", tmp_path, processes=cpus + 1)
    assert not (tmp_path / "log.checkMesh").exists()  # nothing was started
