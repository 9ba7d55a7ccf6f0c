"""Recorded runs: create a simulation row, execute its stages with progress and a heartbeat, mark the outcome.

``run(spec)`` does all of it in this process (the CLI's ``bedflow run`` and
notebooks); job workers call :func:`execute` or :func:`run_stage` per stage.
"""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import threading
import time
import traceback
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, select, text, update
from sqlalchemy.orm import Session

from .. import children, workflow
from ..db import RunStatus, Simulation, utcnow
from ..db.queries import find
from ..db.records import add_artifacts, new_simulation, upload
from ..errors import BedflowError
from ..folder import RunFolder
from ..limits import Limits, StageTimeLimit, check_run, check_user_runs
from ..openfoam.logs import residual_history, thinned
from ..packing import with_engine
from ..progress import ProgressCallback, no_progress
from ..provenance import provenance
from ..results.extract import RunResult
from ..spec import BedSpec
from .services import Services, open_services
from .stages import STAGE_FUNCTIONS, STAGES, TARGETS, Carried, StageContext, record_partial_logs

HEARTBEAT_SECONDS = 5.0
CANCEL_POLL_SECONDS = 1.0
PROGRESS_SECONDS = 1.0
#: Seconds between two writes of a running solve's residual history to its row.
RESIDUALS_SECONDS = 3.0


class RunError(BedflowError):
    """A run cannot be found, or cannot be executed in its present state."""


class RunNotFound(RunError):
    """There is no run with the id asked for."""


#: The environment variable through which a ``bedflow worker``'s processes know the worker's name.
WORKER_NAME_VARIABLE = "BEDFLOW_WORKER_NAME"


def host_and_pid() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_id() -> str:
    """Who runs a stage: ``host:pid``, or ``<worker name>/<pid>`` inside a ``bedflow worker``'s process
    (the name comes from :data:`WORKER_NAME_VARIABLE`, see :mod:`pipeline.jobs.heartbeats`). Both begin
    with ``host:`` unless the worker was given another name."""
    here = host_and_pid()
    worker = os.environ.get(WORKER_NAME_VARIABLE, "").strip()
    return f"{worker}/{os.getpid()}" if worker and worker != here else here


def create_run(spec: BedSpec, *, until: str = "solve", created_by: str = "", sweep_id: int | None = None,
               services: Services | None = None) -> int:
    """Record a queued simulation of ``spec`` (and its ``.bed`` text as an artifact); return its id.

    Refused (:class:`~pipeline.limits.LimitExceeded`, nothing recorded) when the run exceeds the deployment's
    limits (``Settings.limits``): its particles, MPI ranks and estimated cells, or the runs ``created_by``
    already has queued or running.
    """
    if until not in TARGETS:
        raise RunError(f"until must be one of {', '.join(TARGETS)}, got {until!r}")
    spec = spec.validate()
    found = services or open_services()
    limits = found.settings.limits
    check_run(spec, until, limits)
    with found.db.session() as session:
        check_user_runs(created_by, active_runs(session, created_by), 1, limits)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spec.bed"
        path.write_text(spec.to_bed())
        bed_file = upload(found.store, "bed", path, name="spec.bed")
    with found.db.session() as session:
        _lock_user(session, created_by)
        simulation = new_simulation(session, spec, created_by=created_by, sweep_id=sweep_id, until=until,
                                    provenance=provenance(spec.particles.seed))
        _check_still_within(session, created_by, limits)
        add_artifacts(session, "simulation", simulation.id, [bed_file])
        return int(simulation.id)


def active_runs(session: Session, user: str) -> int:
    """How many runs ``user`` (``created_by``, any case) has queued or running."""
    return int(session.scalar(select(func.count(Simulation.id)).where(
        func.lower(Simulation.created_by) == user.strip().lower(),
        Simulation.status.in_([RunStatus.queued, RunStatus.running]))) or 0)


