"""Submitting, watching, cancelling and recovering queued runs: what the CLI, dashboard and notebooks call.

The database is the truth about a run (status, progress, heartbeat); the
queue only carries the next stage to do.
"""

from __future__ import annotations

import logging
import re
import signal
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import param
from sqlalchemy import or_, select, update

from .. import children
from ..db import RunStatus, Simulation, utcnow
from ..db.queries import find
from ..runs import RunError, RunNotFound, create_run, finish, open_services, pending_stages, worker_id
from ..runs import cancel as cancel_run
from ..runs.execute import update_run
from ..runs.sweeps import SweepRuns, create_sweep
from ..settings import Settings
from ..spec import BedSpec
from .queue import QueueError, queue_for

STATUS_KEYS = ("id", "status", "progress", "stage", "attempts", "error", "message", "job")
log = logging.getLogger("bedflow.jobs")


class RunPermissionError(RunError):
    """A signed-in user asked to change a run that is not theirs."""


def check_owner(run: Simulation, user: str, action: str, settings: Settings) -> None:
    """Raise :class:`RunPermissionError` unless ``user`` may ``action`` ``run``: its owner (``created_by``) or an
    admin (``BEDFLOW_ADMINS``). An empty ``user`` (no sign-in: one person at the server, or the CLI) may."""
    if not user:
        return
    name = user.strip().lower()
    if name == (run.created_by or "").strip().lower() or name in settings.admins:
        return
    raise RunPermissionError(f"run {run.id} belongs to {run.created_by or 'nobody'}: only its owner or an admin "
                             f"(BEDFLOW_ADMINS) may {action} it")


def _enqueue_first(settings: Settings, run_id: int) -> None:
    found = open_services(settings)
    with found.db.session() as session:
        stages = pending_stages(session.get(Simulation, run_id))  # type: ignore[arg-type]
    try:
        task_id = queue_for(settings).enqueue_stage(run_id, stages[0])
    except QueueError as error:
        finish(run_id, RunStatus.failed, error=f"could not be queued: {error}", services=found)
        raise
    update_run(found, run_id, task_id=task_id, message=f"waiting for a worker: {stages[0]}", heartbeat_at=utcnow())


def submit(spec: BedSpec, *, until: str = "solve", created_by: str = "", sweep_id: int | None = None,
           settings: Settings | None = None) -> int:
    """Record a run of ``spec`` (queued) and put its first stage on the job queue; return the run id.

    ``until``: ``pack``, ``mesh`` or ``solve`` (the whole chain). Workers (``bedflow worker``) do the rest.
    A run over the deployment's limits (``Settings.limits``) is refused with
    :class:`~pipeline.limits.LimitExceeded` before anything is recorded.
    """
    settings = settings or Settings.from_env()
    run_id = create_run(spec, until=until, created_by=created_by, sweep_id=sweep_id, services=open_services(settings))
    _enqueue_first(settings, run_id)
    return run_id


def parse_sweep_values(path: str, text: str) -> list[float | int]:
    """The values of a sweep of ``path`` from text: comma-separated numbers, SI or with a unit (``3 mm, 4 mm``);
    :class:`ValueError` naming the bad item."""
    from ..spec.fields import dimension, unit_of
    from ..units import DIMENSION_NAMES, lookup

    parameter = BedSpec.parameter(path)
    values: list[float | int] = []
    for item in (part.strip() for part in text.replace(";", ",").split(",")):
        if not item:
            continue
        number, _, unit_text = item.partition(" ")
        try:
            value = float(number)
        except ValueError:
            raise ValueError(f"{item!r} is not a number") from None
        unit_text = unit_text.strip()
        if unit_text:
            unit = lookup(unit_text)
            if unit is None or unit.dimension != dimension(parameter):
                expected = DIMENSION_NAMES.get(dimension(parameter), "")
                raise ValueError(f"{item!r}: {path} takes a {expected} in {unit_of(parameter) or 'no unit'}")
            value = unit.to_si(value)
        if isinstance(parameter, param.Integer):
            if value != int(value):
                raise ValueError(f"{item!r}: {path} takes whole numbers")
            values.append(int(value))
        else:
            values.append(value)
    if not values:
        raise ValueError("give at least one value, e.g. 1, 5, 10")
    return values


