"""What the queue's task does: one stage of one run, then the next stage queued.

A stage task first *claims* its run (queued → running, atomically), so a
duplicate message (after a recovery) does nothing. It runs the stage its
message names, which is the run's next pending stage (runs resume from the last
completed stage); a message naming another stage is stale (the run has moved
on) and gives the run back untouched. Between stages the run goes back to
``queued`` until a worker takes the next stage. Transient errors (store,
database or queue unreachable, a full disk) hand the run back and raise
:class:`TransientStageError`: Huey runs the same task again after its retry
delay, which doubles each time (the task's ``retries``/``retry_delay``/
``retry_backoff``); once its retries are used up the run fails with the error.
Other errors fail the run at once with their message. Everything a task writes
goes through its claim: a worker whose run was recovered while it was silent
(frozen, cut off) and taken by another drops its stage when it wakes up,
instead of finishing the run a second time.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from ..db import DatabaseError, RunStatus, Simulation
from ..errors import BedflowError, QueueError
from ..runs import claim, finish, open_services, outcome, pending_stages, release, run_stage, worker_id
from ..runs.execute import RunLost, stage_spans, update_run
from ..store import StoreError
from .cluster import BatchJobLost, run_as_batch_job, runs_on_cluster

if TYPE_CHECKING:
    from .queue import JobQueue

log = logging.getLogger("bedflow.jobs")

#: Retries of a stage after a transient error, the first after RETRY_DELAY seconds, each next one RETRY_BACKOFF
#: times later (5, 10, 20 s).
TRANSIENT_RETRIES = 3
RETRY_DELAY = 5.0
RETRY_BACKOFF = 2.0
TRANSIENT = (StoreError, DatabaseError, QueueError, BatchJobLost)


class TransientStageError(BedflowError):
    """A stage met a transient error and gave its run back to the queue: Huey runs the task again later."""


def stage_task(queue: JobQueue, run_id: int, stage: str, task: Any = None) -> str:
    """Run stage ``stage`` of ``run_id`` on this worker and queue the one after. Returns what happened; raises
    :class:`TransientStageError` for Huey to retry the task (``task``: Huey's, for its id and retries left)."""
    settings = queue.settings
    found = open_services(settings)
    worker = worker_id()
    taken = claim(run_id, worker=worker, task_id=getattr(task, "id", "") or "", services=found)
    if taken is None:
        log.info("run %s is not queued (cancelled, finished or taken): skipping %s", run_id, stage,
                 extra={"run_id": run_id, "stage": stage, "worker": worker})
        return "skipped"
    with found.db.session() as session:
        simulation = session.get(Simulation, run_id)
        assert simulation is not None
        pending = pending_stages(simulation)
        spans = stage_spans(simulation)
        message = simulation.message
        processes = simulation.processes
    if not pending:
        return "succeeded" if finish(run_id, RunStatus.succeeded, services=found, claim=taken) else _lost(run_id, "done")
    current = pending[0]
    fields = {"run_id": run_id, "stage": current, "worker": worker}
    if stage != current:
        log.info("run %s: a message for %s while %s is next: stale, the run is given back", run_id, stage, current,
                 extra=fields)
        return "stale" if release(run_id, message, services=found, claim=taken) else _lost(run_id, current)
    log.info("run %s: %s started", run_id, current, extra=fields)
    started = time.perf_counter()
    try:
        if runs_on_cluster(current):  # Slurm decides where: the stage runs as a batch job this worker follows
            run_as_batch_job(found, run_id, current, taken, processes=processes)
        else:
            run_stage(run_id, current, span=spans[current], services=found, claim=taken)
    except RunLost:
        return _lost(run_id, current)
    except TRANSIENT as error:
        retries = getattr(task, "retries", 0)
        if retries <= 0:
            tries = TRANSIENT_RETRIES - retries if task is not None else 0
            finish(run_id, RunStatus.failed, error=f"{current}: {error} (after {tries} retries)", services=found,
                   claim=taken)
            return "failed"
        delay = float(task.retry_delay)
        log.warning("run %s: %s retries in %.0f s after: %s", run_id, current, delay, error,
                    extra={**fields, "retries_left": retries})
        if not release(run_id, f"retrying {current} in {delay:.0f} s after: {error}", services=found, claim=taken):
            return _lost(run_id, current)
        raise TransientStageError(f"run {run_id}: {current}: {error}") from error
    except KeyboardInterrupt:  # the worker is stopping: hand the stage to another worker
        if release(run_id, f"worker stopped during {current}; waiting for another", services=found, claim=taken):
            update_run(found, run_id, task_id=queue.enqueue_stage(run_id, current))
        raise
    except Exception as error:
        status, reason = outcome(error)
        finish(run_id, status, error=reason, services=found, claim=taken)
        log.warning("run %s %s in %s: %s", run_id, status.value, current, reason.splitlines()[0] if reason else "",
                    extra={**fields, "status": status.value, "seconds": round(time.perf_counter() - started, 3)})
        return status.value
    log.info("run %s: %s done in %.1f s", run_id, current, time.perf_counter() - started,
             extra={**fields, "seconds": round(time.perf_counter() - started, 3)})
    if len(pending) > 1:
        if not release(run_id, f"waiting for a worker: {pending[1]}", services=found, claim=taken):
            return _lost(run_id, current)
        update_run(found, run_id, task_id=queue.enqueue_stage(run_id, pending[1]))
        return "next"
    return "succeeded" if finish(run_id, RunStatus.succeeded, services=found, claim=taken) else _lost(run_id, current)


def _lost(run_id: int, stage: str) -> str:
    log.warning("run %s: %s taken over by another worker while this one was silent; its work here is dropped",
                run_id, stage, extra={"run_id": run_id, "stage": stage, "worker": worker_id()})
    return "lost"
