"""Reading recorded runs: the one set of functions the CLI, dashboard and notebooks use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..db import Artifact, Bed, Mesh, RunStatus, Simulation, Sweep
from ..db import queries
from ..db import Packing as PackingRow
from ..folder import RunFolder
from ..openfoam import MeshQuality
from ..packing import PackingReport
from ..store import safe_join
from .execute import RunError, RunNotFound
from .services import Services, open_services

if TYPE_CHECKING:
    import pandas


@dataclass(frozen=True)
class RunRow:
    """The columns of a run that tables and pickers list (read without the spec or the results: cheap to read
    every second)."""

    id: int
    bed: str
    status: RunStatus
    stage: str
    progress: float
    re_p: float
    aspect_ratio: float
    resolution: int
    cells: int | None
    dp_dz: float | None
    ratio_ergun: float | None
    created_at: datetime | None
    created_by: str
    sweep_id: int | None


@dataclass(frozen=True)
class SweepInfo:
    """A sweep as pickers list it."""

    id: int
    name: str
    parameter: str


_ROW_COLUMNS = (Simulation.id, Simulation.bed_id, Simulation.status, Simulation.stage, Simulation.progress,
                Simulation.re_p, Simulation.aspect_ratio, Simulation.resolution, Simulation.cells, Simulation.dp_dz,
                Simulation.ratio_ergun, Simulation.created_at, Simulation.created_by, Simulation.sweep_id)
_SWEEPS = select(Sweep.id, Sweep.name, Sweep.parameter).order_by(Sweep.id.desc())


@dataclass(frozen=True)
class RunListing:
    """What a runs table shows and filters by, read in one database session: the runs, every bed's name
    (sorted) and every sweep (newest first)."""

    rows: list[RunRow]
    beds: list[str]
    sweeps: list[SweepInfo]


def _run_rows(session: Any, solved: bool, filters: dict[str, Any]) -> tuple[list[RunRow], dict[int, str]]:
    query = queries.runs_query(**filters).with_only_columns(*_ROW_COLUMNS)
    if solved:
        query = query.where(Simulation.results.is_not(None))
    rows = session.execute(query).all()
    beds = dict(session.execute(select(Bed.id, Bed.name)).all())
    return [RunRow(r.id, beds.get(r.bed_id, ""), r.status, r.stage or "", r.progress or 0.0, r.re_p,
                   r.aspect_ratio, r.resolution, r.cells, r.dp_dz, r.ratio_ergun, r.created_at, r.created_by or "",
                   r.sweep_id) for r in rows], beds


def run_rows(*, solved: bool = False, services: Services | None = None, **filters: Any) -> list[RunRow]:
    """:class:`RunRow` of the runs matching :func:`pipeline.db.queries.runs_query`'s filters, newest first
    (``solved``: only runs with results)."""
    found = services or open_services()
    with found.db.session() as session:
        return _run_rows(session, solved, filters)[0]


def run_listing(*, services: Services | None = None, **filters: Any) -> RunListing:
    """The runs matching :func:`pipeline.db.queries.runs_query`'s filters with the beds and sweeps to filter by
    (one session, three queries: what the dashboard's runs page reads on every poll)."""
    found = services or open_services()
    with found.db.session() as session:
        rows, beds = _run_rows(session, False, filters)
        sweeps = session.execute(_SWEEPS).all()
    return RunListing(rows, sorted(set(beds.values())), [SweepInfo(i, n, p) for i, n, p in sweeps])


def get_sweep(sweep_id: int, *, services: Services | None = None) -> SweepInfo | None:
    """A recorded sweep, or ``None``."""
    found = services or open_services()
    with found.db.session() as session:
        row = session.execute(_SWEEPS.where(Sweep.id == sweep_id)).first()
    return SweepInfo(*row) if row else None


def list_sweeps(*, services: Services | None = None) -> list[SweepInfo]:
    """The recorded sweeps, newest first."""
    found = services or open_services()
    with found.db.session() as session:
        rows = session.execute(_SWEEPS).all()
    return [SweepInfo(i, n, p) for i, n, p in rows]


def quality_of(mesh: Mesh) -> MeshQuality:
    """The :class:`~pipeline.openfoam.MeshQuality` a mesh row recorded."""
    return MeshQuality.from_dict({**(mesh.quality or {}), "cells": mesh.cells})


def packing_report_of(packing: PackingRow) -> PackingReport:
    """The :class:`~pipeline.packing.PackingReport` a packing row recorded."""
    return PackingReport.from_dict({"engine": packing.engine, "count": packing.count, "porosity": packing.porosity,
                                    **(packing.metrics or {}), "seconds": dict(packing.timings or {})})


def mesh_quality(run: Simulation, *, services: Services | None = None) -> MeshQuality | None:
    """The checkMesh quality of the run's mesh, or ``None`` before its mesh stage."""
    if run.mesh_id is None:
        return None
    found = services or open_services()
    with found.db.session() as session:
        mesh = session.get(Mesh, run.mesh_id)
        return quality_of(mesh) if mesh else None


def list_runs(*, services: Services | None = None, **filters: Any) -> list[Simulation]:
    """Runs matching the filters of :func:`pipeline.db.queries.runs_query` (bed, status, sweep, created_by,
    since, before, ranges, limit), newest first; each with its bed loaded."""
    found = services or open_services()
    with found.db.session() as session:
        return queries.find_runs(session, **filters)


def runs_frame(*, services: Services | None = None, **filters: Any) -> "pandas.DataFrame":
    """:func:`list_runs` as a pandas DataFrame indexed by run id (for notebooks)."""
    return queries.to_dataframe(list_runs(services=services, **filters))


def get_run(run_id: int, *, services: Services | None = None) -> Simulation:
    """One run (with its bed and sweep loaded); :class:`RunError` if there is none."""
    found = services or open_services()
    with found.db.session() as session:
        run = queries.get_run(session, run_id)
    if run is None:
        raise RunNotFound(f"no run {run_id} in {found.db!r}")
    return run


def run_artifacts(run_id: int, kind: str | None = None, *, services: Services | None = None) -> list[Artifact]:
    """A run's artifacts (its own and its bed's, packing's and mesh's), optionally of one kind."""
    found = services or open_services()
    get_run(run_id, services=found)
    with found.db.session() as session:
        return queries.run_artifacts(session, run_id, kind)


def get_artifact(artifact_id: int, *, services: Services | None = None) -> Artifact:
    """One artifact row by id (detached: read its columns freely); :class:`RunError` if there is none."""
    found = services or open_services()
    with found.db.session() as session:
        artifact = queries.find(session, Artifact, artifact_id)
        if artifact is None:
            raise RunError(f"no artifact {artifact_id}")
        session.expunge(artifact)
        return artifact


def fetch_artifacts(run_id: int, kind: str, destination: str | Path, *,
                    services: Services | None = None) -> list[Path]:
    """Download (and verify) a run's artifacts of ``kind`` into ``destination``; return the files.

    Each is named as its artifact row says, joined with :func:`~pipeline.store.safe_join`: a name that would
    lead outside ``destination`` (``..``, an absolute path, a link there leading elsewhere) raises
    :class:`~pipeline.store.UnsafePathError` before anything is written. Each file is written under a temporary
    name and renamed into place once verified."""
    found = services or open_services()
    artifacts = run_artifacts(run_id, kind, services=found)
    if not artifacts:
        kinds = sorted({a.kind for a in run_artifacts(run_id, services=found)})
        raise RunError(f"run {run_id} has no {kind!r} artifact; it has: {', '.join(kinds) or 'none'}")
    folder = Path(destination)
    folder.mkdir(parents=True, exist_ok=True)
    targets = [safe_join(folder, a.name) for a in artifacts]  # all checked before the first download
    return [found.store.get_file(a.key, target) for a, target in zip(artifacts, targets)]


def recorded_folder(run: Simulation, services: Services) -> RunFolder:
    """The folder the run's stages work or worked in (recorded on its row; its work folder before a stage has
    started), as it is: nothing fetched. A running run's live files (the solver's log) are there."""
    return RunFolder(Path(run.folder) if run.folder else services.work_dir(run.id))


def run_folder(run_id: int, *, services: Services | None = None) -> RunFolder:
    """The run's folder on this machine with everything its completed stages made (``packing/``, ``case/`` with
    results and VTK fields): the folder recorded on its row when it is here (what it holds is checked against the
    artifacts' checksums and kept), else its work folder; what is missing or differs is fetched from the store."""
    from ..progress import no_progress
    from ..spec import BedSpec
    from ..workflow import Carried
    from .stages import StageContext, materialize

    found = services or open_services()
    run = get_run(run_id, services=found)
    where = recorded_folder(run, found)
    if not where.root.is_dir():
        where = RunFolder(found.work_dir(run_id))
    where.root.mkdir(parents=True, exist_ok=True)
    return materialize(StageContext(run_id, Carried(BedSpec.from_dict(run.spec), where), found, no_progress))


def run_residuals(run: Simulation, *, services: Services | None = None) -> dict[str, list[tuple[int, float]]] | None:
    """The solver's initial residuals of a run, ``{field: [(iteration, residual), ...]}``: while it is not
    finished, from the solver's log in its folder when the worker is this machine, else from the history the solve
    writes to its row every few seconds; once it is finished, from its stored ``log.simpleFoam``. ``None`` if there
    is none (yet)."""
    from ..folder import SOLVER_LOG
    from ..openfoam.logs import residual_history

    found = services or open_services()
    if not run.status.finished:
        log = recorded_folder(run, found).solver_log
        if log.is_file():
            return residual_history(log)
        live = run.residuals or {}
        return {name: [(int(i), float(r)) for i, r in points] for name, points in live.items()} or None
    stored = [a for a in run_artifacts(run.id, "log", services=found) if a.name == SOLVER_LOG]
    if not stored:
        return None
    return residual_history(found.store.get_bytes(stored[0].key).decode("utf-8", errors="replace"))


def missing_artifacts(*, services: Services | None = None) -> list[Artifact]:
    """Artifact rows whose object is not in the store (there should be none)."""
    from sqlalchemy import select

    found = services or open_services()
    with found.db.session() as session:
        rows = list(session.scalars(select(Artifact)))
    return [row for row in rows if found.store.stat(row.key) is None]
