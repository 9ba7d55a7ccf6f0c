"""Reading recorded runs: the one set of functions the CLI, dashboard and notebooks use."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..db import Artifact, Simulation
from ..db import queries
from ..store import safe_join
from .execute import RunError
from .services import Services, open_services

if TYPE_CHECKING:
    import pandas


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
        raise RunError(f"no run {run_id} in {found.db!r}")
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


def local_run_folder(run_id: int, *, services: Services | None = None) -> Path:
    """A folder on this machine with the run's files (``packing/``, ``case/`` with results and VTK fields),
    fetched from the store when missing: its work folder."""
    from ..progress import no_progress
    from ..spec import BedSpec
    from .stages import StageContext, materialize

    found = services or open_services()
    run = get_run(run_id, services=found)
    folder = found.work_dir(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    return materialize(StageContext(run_id, BedSpec.from_dict(run.spec), folder, found, no_progress))


def missing_artifacts(*, services: Services | None = None) -> list[Artifact]:
    """Artifact rows whose object is not in the store (there should be none)."""
    from sqlalchemy import select

    found = services or open_services()
    with found.db.session() as session:
        rows = list(session.scalars(select(Artifact)))
    return [row for row in rows if found.store.stat(row.key) is None]
