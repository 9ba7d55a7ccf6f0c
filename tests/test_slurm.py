"""Slurm, as bedflow talks to it (:mod:`pipeline.slurm`), against a real one-node cluster on this machine
(:class:`pipeline.testing.SlurmCluster`: Debian's slurmctld, slurmd and munge, started as root for the module).
Where the daemons cannot start the tests skip, except in CI (``BEDFLOW_REQUIRE_SERVICES=1``), where that fails."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from conftest import require_services
from pipeline import slurm
from pipeline.slurm import JobInfo, SlurmError, SlurmSettings


@pytest.fixture(scope="module")
def cluster():
    from pipeline.testing import SlurmCluster

    try:
        started = SlurmCluster().start()
    except (RuntimeError, OSError) as error:
        if require_services():
            pytest.fail(f"the test Slurm cluster cannot start: {error}")
        pytest.skip(f"the test Slurm cluster cannot start: {error}")
    # A job that outlives its time limit, submitted now: Slurm's limit is at least a minute and its controller checks
    # every 30 s or so, so by the module's last test it has long ended TIMEOUT (no test waits for it).
    script = started.folder / "sleeper.sh"
    script.write_text("#!/bin/bash\nsleep 600\n")
    started.timeout_job = slurm.submit(script, SlurmSettings(partition=started.partition, time_limit="1"), tasks=1,
                                       name="bedflow-sleeper", output=started.folder / "sleeper-%j.out",
                                       env=started.env)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def on_cluster(cluster, monkeypatch):
    for name, value in cluster.env.items():
        monkeypatch.setenv(name, value)
    return cluster


def test_settings_are_checked_before_they_reach_a_command_line():
    settings = SlurmSettings.from_env({"BEDFLOW_SLURM_PARTITION": "cfd", "BEDFLOW_SLURM_ACCOUNT": "lab-7",
                                       "BEDFLOW_SLURM_TIME_LIMIT": "2:00:00", "BEDFLOW_SLURM_NODES": "2",
                                       "BEDFLOW_SLURM_EXTRA": "--mem=8G --exclusive"})
    options = settings.sbatch_options(tasks=16, name="bedflow-7-solve", output=Path("/shared/slurm-%j.out"))
    assert options == ["--parsable", "--job-name=bedflow-7-solve", "--ntasks=16", "--output=/shared/slurm-%j.out",
                       "--partition=cfd", "--account=lab-7", "--time=2:00:00", "--nodes=2", "--mem=8G",
                       "--exclusive"]
    with pytest.raises(SlurmError) as info:
        SlurmSettings.from_env({"BEDFLOW_SLURM_PARTITION": "cfd; rm -rf /", "BEDFLOW_SLURM_TIME_LIMIT": "soon",
                                "BEDFLOW_SLURM_NODES": "-1", "BEDFLOW_SLURM_EXTRA": "--wrap='rm -rf /' -x"})
    message = str(info.value)
    assert all(name in message for name in ("PARTITION", "TIME_LIMIT", "NODES", "EXTRA"))
    with pytest.raises(SlurmError, match="local or slurm"):
        slurm.executor({"BEDFLOW_EXECUTOR": "kubernetes"})
    assert slurm.executor({}) == "local" and slurm.executor({"BEDFLOW_EXECUTOR": " Slurm "}) == "slurm"
    with pytest.raises(SlurmError, match="number"):
        slurm.job("12; scancel -u root")


def test_a_job_state_reads_as_a_runs_error():
    assert JobInfo("7", "RUNNING").alive and JobInfo("7", "RUNNING").failure is None
    assert JobInfo("7", "COMPLETED", exit_code="0:0").failure is None
    assert JobInfo("7", "TIMEOUT", exit_code="0:15").failure == \
        "Slurm job 7: the job reached its time limit (exit code 0:15)"
    assert "ran out of memory" in JobInfo("7", "OUT_OF_MEMORY").failure
    assert "ended WEIRD" in JobInfo("7", "WEIRD").failure


@pytest.mark.slow
def test_a_batch_job_runs_its_tasks_and_ends_completed(on_cluster, tmp_path):
    script = tmp_path / "job.sh"
    script.write_text('#!/bin/bash\necho "tasks=$SLURM_NTASKS"\nsrun hostname > /dev/null\n')
    job = slurm.submit(script, SlurmSettings(partition=on_cluster.partition), tasks=2, name="bedflow-test",
                       output=tmp_path / "out-%j.txt")
    info = slurm.wait(job, interval=0.2, timeout=120)
    assert info.state == "COMPLETED" and info.failure is None and info.nodes == "localhost", info
    assert (tmp_path / f"out-{job}.txt").read_text().strip() == "tasks=2"


@pytest.mark.slow
def test_a_cancelled_job_ends_cancelled_and_its_program_is_gone(on_cluster, tmp_path):
    marker = f"bedflow-slurm-{time.time_ns()}"
    script = tmp_path / "job.sh"
    script.write_text(f"#!/bin/bash\nexec -a {marker} sleep 600\n")
    job = slurm.submit(script, SlurmSettings(partition=on_cluster.partition), tasks=1, name="bedflow-cancel",
                       output=tmp_path / "out-%j.txt")
    deadline = time.monotonic() + 60
    while slurm.job(job).state != "RUNNING":
        assert time.monotonic() < deadline, slurm.job(job)
        time.sleep(0.2)
    slurm.cancel(job)
    info = slurm.wait(job, interval=0.2, timeout=60)
    assert info.state == "CANCELLED" and "cancelled" in info.failure
    import subprocess

    time.sleep(0.5)
    assert subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1, "the job's program lives on"


@pytest.mark.slow
def test_doctor_runs_a_trivial_job_on_the_partition(on_cluster, monkeypatch):
    from pipeline.doctor import diagnose

    assert diagnose(only=["slurm"])[0].detail.startswith("not used (BEDFLOW_EXECUTOR=local)")
    monkeypatch.setenv("BEDFLOW_EXECUTOR", "slurm")
    monkeypatch.setenv("BEDFLOW_SLURM_PARTITION", on_cluster.partition)
    (check,) = diagnose(only=["slurm"], timeout=60)
    assert check.status == "ok" and "partition bedflow up; a trivial job ran" in check.detail, check
    assert check.detail.startswith("slurm-wlm 22.05") or check.detail.startswith("slurm 22.05"), check.detail
    monkeypatch.setenv("BEDFLOW_SLURM_PARTITION", "nowhere")
    (check,) = diagnose(only=["slurm"], timeout=60)
    assert check.status == "fail" and "'nowhere' is not up" in check.detail


# -- heavy stages as batch jobs (BEDFLOW_EXECUTOR=slurm) ---------------------------------------------------------------
CFD = {"name": "slurm-cfd", "bed": {"diameter": 0.025, "height": 0.025},
       "particles": {"count": 40, "diameter": 0.005, "seed": 42},
       "cfd": {"particle_reynolds": 5, "mesh_cells_per_diameter": 6, "surface_refinement": 0, "boundary_layers": 0,
               "max_iterations": 60, "processes": 2}}


def slurm_env(cluster, tmp_path) -> dict[str, str]:
    return {**cluster.env, "BEDFLOW_EXECUTOR": "slurm", "BEDFLOW_SLURM_PARTITION": cluster.partition,
            "BEDFLOW_SHARED_DIR": str(tmp_path / "shared"), "BEDFLOW_DATA_DIR": os.environ["BEDFLOW_DATA_DIR"]}


def programs_in(folder: Path) -> list[int]:
    """Processes working in ``folder`` (their current directory under it): the run's OpenFOAM programs."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")).is_relative_to(folder):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def solving(run_id: int) -> bool:
    from pipeline.runs import get_run

    run = get_run(run_id)
    return run.stage == "solve" and run.job.startswith("slurm:") and run.process_group is not None