def submit_sweep(spec: BedSpec, parameter: str, values: Sequence[Any], *, name: str | None = None,
                 until: str = "solve", created_by: str = "", settings: Settings | None = None) -> SweepRuns:
    """A sweep: one run of ``spec`` per value of ``parameter`` (a dotted spec path such as
    ``cfd.particle_reynolds``), recorded (:func:`pipeline.runs.create_sweep`: every value and run checked first)
    and all queued for the workers. Returns the sweep's id and its run ids."""
    settings = settings or Settings.from_env()
    created = create_sweep(spec, parameter, values, name=name, until=until, created_by=created_by,
                           services=open_services(settings))
    for run_id in created.run_ids:
        _enqueue_first(settings, run_id)
    return created


def status(run_id: int, *, settings: Settings | None = None) -> dict[str, Any]:
    """``{"id", "status", "progress", "stage", "attempts", "error", "message", "job"}`` of a run, from the database
    (``job``: the batch job its heavy stage runs as, ``slurm:<id>``, or empty)."""
    found = open_services(settings)
    with found.db.session() as session:
        run = find(session, Simulation, run_id)
        if run is None:
            raise RunNotFound(f"no run {run_id} in {found.db!r}")
        return {"id": run.id, "status": run.status.value, "progress": round(run.progress, 4),
                "stage": run.stage,
                "attempts": run.attempts, "error": run.error, "message": run.message, "job": run.job}


def cancel(run_id: int, *, by: str = "", settings: Settings | None = None) -> dict[str, Any]:
    """Cancel a run, as the signed-in user ``by`` (:func:`check_owner`). Queued: its task is revoked. Running: its
    worker sees the status within a second and stops the programs it started (on this machine they are also
    signalled from here at once)."""
    settings = settings or Settings.from_env()
    found = open_services(settings)
    _owned(found, run_id, by, "cancel", settings)
    before = cancel_run(run_id, services=found)
    with found.db.session() as session:
        run = find(session, Simulation, run_id)
        task_id, worker, group, job = run.task_id, run.worker, run.process_group, run.job  # type: ignore[union-attr]
    if before is RunStatus.queued:
        queue_for(settings).revoke(task_id)
    elif before is RunStatus.running and job:
        from .cluster import cancel_job

        cancel_job(found, run_id)  # at once; its worker, following the job, would within seconds
    elif before is RunStatus.running and group is not None and worker.split(":")[0] == worker_id().split(":")[0]:
        _stop_programs(found, run_id, group, worker)  # same machine: no need to wait for the worker's next look
    return status(run_id, settings=settings)


def _stop_programs(found: Any, run_id: int, group: int, worker: str) -> None:
    """SIGTERM a running run's programs from here, if the group its row names is one its worker process (the
    pid ending ``worker``) started; a row naming another group (tampered, stale) signals nothing and says so
    in the run's message (its worker still stops its own programs)."""
    pid = re.search(r"[0-9]+\Z", worker)
    try:
        children.kill_group(group, signal.SIGTERM, parent=int(pid.group()) if pid else 0)
    except children.SignalRefused as refused:
        log.warning("cancel of run %s: not signalling from here: %s", run_id, refused)
        update_run(found, run_id, message=f"cancelled by request; its worker stops its programs (not signalled "
                                          f"from here: {refused})")


def resubmit(run_id: int, *, by: str = "", settings: Settings | None = None) -> int:
    """Submit a run's spec again (same ``until``) as ``by``, who must own it or be an admin (:func:`check_owner`);
    the new run's id."""
    settings = settings or Settings.from_env()
    found = open_services(settings)
    run = _owned(found, run_id, by, "re-run", settings)
    return submit(BedSpec.from_dict(run.spec), until=run.until, created_by=by, settings=settings)


def _owned(found: Any, run_id: int, by: str, action: str, settings: Settings) -> Simulation:
    with found.db.session() as session:
        run = find(session, Simulation, run_id)
        if run is None:
            raise RunNotFound(f"no run {run_id} in {found.db!r}")
        check_owner(run, by, action, settings)
        session.expunge(run)
        return run