def _lock_user(session: Session, user: str) -> None:
    """Serialise the submissions of one user until this transaction ends, so two at once can neither both pass
    ``BEDFLOW_MAX_RUNS_PER_USER`` nor both create the same new bed. PostgreSQL: an advisory lock per user;
    SQLite: the database's write lock, taken now by an update of no row (its writers are serialised anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"bedflow-user-runs:{user.strip().lower()}".encode())
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        session.execute(update(Simulation).where(false()).values(created_by=Simulation.created_by))


def _check_still_within(session: Session, user: str, limits: Limits) -> None:
    """Count again with the new run written (and the user's submissions serialised): a submission that raced
    another past the first count is refused here, its transaction rolled back."""
    check_user_runs(user, active_runs(session, user) - 1, 1, limits)


@dataclass(frozen=True)
class Claim:
    """A run taken by one worker for one attempt (:func:`claim`). While the worker holds it, the row says
    ``running``, its ``worker`` and its ``attempts``; once the run is recovered (the next attempt) or cancelled,
    the worker's writes through :meth:`owns` match no row, so a worker that was only silent (frozen, cut off from
    the database) and wakes up cannot finish or advance a run that another worker has taken over."""

    run_id: int
    worker: str
    attempt: int

    def owns(self) -> ColumnElement[bool]:
        """The SQL condition: the run is still running under this claim."""
        return and_(Simulation.id == self.run_id, Simulation.status == RunStatus.running,
                    Simulation.worker == self.worker, Simulation.attempts == self.attempt)


class RunLost(BedflowError):
    """The run was taken over by another worker (recovered while this one was silent): drop the stage."""


def write_claimed(found: Services, claim: Claim, **columns: Any) -> bool:
    """Set columns of a run's row only while ``claim`` holds it; whether it did."""
    with found.db.session() as session:
        return session.execute(update(Simulation).where(claim.owns()).values(**columns)).rowcount == 1  # type: ignore[attr-defined]


def pending_stages(simulation: Simulation) -> list[str]:
    """The stages still to run: after the last completed one, up to the run's target."""
    last = STAGES.index(TARGETS[simulation.until])
    done = STAGES.index(simulation.completed_stage) if simulation.completed_stage else -1
    return list(STAGES[done + 1 : last + 1])


def update_run(found: Services, run_id: int, **columns: Any) -> None:
    """Set columns of a run's row."""
    with found.db.session() as session:
        simulation = session.get(Simulation, run_id)
        if simulation is None:
            raise RunError(f"run {run_id} is not in the database")
        for name, value in columns.items():
            setattr(simulation, name, value)


class _Progress:
    """Forwards stage progress to the caller at once and to the simulation row at most once a second; with a
    ``solver_log``, the residual history so far goes to the row too, every :data:`RESIDUALS_SECONDS` (dashboards
    on other machines than the worker show it live)."""

    def __init__(self, found: Services, run_id: int, stage: str, span: tuple[float, float],
                 forward: ProgressCallback, guard: RunGuard, solver_log: Path | None = None) -> None:
        self.found, self.run_id, self.stage, self.span, self.forward = found, run_id, stage, span, forward
        self.guard, self.solver_log = guard, solver_log
        self._written = 0.0
        self._published = 0.0

    def __call__(self, fraction: float, message: str) -> None:
        self.guard.check()  # in-process work (the native packer) stops here when the run is cancelled
        low, high = self.span
        overall = low + (high - low) * min(max(fraction, 0.0), 1.0)
        self.forward(overall, message)
        now = time.monotonic()
        if now - self._written >= PROGRESS_SECONDS or fraction >= 1.0:
            self._written = now
            columns: dict[str, Any] = {}
            if self.solver_log is not None and (now - self._published >= RESIDUALS_SECONDS or fraction >= 1.0):
                self._published = now
                columns["residuals"] = self.residuals()
            self.guard.write(progress=overall, message=message[:2000], stage=self.stage, heartbeat_at=utcnow(),
                             **columns)

    def residuals(self) -> dict[str, list[list[float]]] | None:
        """The solver log's residual history so far, thinned (``None`` before the log exists)."""
        log = self.solver_log
        return thinned(residual_history(log)) if log is not None and log.is_file() else None


