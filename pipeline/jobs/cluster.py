"""Heavy stages on a Slurm cluster: Huey decides *what* runs, Slurm decides *where* the mesh and solve stages run.

With ``BEDFLOW_EXECUTOR=slurm`` a worker that takes a run's ``mesh`` or ``solve`` stage does not run it on its
own cores: :func:`run_as_batch_job` writes a two-line script (``bedflow stage RUN STAGE --worker W --attempt N``:
numbers and the worker's own name, nothing a user wrote), submits it with ``sbatch`` (an argument list;
``--ntasks`` = the run's ``cfd.processes``, the rest from ``BEDFLOW_SLURM_*``), records ``slurm:<id>`` on the run
and follows the job with ``scontrol`` every few seconds, sleeping in between (no CPU held). On the allocation the
job runs the very stage function a worker runs (:func:`run_stage_here`), through the worker's claim: it heartbeats,
reports progress, stops its programs when the run is cancelled, and records what it made, as on a worker.

* pending in Slurm's queue: the worker keeps the run's heartbeat and says so in its message (and why it waits);
* cancelled in bedflow: the worker (and ``bedflow cancel`` at once) ``scancel`` the job;
* the job ends badly: the run fails with Slurm's reason (:data:`pipeline.slurm.FAILED_STATES`, e.g. "the job
  reached its time limit");
* Slurm loses the job (it no longer knows it, its node failed, it was preempted): :class:`BatchJobLost`, a
  transient error: the stage is handed back to the queue and submitted again after the retry delay;
* the worker dies: a running job goes on heartbeating and records its stage; the run is then recovered at its next
  stage (never run twice). A job still pending when its worker died is cancelled by the worker that takes the run
  over, before it submits its own.

Job scripts and their output (``slurm-<id>.out``) go to ``BEDFLOW_SHARED_DIR`` (a folder every node sees; default
``<data>/slurm``).
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import time
from pathlib import Path

from .. import slurm
from ..db import RunStatus, Simulation, utcnow
from ..errors import BedflowError
from ..runs import Services, finish, outcome, run_stage
from ..runs.execute import STAGES, Claim, RunCancelled, stage_spans, write_claimed
from ..settings import Settings

log = logging.getLogger("bedflow.jobs")

#: The stages a cluster runs; packing stays on the worker (seconds, and Blender's or the native packer's own).
HEAVY_STAGES = ("mesh", "solve")
#: Seconds between looks at a job.
FOLLOW_SECONDS = 2.0


class BatchJobFailed(BedflowError):
    """The batch job of a stage ended badly (the message is Slurm's reason)."""


class BatchJobLost(BedflowError):
    """Slurm lost the batch job of a stage (no longer known to it, or its node failed, or it was preempted): the
    stage is handed back to the queue and submitted again, as after any transient error."""


#: Ends of a job that say nothing about the stage: it is submitted again (up to the task's retries).
LOST_STATES = ("NODE_FAIL", "PREEMPTED", "BOOT_FAIL")


def runs_on_cluster(stage: str) -> bool:
    """Whether ``stage`` goes to the cluster (``BEDFLOW_EXECUTOR=slurm`` and a heavy stage)."""
    return stage in HEAVY_STAGES and slurm.executor() == "slurm"


def shared_dir(settings: Settings) -> Path:
    """``BEDFLOW_SHARED_DIR``, else ``<data>/slurm``: where job scripts and their output go (created)."""
    folder = Path(os.environ.get("BEDFLOW_SHARED_DIR", "").strip() or settings.data_dir / "slurm")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def job_script(run_id: int, stage: str, claim: Claim) -> str:
    """The batch script of one stage: runs ``bedflow stage`` with this installation (values quoted although
    none comes from a user: ids are numbers, the stage one of :data:`HEAVY_STAGES`, the worker this one's name)."""
    if stage not in HEAVY_STAGES:
        raise BedflowError(f"only {', '.join(HEAVY_STAGES)} run as batch jobs, not {stage!r}")
    bedflow = Path(sys.executable).with_name("bedflow")
    argv = [str(bedflow), "stage", str(int(run_id)), stage, "--worker", claim.worker, "--attempt",
            str(int(claim.attempt))]
    return "#!/bin/bash\n# bedflow: one stage of one run, as its worker would run it\nexec " + shlex.join(argv) + "\n"


def _job_of(found: Services, run_id: int) -> str:
    with found.db.session() as session:
        return session.get(Simulation, run_id).job  # type: ignore[union-attr]


def cancel_job(found: Services, run_id: int) -> None:
    """``scancel`` the run's recorded batch job, if it has one (best effort: Slurm may have ended it already)."""
    kind, _, job_id = _job_of(found, run_id).partition(":")
    if kind == "slurm" and job_id:
        try:
            slurm.cancel(job_id)
        except slurm.SlurmError as error:
            log.warning("run %s: could not cancel Slurm job %s: %s", run_id, job_id, error)


def run_as_batch_job(found: Services, run_id: int, stage: str, claim: Claim, *, processes: int) -> None:
    """Run ``stage`` of the run as a Slurm batch job and follow it to its end (see the module docstring). Returns
    once the job completed its stage; raises :class:`RunCancelled` when the run was cancelled and
    :class:`BatchJobFailed` when the job ended badly."""
    settings = slurm.SlurmSettings.from_env()
    cancel_job(found, run_id)  # a job of an earlier attempt (its worker died while it was pending)
    folder = shared_dir(found.settings)
    script = folder / f"run-{run_id}-{stage}-{claim.attempt}.sh"
    script.write_text(job_script(run_id, stage, claim))
    job_id = slurm.submit(script, settings, tasks=processes, name=f"bedflow-{run_id}-{stage}",
                          output=folder / "slurm-%j.out")
    log.info("run %s: %s submitted as Slurm job %s", run_id, stage, job_id,
             extra={"run_id": run_id, "stage": stage, "job": job_id})
    if not write_claimed(found, claim, job=f"slurm:{job_id}", message=f"{stage}: Slurm job {job_id} submitted",
                         heartbeat_at=utcnow()):
        slurm.cancel(job_id)
        raise RunCancelled(f"run {run_id} was cancelled (or taken over) as its {stage} job was submitted")
    follow(found, run_id, stage, claim, job_id)


def follow(found: Services, run_id: int, stage: str, claim: Claim, job_id: str) -> None:
    """Look at the job every :data:`FOLLOW_SECONDS` until it ends; keep the run's heartbeat while Slurm holds it in
    its queue; cancel it when the run is cancelled."""
    while True:
        info = slurm.job(job_id)
        if info is None and _completed(found, run_id, stage):
            return  # it ended long ago (forgotten after MinJobAge) and recorded its stage
        if info is None:
            raise BatchJobLost(f"Slurm job {job_id} of {stage} is unknown to Slurm (lost, or forgotten after it "
                               "ended without recording its stage)")
        with found.db.session() as session:
            status = session.get(Simulation, run_id).status  # type: ignore[union-attr]
        if status is RunStatus.cancelled:
            slurm.cancel(job_id)
            raise RunCancelled(f"run {run_id} was cancelled during {stage} (Slurm job {job_id} cancelled)")
        if not info.alive:
            break
        if info.state == "PENDING":  # nobody else beats for the run yet
            write_claimed(found, claim, heartbeat_at=utcnow(),
                          message=f"{stage}: Slurm job {job_id} pending in the queue ({info.reason})")
        time.sleep(FOLLOW_SECONDS)
    if info.state in LOST_STATES:
        raise BatchJobLost(info.failure or f"Slurm job {job_id} ended {info.state}")
    if info.failure:
        raise BatchJobFailed(info.failure)
    if not _completed(found, run_id, stage):
        with found.db.session() as session:
            error = session.get(Simulation, run_id).error  # type: ignore[union-attr]
        raise BatchJobFailed(f"Slurm job {job_id} completed but {stage} was not recorded" +
                             (f": {error}" if error else " (see its output, slurm-<id>.out in BEDFLOW_SHARED_DIR)"))


def _completed(found: Services, run_id: int, stage: str) -> bool:
    """Whether the run has recorded ``stage`` (or a later one) as completed."""
    with found.db.session() as session:
        run = session.get(Simulation, run_id)
        done = run.completed_stage if run is not None else ""  # type: ignore[union-attr]
    return bool(done) and STAGES.index(done) >= STAGES.index(stage)


def run_stage_here(run_id: int, stage: str, *, worker: str, attempt: int, services: Services) -> int:
    """What a batch job runs (``bedflow stage``): the stage, through its worker's claim, as the worker would run
    it; a failure is recorded on the run as on a worker. The exit code (0: the stage is recorded)."""
    claim = Claim(run_id, worker, attempt)
    with services.db.session() as session:
        simulation = session.get(Simulation, run_id)
        if simulation is None:
            raise BedflowError(f"no run {run_id}")
        span = stage_spans(simulation)[stage]
    try:
        run_stage(run_id, stage, span=span, services=services, claim=claim)
    except Exception as error:  # recorded for the worker that follows this job, which fails the run with it
        status, reason = outcome(error)
        finish(run_id, status, error=f"{stage} (Slurm job {os.environ.get('SLURM_JOB_ID', '?')}): {reason}",
               services=services, claim=claim)
        log.error("run %s: %s failed on the cluster: %s", run_id, stage, reason)
        return 1
    write_claimed(services, claim, message=f"{stage} done on {os.uname().nodename} (Slurm job "
                                           f"{os.environ.get('SLURM_JOB_ID', '?')})")
    return 0