def recover(*, stale_after: float | None = None, max_attempts: int | None = None,
            settings: Settings | None = None) -> list[dict[str, Any]]:
    """Find runs whose worker was lost and put them back on the queue, resuming at their next stage.

    * running, with no heartbeat for ``stale_after`` seconds (default ``BEDFLOW_STALE_AFTER``): re-queued
      (attempts + 1), or failed once ``max_attempts`` (default ``BEDFLOW_MAX_ATTEMPTS``) attempts are used up;
    * queued for longer than ``stale_after`` with no task in the queue (the message was lost): re-queued.
    Returns what was done, one dict per run (``id``, ``action``, ``reason``; ``stage`` and ``attempts`` when
    re-queued), and logs it.
    """
    settings = settings or Settings.from_env()
    stale_after = settings.stale_after if stale_after is None else stale_after
    max_attempts = settings.max_attempts if max_attempts is None else max_attempts
    found = open_services(settings)
    queue = queue_for(settings)
    cutoff = utcnow() - timedelta(seconds=stale_after)
    done: list[dict[str, Any]] = []
    with found.db.session() as session:
        lost = list(session.scalars(select(Simulation).where(
            Simulation.status == RunStatus.running,
            or_(Simulation.heartbeat_at < cutoff, Simulation.heartbeat_at.is_(None)))))
        waiting = list(session.scalars(select(Simulation).where(
            Simulation.status == RunStatus.queued, or_(Simulation.heartbeat_at < cutoff,
                                                       Simulation.heartbeat_at.is_(None) & (Simulation.created_at < cutoff)))))
    for run in lost:
        last = run.heartbeat_at.isoformat(timespec="seconds") if run.heartbeat_at else "never"
        if run.attempts >= max_attempts:
            error = (f"worker {run.worker} lost during {run.stage} (last heartbeat {last}); gave up after "
                     f"{run.attempts} attempts")
            if _take_over(found, run, status=RunStatus.failed, finished_at=utcnow(), error=error):
                done.append({"id": run.id, "action": "failed", "reason": error})
            continue
        reason = f"worker {run.worker} stopped sending heartbeats during {run.stage} (last {last})"
        if _take_over(found, run, status=RunStatus.queued, attempts=run.attempts + 1, heartbeat_at=utcnow(),
                      message=f"re-queued: {reason}"):
            done.append({"id": run.id, "action": "requeued", "stage": (pending_stages(run) or ["done"])[0],
                         "attempts": run.attempts + 1, "reason": reason})
    if waiting:
        in_queue = queue.waiting_task_ids()
        for run in waiting:
            if run.task_id not in in_queue and _take_over(found, run, heartbeat_at=utcnow()):
                done.append({"id": run.id, "action": "requeued", "stage": (pending_stages(run) or ["done"])[0],
                             "attempts": run.attempts, "reason": "its queue message was lost"})
    for item in done:
        log.warning("run %s %s%s: %s", item["id"], item["action"], f" at {item['stage']}" if "stage" in item else "",
                    item["reason"], extra={"run_id": item["id"], "action": item["action"]})
        if item["action"] == "requeued":
            update_run(found, item["id"], task_id=queue.enqueue_stage(item["id"], item["stage"]))
    return done


def _take_over(found: Any, run: Simulation, **values: Any) -> bool:
    """Change a run only if nobody touched it since it was read (status and heartbeat unchanged): of several
    workers sweeping at once, one acts."""
    unchanged = (Simulation.heartbeat_at.is_(None) if run.heartbeat_at is None
                 else Simulation.heartbeat_at == run.heartbeat_at)
    with found.db.session() as session:
        result = session.execute(update(Simulation).where(Simulation.id == run.id, Simulation.status == run.status,
                                                          unchanged).values(**values))
        return result.rowcount == 1  # type: ignore[attr-defined]


def watch(run_id: int, *, interval: float = 0.5, timeout: float | None = None,
          settings: Settings | None = None) -> Iterator[dict[str, Any]]:
    """Yield the run's :func:`status` whenever it changes, until it is finished (or ``timeout`` seconds)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    last: dict[str, Any] | None = None
    while True:
        now = status(run_id, settings=settings)
        if now != last:
            yield now
            last = now
        if RunStatus(now["status"]).finished:
            return
        if deadline is not None and time.monotonic() > deadline:
            raise RunError(f"run {run_id} still {now['status']} after {timeout} s")
        time.sleep(interval)