LONG_SOLVE = {**CFD, "name": "slurm-long", "cfd": {**CFD["cfd"], "max_iterations": 20000, "convergence": 1e-12}}


@pytest.mark.slow
def test_cancel_during_a_slurm_solve_cancels_the_job_and_leaves_no_solver(on_cluster, workers, tmp_path,
                                                                           bedflow_cmd):
    import subprocess

    from conftest import wait_for
    from pipeline import BedSpec
    from pipeline.jobs import submit
    from pipeline.runs import get_run, run_folder

    env = slurm_env(on_cluster, tmp_path)
    workers.start(env)
    run_id = submit(BedSpec.from_dict(LONG_SOLVE).validate())
    wait_for(lambda: solving(run_id), timeout=300, what="the solve to run as a Slurm job")
    job_id = get_run(run_id).job.removeprefix("slurm:")
    folder = run_folder(run_id).root
    assert programs_in(folder), "simpleFoam should be running in the run's folder"
    cancelled = subprocess.run([*bedflow_cmd, "cancel", str(run_id), "--json"], env={**os.environ, **env},
                               capture_output=True, text=True, timeout=60)
    assert cancelled.returncode == 0 and '"cancelled"' in cancelled.stdout, cancelled.stderr
    info = slurm.wait(job_id, interval=0.3, timeout=60)
    assert info.state == "CANCELLED", info
    wait_for(lambda: not programs_in(folder), timeout=30, what="no program left in the run's folder")
    wait_for(lambda: get_run(run_id).finished_at is not None, timeout=30, what="the worker to let go")
    assert get_run(run_id).status.value == "cancelled"