class RunCancelled(BedflowError):
    """The run was cancelled while this process worked on it."""


class RunGuard:
    """While a stage runs here: a heartbeat on the run's row every ``beat`` seconds, and every ``poll`` seconds a
    look at its status and its clock; once it reads ``cancelled``, or the stage has run ``limit`` seconds
    (``BEDFLOW_MAX_STAGE_SECONDS``), the programs this process started are stopped (SIGTERM, then SIGKILL after
    ``grace`` seconds) and :attr:`cancelled` or :attr:`expired` is set. With a ``claim``, every write goes through
    it, and a run no longer held by it (taken over by another worker) is stopped the same way, with :attr:`lost`
    set."""

    def __init__(self, found: Services, run_id: int, beat: float = HEARTBEAT_SECONDS, poll: float = CANCEL_POLL_SECONDS,
                 grace: float = 5.0, claim: Claim | None = None, *, stage: str = "stage",
                 limit: float | None = None) -> None:
        self.found, self.run_id, self.beat, self.poll, self.grace = found, run_id, beat, poll, grace
        self.claim, self.stage, self.limit = claim, stage, limit
        self.cancelled = threading.Event()
        self.lost = threading.Event()
        self.expired = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"run-guard-{run_id}", daemon=True)
        self._started = 0.0  # when the stage began (time.monotonic), set on entering

    def __enter__(self) -> "RunGuard":
        self.write(heartbeat_at=utcnow())
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def check(self) -> None:
        """Raise :class:`RunCancelled` if the run was cancelled, :class:`RunLost` if another worker took it over,
        :class:`~pipeline.limits.StageTimeLimit` if the stage is over its time (called from progress callbacks)."""
        if self.cancelled.is_set():
            raise RunCancelled(f"run {self.run_id} was cancelled")
        if self.lost.is_set():
            raise RunLost(f"run {self.run_id} was taken over by another worker")
        if self.expired.is_set():
            raise StageTimeLimit(self.stage, self.limit or 0.0)

    def write(self, **columns: Any) -> None:
        """Set columns of the run's row, through the claim if any: when the claim no longer holds, nothing is
        written and :attr:`cancelled` or :attr:`lost` is set instead."""
        if self.claim is None:
            update_run(self.found, self.run_id, **columns)
        elif not (self.lost.is_set() or self.cancelled.is_set()) and not write_claimed(self.found, self.claim,
                                                                                       **columns):
            (self.cancelled if _status(self.found, self.run_id) is RunStatus.cancelled else self.lost).set()

    def _watch(self) -> None:
        last_beat = time.monotonic()
        groups: list[int] = []
        killed_at: float | None = None
        while not self._stop.wait(self.poll):
            try:
                now = time.monotonic()
                if killed_at is None and self.limit is not None and now - self._started > self.limit:
                    self.expired.set()
                if killed_at is None and _status(self.found, self.run_id) is RunStatus.cancelled:
                    self.cancelled.set()
                if killed_at is None and (self.cancelled.is_set() or self.lost.is_set() or self.expired.is_set()):
                    children.terminate_all()
                    killed_at = now
                elif killed_at is not None and now - killed_at > self.grace:
                    children.terminate_all(signal.SIGKILL)
                running = children.running_groups()
                if killed_at is None and (now - last_beat >= self.beat or running != groups):
                    self.write(heartbeat_at=utcnow(), process_group=running[0] if running else None)
                    last_beat, groups = now, running
            except BedflowError:
                pass  # the database is down: the next round tries again; the stage will notice too


