"""bedflow's library: specification, packing, meshing, CFD, results, storage and jobs.

Every front end (CLI, Huey tasks, Panel dashboard, notebooks) calls the
functions re-exported here; none holds science of its own.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .dsl import format_bed, parse_bed, read_bed
from .errors import BedflowError, BedSyntaxError, BedValidationError, Problem
from .packing import Packing, PackingError, pack
from .progress import ProgressCallback
from .results import RunResult
from .settings import Settings
from .spec import BedSpec

if TYPE_CHECKING:
    import pandas

    from .client import Client
    from .runs import SweepRuns
    from .verification import VerificationReport

def _installed_version() -> str:
    """bedflow's version, from its package metadata (pyproject.toml's ``version``, the one place it is set)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bedflow")
    except PackageNotFoundError:  # the source tree used without being installed
        return "0+unknown"


__version__ = _installed_version()


def run(spec: BedSpec, engine: str | None = None, processes: int | None = None, folder: str | Path | None = None,
        progress: ProgressCallback | None = None, created_by: str = "", sweep_id: int | None = None) -> RunResult:
    """Pack, mesh, solve and evaluate ``spec``, recorded in the run database and the artifact store; see
    :func:`pipeline.runs.run` (imported on first use, so ``import pipeline`` stays light)."""
    from .runs import run as _run

    return _run(spec, engine=engine, processes=processes, folder=folder, progress=progress, created_by=created_by,
                sweep_id=sweep_id)


# -- the queue's verbs: local, or a deployed bedflow's when BEDFLOW_URL (and BEDFLOW_TOKEN) are set ------------
# Each sends its work to `pipeline.client.remote()` when the variables name a deployment, so a notebook written
# against this machine runs unchanged against a lab's server (the token's user owns what it submits).


def submit(spec: BedSpec, until: str = "solve", created_by: str = "") -> int:
    """Queue a run of ``spec`` for the workers and return its id; see :func:`pipeline.jobs.submit` (remote:
    :meth:`pipeline.client.Client.submit`, owned by the token's user)."""
    if (client := _remote()) is not None:
        return client.submit(spec, until=until)
    from .jobs import submit as _submit

    return _submit(spec, until=until, created_by=created_by)


def submit_sweep(spec: BedSpec, parameter: str, values: list, until: str = "solve",
                 created_by: str = "") -> "SweepRuns":
    """Queue one run per value of ``parameter``; return the sweep's id and run ids. See
    :func:`pipeline.jobs.submit_sweep`."""
    if (client := _remote()) is not None:
        return client.submit_sweep(spec, parameter, values, until=until)
    from .jobs import submit_sweep as _submit_sweep

    return _submit_sweep(spec, parameter, values, until=until, created_by=created_by)


def status(run_id: int) -> dict:
    """A run's ``{"id", "status", "progress", "stage", "attempts", "error", "message"}``; see
    :func:`pipeline.jobs.status`."""
    if (client := _remote()) is not None:
        return client.status(run_id)
    from .jobs import status as _status

    return _status(run_id)


def watch(run_id: int, *, timeout: float | None = None, show: bool = True) -> dict:
    """Follow a run until it is finished, with a progress bar (tqdm: a widget in Jupyter, text elsewhere) unless
    ``show`` is off; its last status. See :func:`pipeline.jobs.watch`."""
    from tqdm.auto import tqdm

    client = _remote()
    if client is not None:
        updates = client.follow(run_id, timeout=timeout)
    else:
        from .jobs import watch as _watch

        updates = _watch(run_id, timeout=timeout)
    final: dict = {}
    with tqdm(total=100, desc=f"run {run_id}", disable=not show,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}") as bar:
        for final in updates:
            bar.n = round(100 * (final.get("progress") or 0.0), 1)
            bar.set_description_str(f"run {run_id} {final['status']} {final.get('stage') or ''}".strip())
    return final


def cancel(run_id: int) -> dict:
    """Cancel a queued or running run; see :func:`pipeline.jobs.cancel`."""
    if (client := _remote()) is not None:
        return client.cancel(run_id)
    from .jobs import cancel as _cancel

    return _cancel(run_id)


def runs_frame(**filters: Any) -> "pandas.DataFrame":
    """The recorded runs as a pandas DataFrame, one row per run indexed by run id, newest first: the way to get
    runs into pandas. ``filters`` as ``bedflow runs``: ``status``, ``bed``, ``sweep``, ``created_by``, ``since``,
    ``before``, ``limit``, ... (:func:`pipeline.db.queries.runs_query`); see :func:`pipeline.runs.runs_frame`."""
    if (client := _remote()) is not None:
        return client.runs_frame(**filters)
    from .runs import runs_frame as _runs_frame

    return _runs_frame(**filters)


def fetch(run_id: int, kind: str, destination: str | Path) -> list[Path]:
    """Download a run's files of ``kind`` (``stl``, ``vtk``, ``case``, ...) into ``destination``, verified; see
    :func:`pipeline.runs.fetch_artifacts`."""
    if (client := _remote()) is not None:
        return client.fetch(run_id, kind, destination)
    from .runs import fetch_artifacts

    return fetch_artifacts(run_id, kind, destination)


def report(target: int, sweep: bool = False, fmt: str = "html", out: str | Path | None = None,
           interactive: bool = False) -> Path:
    """Write (and record) a self-contained HTML or PDF report of a run or a sweep; see
    :func:`pipeline.reporting.report` (remote: a run's HTML report, made on the server)."""
    if (client := _remote()) is not None:
        if sweep or fmt != "html" or interactive:
            raise BedflowError("a remote bedflow serves a run's HTML report only (not sweeps, PDF or interactive)")
        return client.report(target, out)
    from .reporting import report as _report

    return _report(target, sweep=sweep, fmt=fmt, out=Path(out) if out else None, interactive=interactive)


def connect(url: str | None = None, token: str | None = None) -> "Client":
    """A client of a deployed bedflow (default ``BEDFLOW_URL`` and ``BEDFLOW_TOKEN``); see
    :class:`pipeline.client.Client`."""
    from .client import connect as _connect

    return _connect(url, token)


def _remote() -> "Client | None":
    from .client import remote

    return remote()


def verify(cases: list[str] | None = None, parameters: dict[str, list[float]] | None = None,
           resolutions: tuple[int, ...] = (8, 12, 16), processes: int = 1,
           progress: ProgressCallback | None = None) -> "VerificationReport":
    """Mesh and solve cases with exact answers with the bed's own code; see :func:`pipeline.verification.verify`."""
    from .verification import CASES
    from .verification import verify as _verify

    return _verify(cases or list(CASES), parameters, resolutions, processes=processes, progress=progress)


__all__ = [
    "BedSpec",
    "BedflowError",
    "BedSyntaxError",
    "BedValidationError",
    "Packing",
    "PackingError",
    "Problem",
    "RunResult",
    "Settings",
    "cancel",
    "connect",
    "fetch",
    "format_bed",
    "pack",
    "run",
    "runs_frame",
    "parse_bed",
    "read_bed",
    "report",
    "status",
    "submit",
    "submit_sweep",
    "verify",
    "watch",
    "__version__",
]