@pytest.mark.slow
def test_a_cfd_run_solves_as_slurm_jobs_survives_its_worker_and_matches_the_local_result(on_cluster, workers,
                                                                                          tmp_path):
    """A worker with BEDFLOW_EXECUTOR=slurm packs here and submits mesh and solve as batch jobs of 2 tasks (the
    solver on 2 MPI ranks in the allocation). Killed while its solve job runs, the worker loses nothing: the job
    goes on, heartbeating and recording its stage, and a later worker's recovery finds the solve done and finishes
    the run (one job per stage, never a second solve). Δp/L is the local executor's, to the last digit."""
    import signal

    import pipeline
    from conftest import wait_for
    from pipeline import BedSpec
    from pipeline.jobs import submit
    from pipeline.runs import get_run, run_folder

    spec = BedSpec.from_dict({**CFD, "cfd": {**CFD["cfd"], "max_iterations": 300}}).validate()
    env = {**slurm_env(on_cluster, tmp_path), "BEDFLOW_STALE_AFTER": "15"}
    first = workers.start(env)
    run_id = submit(spec)
    wait_for(lambda: solving(run_id), timeout=300, what="the solve to run as a Slurm job")
    assert "Slurm job" in get_run(run_id).message or get_run(run_id).stage == "solve"
    job_id = get_run(run_id).job.removeprefix("slurm:")
    workers.kill(first, signal.SIGKILL)
    info = slurm.wait(job_id, interval=0.5, timeout=300)
    assert info.state == "COMPLETED", info
    assert get_run(run_id).completed_stage == "solve" and get_run(run_id).status.value == "running"
    workers.start(env)  # its recovery finds the run silent, re-queues it at its next stage
    wait_for(lambda: get_run(run_id).status.value == "succeeded", timeout=180, what="the run to be recovered")
    run = get_run(run_id)
    assert run.attempts == 2 and run.dp_dz is not None
    assert sorted(p.name for p in (tmp_path / "shared").glob("run-*.sh")) == [f"run-{run_id}-mesh-1.sh",
                                                                            f"run-{run_id}-solve-1.sh"]
    log = (run_folder(run_id).case / "log.simpleFoam").read_text()
    assert re.search(r"nProcs\s*:\s*2\b", log), log[:2000]
    local = pipeline.run(spec)  # the same bed on this process's cores (the local executor)
    assert run.dp_dz == local.dp_dz and run.cells == local.cells


@pytest.mark.slow
def test_a_job_over_its_time_limit_fails_its_run_saying_so(on_cluster):
    """The job submitted with the cluster (a minute's limit, a ten-minute sleep) ended TIMEOUT; following it
    fails the stage with Slurm's reason, which becomes the run's error."""
    from pipeline import BedSpec
    from pipeline.jobs.cluster import BatchJobFailed, follow
    from pipeline.runs import claim, create_run, open_services, outcome

    found = open_services()
    run_id = create_run(BedSpec(), services=found)
    taken = claim(run_id, worker="test:1", services=found)
    info = slurm.wait(on_cluster.timeout_job, interval=1.0, timeout=240)
    assert info.state == "TIMEOUT" and info.reason == "TimeLimit", info
    with pytest.raises(BatchJobFailed) as failed:
        follow(found, run_id, "solve", taken, on_cluster.timeout_job)
    status, reason = outcome(failed.value)
    assert status.value == "failed" and "reached its time limit" in reason


@pytest.mark.slow
def test_a_job_slurm_lost_hands_its_stage_back_to_be_submitted_again(on_cluster):
    """A job Slurm no longer knows (nor did it record its stage) is a transient error: the worker's task hands
    the stage back and Huey runs it again after its retry delay (a new job)."""
    from pipeline import BedSpec
    from pipeline.jobs.cluster import BatchJobLost, follow
    from pipeline.jobs.tasks import TRANSIENT
    from pipeline.runs import claim, create_run, open_services

    found = open_services()
    run_id = create_run(BedSpec(), services=found)
    taken = claim(run_id, worker="test:1", services=found)
    with pytest.raises(BatchJobLost, match="unknown to Slurm") as lost:
        follow(found, run_id, "mesh", taken, "987654")
    assert isinstance(lost.value, TRANSIENT)
