"""Recorded runs: create a simulation row, execute its stages with progress and a heartbeat, mark the outcome.

``run(spec)`` does all of it in this process (the CLI's ``bedflow run`` and
notebooks); job workers call :func:`execute` or :func:`run_stage` per stage.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..db import RunStatus, Simulation, utcnow
from ..db.records import add_artifacts, new_simulation, upload
from ..errors import BedflowError
from ..packing import with_engine
from ..progress import ProgressCallback, no_progress
from ..provenance import provenance
from ..results.extract import RESULTS_FILE, RunResult
from ..spec import BedSpec
from .services import Services, open_services
from .stages import STAGE_FUNCTIONS, STAGES, TARGETS, WEIGHTS, StageContext, record_partial_logs

HEARTBEAT_SECONDS = 5.0
PROGRESS_SECONDS = 1.0


class RunError(BedflowError):
    """A run cannot be found, or cannot be executed in its present state."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def create_run(spec: BedSpec, *, until: str = "solve", created_by: str = "", sweep_id: int | None = None,
               services: Services | None = None) -> int:
    """Record a queued simulation of ``spec`` (and its ``.bed`` text as an artifact); return its id."""
    if until not in TARGETS:
        raise RunError(f"until must be one of {', '.join(TARGETS)}, got {until!r}")
    spec = spec.validate()
    found = services or open_services()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spec.bed"
        path.write_text(spec.to_bed())
        bed_file = upload(found.store, "bed", path, name="spec.bed")
    with found.db.session() as session:
        simulation = new_simulation(session, spec, created_by=created_by, sweep_id=sweep_id, until=until,
                                    provenance=provenance(spec.particles.seed))
        add_artifacts(session, "simulation", simulation.id, [bed_file])
        return int(simulation.id)


def pending_stages(simulation: Simulation) -> list[str]:
    """The stages still to run: after the last completed one, up to the run's target."""
    last = STAGES.index(TARGETS[simulation.until])
    done = STAGES.index(simulation.completed_stage) if simulation.completed_stage else -1
    return list(STAGES[done + 1 : last + 1])


def _update(found: Services, run_id: int, **columns: Any) -> None:
    with found.db.session() as session:
        simulation = session.get(Simulation, run_id)
        if simulation is None:
            raise RunError(f"run {run_id} is not in the database")
        for name, value in columns.items():
            setattr(simulation, name, value)


class _Progress:
    """Forwards stage progress to the caller at once and to the simulation row at most once a second."""

    def __init__(self, found: Services, run_id: int, stage: str, span: tuple[float, float],
                 forward: ProgressCallback) -> None:
        self.found, self.run_id, self.stage, self.span, self.forward = found, run_id, stage, span, forward
        self._written = 0.0

    def __call__(self, fraction: float, message: str) -> None:
        low, high = self.span
        overall = low + (high - low) * min(max(fraction, 0.0), 1.0)
        self.forward(overall, message)
        now = time.monotonic()
        if now - self._written >= PROGRESS_SECONDS or fraction >= 1.0:
            self._written = now
            _update(self.found, self.run_id, progress=overall, message=message[:2000], stage=self.stage,
                    heartbeat_at=utcnow())