def _was_cancelled(found: Services, run_id: int) -> bool:
    try:
        return _status(found, run_id) is RunStatus.cancelled
    except BedflowError:
        return False


def _status(found: Services, run_id: int) -> RunStatus | None:
    with found.db.session() as session:
        return session.scalar(select(Simulation.status).where(Simulation.id == run_id))


def stage_spans(simulation: Simulation) -> dict[str, tuple[float, float]]:
    """Each stage's part of the run's progress bar (0–1), over all stages up to the run's target."""
    return workflow.stage_spans(STAGES[: STAGES.index(TARGETS[simulation.until]) + 1])


@dataclass
class RecordedStages:
    """The :class:`~pipeline.workflow.Recorder` of a recorded run: each stage runs under a :class:`RunGuard`
    (heartbeat, cancel, time limit, the claim), fetches what it needs from the store, and records what it made
    (rows and artifacts, :data:`~pipeline.runs.stages.STAGE_FUNCTIONS`), its timing and its completion.

    Raises :class:`RunCancelled` if the run is cancelled, :class:`~pipeline.limits.StageTimeLimit` once a stage
    has run ``BEDFLOW_MAX_STAGE_SECONDS`` (after stopping the programs it started), :class:`RunLost` (nothing
    recorded) once another worker holds the run. The logs of a failed, stopped or cancelled stage are kept.
    """

    services: Services
    run_id: int
    claim: Claim | None = None

    def stage(self, name: str, carried: Carried, span: tuple[float, float], progress: ProgressCallback) -> None:
        found, run_id = self.services, self.run_id
        with found.db.session() as session:
            timings = dict(session.scalar(select(Simulation.timings).where(Simulation.id == run_id)) or {})
        carried.folder.root.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with RunGuard(found, run_id, claim=self.claim, stage=name,
                      limit=found.settings.limits.max_stage_seconds) as guard:
            solver_log = carried.folder.solver_log if name == "solve" else None
            fresh = {"residuals": None} if solver_log is not None else {}  # not the history of an earlier attempt
            guard.write(stage=name, progress=span[0], message=f"{name} started", folder=str(carried.folder.root),
                        **fresh)
            reporter = _Progress(found, run_id, name, span, progress, guard, solver_log)
            context = StageContext(run_id, carried, found, reporter)
            try:
                guard.check()
                STAGE_FUNCTIONS[name](context)
                if guard.expired.is_set():  # work that reported no progress since its time ran out is over it too
                    raise StageTimeLimit(name, guard.limit or 0.0)
            except BaseException as error:
                if guard.lost.is_set():
                    raise RunLost(f"run {run_id} was taken over by another worker during {name}") from error
                record_partial_logs(context)
                if isinstance(error, (RunCancelled, StageTimeLimit)):
                    raise
                if guard.cancelled.is_set() or _was_cancelled(found, run_id):
                    raise RunCancelled(f"run {run_id} was cancelled during {name}") from error
                if guard.expired.is_set():  # its killed program's error
                    raise StageTimeLimit(name, guard.limit or 0.0) from error
                raise
            timings[name] = carried.seconds[name] = time.perf_counter() - started
            final = {"residuals": reporter.residuals()} if solver_log is not None else {}
            guard.write(completed_stage=name, progress=span[1], timings=timings, heartbeat_at=utcnow(),
                        process_group=None, **final)
            guard.check()  # cancelled or taken over before its completion was recorded: the result is dropped


def carried_for(run_id: int, folder: str | Path | RunFolder | None = None, *,
                services: Services | None = None) -> Carried:
    """What a process starting on a recorded run carries: the spec (parsed once, from its row) and its folder
    (``folder``, default its work folder)."""
    found = services or open_services()
    with found.db.session() as session:
        simulation = session.get(Simulation, run_id)
        if simulation is None:
            raise RunError(f"run {run_id} is not in the database")
        spec = BedSpec.from_dict(simulation.spec)
    return workflow.Carried(spec, RunFolder.of(folder) if folder else RunFolder(found.work_dir(run_id)))


