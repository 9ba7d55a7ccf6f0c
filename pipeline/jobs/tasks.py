"""What the queue's task does: one stage of one run, then the next stage queued.

A stage task first *claims* its run (queued → running, atomically), so a
duplicate message (after a recovery) does nothing. It runs the first pending
stage, whatever stage its message named: runs resume from the last completed
stage. Between stages the run goes back to ``queued`` until a worker takes the
next stage. Transient errors (store or database unreachable) retry with
doubling delays; other errors fail the run at once with their message.
Everything a task writes goes through its claim: a worker whose run was
recovered while it was silent (frozen, cut off) and taken by another drops
its stage when it wakes up, instead of finishing the run a second time.
"""

from __future__ import annotations

import time
from typing import Any

from ..db import DatabaseError, RunStatus, Simulation
from ..runs import (claim, finish, open_services, outcome, pending_stages, release, run_stage, worker_id)
from ..runs.execute import RunLost, stage_spans, update_run
from ..settings import Settings
from ..store import StoreError
from .queue import RETRY_DELAY, TRANSIENT_RETRIES, QueueError, log, queue_for

TRANSIENT = (StoreError, DatabaseError, QueueError)


def stage_task(settings: Settings, run_id: int, stage: str, retry: int = 0, task: Any = None) -> str:
    """Run the next pending stage of ``run_id`` on this worker; queue the one after. Returns what happened."""
    found = open_services(settings)
    queue = queue_for(settings)
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
    if not pending:
        return "succeeded" if finish(run_id, RunStatus.succeeded, services=found, claim=taken) else _lost(run_id, "done")
    current = pending[0]
    fields = {"run_id": run_id, "stage": current, "worker": worker}
    log.info("run %s: %s started", run_id, current, extra=fields)
    started = time.perf_counter()
    try:
        run_stage(run_id, current, span=spans[current], services=found, claim=taken)
    except RunLost:
        return _lost(run_id, current)
    except TRANSIENT as error:
        if retry >= TRANSIENT_RETRIES:
            finish(run_id, RunStatus.failed, error=f"{current}: {error} (after {retry} retries)", services=found,
                   claim=taken)
            return "failed"
        delay = RETRY_DELAY * 2**retry
        log.warning("run %s: %s retries in %.0f s after: %s", run_id, current, delay, error,
                    extra={**fields, "retry": retry + 1})
        if not release(run_id, f"retrying {current} in {delay:.0f} s after: {error}", services=found, claim=taken):
            return _lost(run_id, current)
        _record_task(settings, run_id, queue.enqueue_stage(run_id, current, retry + 1, delay=delay))
        return "retrying"
    except KeyboardInterrupt:  # the worker is stopping: hand the stage to another worker
        if release(run_id, f"worker stopped during {current}; waiting for another", services=found, claim=taken):
            _record_task(settings, run_id, queue.enqueue_stage(run_id, current))
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
        _record_task(settings, run_id, queue.enqueue_stage(run_id, pending[1]))
        return "next"
    return "succeeded" if finish(run_id, RunStatus.succeeded, services=found, claim=taken) else _lost(run_id, current)


def _lost(run_id: int, stage: str) -> str:
    log.warning("run %s: %s taken over by another worker while this one was silent; its work here is dropped",
                run_id, stage, extra={"run_id": run_id, "stage": stage, "worker": worker_id()})
    return "lost"


def _record_task(settings: Settings, run_id: int, task_id: str) -> None:
    update_run(open_services(settings), run_id, task_id=task_id)