@contextmanager
def heartbeat(found: Services, run_id: int, every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
    """Write the run's heartbeat every ``every`` seconds while the block runs (a daemon thread)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            try:
                _update(found, run_id, heartbeat_at=utcnow())
            except BedflowError:
                pass  # the database is down: the next beat tries again; the stage will notice too

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id}", daemon=True)
    _update(found, run_id, heartbeat_at=utcnow())
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _spans(stages: list[str]) -> dict[str, tuple[float, float]]:
    total = sum(WEIGHTS[s] for s in stages) or 1.0
    spans, start = {}, 0.0
    for stage in stages:
        end = start + WEIGHTS[stage] / total
        spans[stage] = (start, end)
        start = end
    return spans


def run_stage(run_id: int, stage: str, *, folder: str | Path | None = None, progress: ProgressCallback | None = None,
              span: tuple[float, float] = (0.0, 1.0), services: Services | None = None) -> None:
    """Run one stage of a recorded run (in ``folder``, default its work folder) and mark it completed."""
    found = services or open_services()
    if stage not in STAGE_FUNCTIONS:
        raise RunError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    with found.db.session() as session:
        simulation = session.get(Simulation, run_id)
        if simulation is None:
            raise RunError(f"run {run_id} is not in the database")
        spec = BedSpec.from_dict(simulation.spec)
        timings = dict(simulation.timings or {})
    root = Path(folder) if folder else found.work_dir(run_id)
    root.mkdir(parents=True, exist_ok=True)
    reporter = _Progress(found, run_id, stage, span, progress or no_progress)
    context = StageContext(run_id, spec, root, found, reporter)
    started = time.perf_counter()
    _update(found, run_id, stage=stage, progress=span[0], message=f"{stage} started")
    with heartbeat(found, run_id):
        try:
            STAGE_FUNCTIONS[stage](context)
        except BaseException:
            record_partial_logs(context)
            raise
    timings[stage] = time.perf_counter() - started
    _update(found, run_id, completed_stage=stage, progress=span[1], timings=timings, heartbeat_at=utcnow())


def describe_error(error: BaseException) -> str:
    """What a failed run shows: bedflow's own message, or the exception with its traceback."""
    if isinstance(error, BedflowError):
        return str(error)
    return "".join(traceback.format_exception(error)).strip()[-8000:]


def execute(run_id: int, *, folder: str | Path | None = None, progress: ProgressCallback | None = None,
            worker: str | None = None, services: Services | None = None) -> Simulation:
    """Run the pending stages of a recorded run here, marking it running, then succeeded or failed.

    Returns the final simulation row. Errors are recorded on the run and raised again.
    """
    found = services or open_services()
    with found.db.session() as session:
        simulation = session.get(Simulation, run_id)
        if simulation is None:
            raise RunError(f"run {run_id} is not in the database")
        if simulation.status in (RunStatus.succeeded, RunStatus.cancelled):
            raise RunError(f"run {run_id} is {simulation.status.value}; nothing to execute")
        stages = pending_stages(simulation)
        simulation.status = RunStatus.running
        simulation.attempts += 1
        simulation.worker = worker or worker_id()
        simulation.started_at = simulation.started_at or utcnow()
        simulation.finished_at = None
        simulation.error = ""
        simulation.provenance = provenance(BedSpec.from_dict(simulation.spec).particles.seed)
    spans = _spans(stages)
    try:
        for stage in stages:
            run_stage(run_id, stage, folder=folder, progress=progress, span=spans[stage], services=found)
    except BaseException as error:
        cancelled = isinstance(error, KeyboardInterrupt)
        status = RunStatus.cancelled if cancelled else RunStatus.failed
        try:
            _update(found, run_id, status=status, finished_at=utcnow(),
                    error="interrupted" if cancelled else describe_error(error))
        except BedflowError:
            pass  # the database itself failed: the original error says why
        raise
    _update(found, run_id, status=RunStatus.succeeded, progress=1.0, stage="done", finished_at=utcnow(),
            message="succeeded")
    with found.db.session() as session:
        return session.get(Simulation, run_id)  # type: ignore[return-value]


def run(spec: BedSpec, engine: str | None = None, processes: int | None = None, folder: str | Path | None = None,
        progress: ProgressCallback | None = None, *, created_by: str = "",
        services: Services | None = None) -> RunResult:
    """Pack, mesh, solve and evaluate ``spec`` here, recorded in the database and the store.

    ``engine`` and ``processes`` override the spec's packing method and MPI ranks.
    Bad specs fail before anything is recorded. Packings and meshes recorded with
    the same digest are reused. The result carries its ``run_id``.
    """
    spec = with_engine(spec, engine)
    if processes is not None:
        spec = spec.updated({"cfd.processes": processes})
    found = services or open_services()
    run_id = create_run(spec, created_by=created_by, services=found)
    root = Path(folder) if folder else found.work_dir(run_id)
    execute(run_id, folder=root, progress=progress, services=found)
    result = RunResult.load(root / "case" / RESULTS_FILE)
    result.run_id = run_id
    return result