def run_stage(run_id: int, stage: str, *, folder: str | Path | RunFolder | None = None,
              progress: ProgressCallback | None = None, span: tuple[float, float] = (0.0, 1.0),
              services: Services | None = None, claim: Claim | None = None, carried: Carried | None = None) -> None:
    """Run one stage of a recorded run here (in ``folder``, default its work folder, recorded on the run's row) and
    mark it completed (:class:`RecordedStages`). ``carried``: what the previous stages of this run made in this
    process (handed on in memory)."""
    found = services or open_services()
    if stage not in STAGE_FUNCTIONS:
        raise RunError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    carried = carried or carried_for(run_id, folder, services=found)
    RecordedStages(found, run_id, claim).stage(stage, carried, span, progress or no_progress)


def describe_error(error: BaseException) -> str:
    """What a failed run shows: bedflow's own message, or the exception with its traceback."""
    if isinstance(error, BedflowError):
        return str(error)
    return "".join(traceback.format_exception(error)).strip()[-8000:]


def claim(run_id: int, *, worker: str | None = None, task_id: str = "", services: Services | None = None) -> Claim | None:
    """Take a queued run for this worker (queued → running), atomically: of two workers, one gets it. Returns the
    :class:`Claim` to write through, or ``None`` if the run was not queued."""
    found = services or open_services()
    now = utcnow()
    worker = worker or worker_id()
    values: dict[str, Any] = {"status": RunStatus.running, "worker": worker, "heartbeat_at": now,
                              "finished_at": None, "error": "",
                              "attempts": case((Simulation.attempts < 1, 1), else_=Simulation.attempts)}
    if task_id:
        values["task_id"] = task_id
    with found.db.session() as session:
        taken = session.execute(update(Simulation).where(Simulation.id == run_id,
                                                         Simulation.status == RunStatus.queued).values(**values))
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return None
        simulation = session.get(Simulation, run_id)
        simulation.started_at = simulation.started_at or now
        simulation.provenance = provenance(BedSpec.from_dict(simulation.spec).particles.seed)
        return Claim(run_id, worker, simulation.attempts)


def release(run_id: int, message: str, *, services: Services | None = None, claim: Claim | None = None) -> bool:
    """Hand a running run back to the queue (running → queued) between stages; not if it was cancelled, nor,
    with its ``claim``, if another worker holds it now. Whether it did."""
    found = services or open_services()
    where = claim.owns() if claim else and_(Simulation.id == run_id, Simulation.status == RunStatus.running)
    with found.db.session() as session:
        return session.execute(update(Simulation).where(where).values(  # type: ignore[attr-defined]
            status=RunStatus.queued, message=message, heartbeat_at=utcnow(), process_group=None)).rowcount == 1


def finish(run_id: int, status: RunStatus, *, error: str = "", message: str = "",
           services: Services | None = None, claim: Claim | None = None) -> bool:
    """Mark a run finished (succeeded, failed or cancelled). A cancelled run stays cancelled; with its ``claim``,
    a run another worker holds now is left to it. Whether it did."""
    found = services or open_services()
    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "process_group": None,
                              "message": message or status.value}
    if status is RunStatus.succeeded:
        values.update(progress=1.0, stage="done")
    if error:
        values["error"] = error
    where = claim.owns() if claim else and_(Simulation.id == run_id, Simulation.status != RunStatus.cancelled)
    with found.db.session() as session:
        done = session.execute(update(Simulation).where(where).values(**values)).rowcount == 1  # type: ignore[attr-defined]
        # A run cancelled while it ran stays cancelled whatever its worker saw (often the killed program's error).
        session.execute(update(Simulation).where(Simulation.id == run_id, Simulation.status == RunStatus.cancelled,
                                                 Simulation.finished_at.is_(None))
                        .values(finished_at=utcnow(), process_group=None))
    return done


