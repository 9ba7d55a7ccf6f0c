"""Reading runs back: the filters the dashboard and notebooks use, and ``to_dataframe`` for analysis."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, joinedload

from .models import Artifact, Bed, RunStatus, Simulation, id_in_range

if TYPE_CHECKING:
    import pandas

T = TypeVar("T")

# Simulation columns that take a (low, high) range filter.
RANGE_COLUMNS = ("superficial_velocity", "re_p", "aspect_ratio", "particle_diameter", "column_diameter",
                 "particle_count", "resolution", "dp", "dp_dz", "porosity", "cells", "iterations", "ratio_ergun",
                 "ratio_eisfeld_schnitzlein")


def runs_query(*, bed: str | None = None, status: str | RunStatus | Sequence[str | RunStatus] | None = None,
               sweep: int | None = None, created_by: str | None = None, since: datetime | None = None,
               before: datetime | None = None, ranges: Mapping[str, tuple[float | None, float | None]] | None = None,
               newest_first: bool = True, limit: int | None = None, offset: int | None = None,
               ids: Sequence[int] | None = None) -> Select[tuple[Simulation]]:
    """A query of simulations (with their bed loaded), filtered by bed name, status, sweep, owner, creation
    time, ``ranges`` of numeric columns (``{"re_p": (1, 10)}``; ``None`` leaves a side open) and run ``ids``;
    ``limit`` and ``offset`` page through them."""
    query = select(Simulation).options(joinedload(Simulation.bed))
    if ids is not None:
        query = query.where(Simulation.id.in_(list(ids)))
    if bed is not None:
        query = query.join(Simulation.bed).where(Bed.name == bed)
    if status is not None:
        wanted = [status] if isinstance(status, (str, RunStatus)) else list(status)
        query = query.where(Simulation.status.in_([RunStatus(s) for s in wanted]))
    if sweep is not None:
        query = query.where(Simulation.sweep_id == sweep)
    if created_by is not None:
        query = query.where(Simulation.created_by == created_by)
    if since is not None:
        query = query.where(Simulation.created_at >= since)
    if before is not None:
        query = query.where(Simulation.created_at < before)
    for name, (low, high) in (ranges or {}).items():
        if name not in RANGE_COLUMNS:
            raise ValueError(f"cannot filter runs on {name!r}; range filters: {', '.join(RANGE_COLUMNS)}")
        column = getattr(Simulation, name)
        if low is not None:
            query = query.where(column >= low)
        if high is not None:
            query = query.where(column <= high)
    order = Simulation.id.desc() if newest_first else Simulation.id.asc()
    query = query.order_by(order)
    if offset:
        query = query.offset(offset)
    return query.limit(limit) if limit is not None else query


def find_runs(session: Session, **filters: Any) -> list[Simulation]:
    """Simulations matching :func:`runs_query`'s filters, newest first."""
    return list(session.scalars(runs_query(**filters)).unique())


def find(session: Session, model: type[T], row_id: int) -> T | None:
    """``session.get(model, row_id)``, and ``None`` for an id no row can have (ids from users: the CLI, URLs)."""
    return session.get(model, row_id) if id_in_range(row_id) else None


def get_run(session: Session, run_id: int) -> Simulation | None:
    if not id_in_range(run_id):
        return None
    return session.scalars(select(Simulation).options(joinedload(Simulation.bed), joinedload(Simulation.sweep))
                           .where(Simulation.id == run_id)).first()


def run_artifacts(session: Session, run_id: int, kind: str | None = None) -> list[Artifact]:
    """The artifacts of a run: its own and those of its bed, packing and mesh."""
    run = find(session, Simulation, run_id)
    if run is None:
        return []
    owners = [Artifact.simulation_id == run.id, Artifact.bed_id == run.bed_id]
    if run.packing_id is not None:
        owners.append(Artifact.packing_id == run.packing_id)
    if run.mesh_id is not None:
        owners.append(Artifact.mesh_id == run.mesh_id)
    query = select(Artifact).where(or_(*owners))
    if kind is not None:
        query = query.where(Artifact.kind == kind)
    return list(session.scalars(query.order_by(Artifact.kind, Artifact.name)))


# The columns of `to_dataframe`, in order ("bed" is the bed's name, "status" its string value).
RUN_COLUMNS = ("id", "bed", "status", "stage", "progress", "sweep_id", "engine", "regime", "particle_count",
               "aspect_ratio", "particle_diameter", "superficial_velocity", "re_p", "resolution", "cells", "porosity",
               "dp", "dp_dz", "dp_dz_uncertainty", "ratio_ergun", "ratio_eisfeld_schnitzlein", "iterations", "converged", "attempts",
               "error", "created_by", "created_at", "started_at", "finished_at")


def run_row(run: Simulation) -> dict[str, Any]:
    """One run as a flat dict of plain values (the columns of :func:`to_dataframe`)."""
    row = {name: getattr(run, name) for name in RUN_COLUMNS if name not in ("bed", "status")}
    row["bed"] = run.bed.name if run.bed is not None else None
    row["status"] = run.status.value
    return {name: row[name] for name in RUN_COLUMNS}


def to_dataframe(runs: Iterable[Simulation]) -> "pandas.DataFrame":
    """Runs as a pandas DataFrame indexed by run id (one row per run, the columns :data:`RUN_COLUMNS`)."""
    import pandas

    return pandas.DataFrame([run_row(run) for run in runs], columns=list(RUN_COLUMNS)).set_index("id")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def run_document(run: Simulation, *, full: bool = True) -> dict[str, Any]:
    """One run as JSON-ready values: :func:`run_row` (times as ISO 8601 text) and its last completed stage and,
    when ``full``, its spec, results, provenance, timings, message, last stage wanted and last heartbeat (what
    ``GET /api/v1/runs/{id}`` answers; the list of ``GET /api/v1/runs`` and ``bedflow runs --json`` hold the
    short form)."""
    document = {name: _plain(value) for name, value in run_row(run).items()}
    document["completed_stage"] = run.completed_stage
    if full:
        document.update({"spec": run.spec, "results": run.results, "provenance": run.provenance,
                         "timings": run.timings, "message": run.message, "until": run.until, "job": run.job,
                         "heartbeat_at": _plain(run.heartbeat_at)})
    return document


def from_documents(documents: Iterable[Mapping[str, Any]]) -> "pandas.DataFrame":
    """Run documents (:func:`run_document`, from the JSON API) as the DataFrame :func:`to_dataframe` makes."""
    import pandas

    frame = pandas.DataFrame([{name: doc.get(name) for name in RUN_COLUMNS} for doc in documents],
                             columns=list(RUN_COLUMNS)).set_index("id")
    for name in ("created_at", "started_at", "finished_at"):
        frame[name] = pandas.to_datetime(frame[name], utc=True, format="ISO8601")
    return frame
