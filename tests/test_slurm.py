"""Slurm, as bedflow talks to it (:mod:`pipeline.slurm`), against a real one-node cluster on this machine
(:class:`pipeline.testing.SlurmCluster`: Debian's slurmctld, slurmd and munge, started as root for the module).
Where the daemons cannot start the tests skip, except in CI (``BEDFLOW_REQUIRE_SERVICES=1``), where that fails."""

from __future__ import annotations

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