def outcome(error: BaseException) -> tuple[RunStatus, str]:
    """How a run that raised ``error`` ends: cancelled (asked for, or interrupted) or failed with the reason."""
    if isinstance(error, (RunCancelled, KeyboardInterrupt)):
        return RunStatus.cancelled, "cancelled" if isinstance(error, RunCancelled) else "interrupted"
    return RunStatus.failed, describe_error(error)


def execute(run_id: int, *, folder: str | Path | RunFolder | None = None, progress: ProgressCallback | None = None,
            worker: str | None = None, services: Services | None = None,
            carried: Carried | None = None) -> Simulation:
    """Run all pending stages of a queued run here, through the stage chain
    (:func:`pipeline.workflow.run_stages` with :class:`RecordedStages`): running, then succeeded, failed or
    cancelled. ``carried`` (optional) receives what the stages made (the result among it).

    Returns the final simulation row. Errors are recorded on the run and raised again.
    """
    found = services or open_services()
    taken = claim(run_id, worker=worker, services=found)
    if taken is None:
        status = _status(found, run_id)
        if status is None:
            raise RunError(f"run {run_id} is not in the database")
        raise RunError(f"run {run_id} is {status.value}, not queued; nothing to execute")
    with found.db.session() as session:
        stages = pending_stages(session.get(Simulation, run_id))  # type: ignore[arg-type]
    try:
        carried = carried or carried_for(run_id, folder, services=found)
        workflow.run_stages(carried, stages, RecordedStages(found, run_id, taken), progress)
    except RunLost:
        raise
    except BaseException as error:
        status, reason = outcome(error)
        try:
            finish(run_id, status, error=reason, services=found, claim=taken)
        except BedflowError:
            pass  # the database itself failed: the original error says why
        raise
    if not finish(run_id, RunStatus.succeeded, services=found, claim=taken):
        raise RunLost(f"run {run_id} was taken over by another worker; its result is dropped")
    with found.db.session() as session:
        return session.get(Simulation, run_id)  # type: ignore[return-value]


def cancel(run_id: int, *, services: Services | None = None) -> RunStatus:
    """Cancel a run: a queued one never starts; a running one is stopped by its worker within seconds
    (its programs are killed and its logs kept). Returns the status it had."""
    found = services or open_services()
    with found.db.session() as session:
        simulation = find(session, Simulation, run_id)
        if simulation is None:
            raise RunError(f"run {run_id} is not in the database")
        before = simulation.status
        if not before.finished:
            simulation.status = RunStatus.cancelled
            simulation.message = "cancelled by request"
            if before is RunStatus.queued:
                simulation.finished_at = utcnow()
    return before


def run(spec: BedSpec, engine: str | None = None, processes: int | None = None,
        folder: str | Path | RunFolder | None = None, progress: ProgressCallback | None = None, *,
        created_by: str = "", sweep_id: int | None = None, services: Services | None = None) -> RunResult:
    """Pack, mesh, solve and evaluate ``spec`` here, recorded in the database and the store (in the sweep
    ``sweep_id`` when given).

    ``engine`` and ``processes`` override the spec's packing method and MPI ranks.
    Bad specs fail before anything is recorded. Packings and meshes recorded with
    the same digest are reused. The result carries its ``run_id``.
    """
    spec = with_engine(spec, engine)
    if processes is not None:
        spec = spec.updated({"cfd.processes": processes})
    found = services or open_services()
    run_id = create_run(spec, created_by=created_by, sweep_id=sweep_id, services=found)
    carried = workflow.Carried(spec, RunFolder.of(folder) if folder else RunFolder(found.work_dir(run_id)))
    execute(run_id, progress=progress, services=found, carried=carried)
    result: RunResult = carried.result  # type: ignore[assignment]
    result.run_id = run_id
    result.seconds = {**carried.seconds, **result.seconds}
    return result
