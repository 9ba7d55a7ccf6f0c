"""Recorded runs: simulations in the database, their artifacts in the store, executed stage by stage.

``run(spec)`` records and executes a run in this process; ``create_run`` +
``execute``/``run_stage`` are what job workers call; ``list_runs``,
``runs_frame``, ``get_run``, ``run_artifacts``, ``fetch_artifacts`` and ``run_folder`` read
them back for the CLI, the dashboard and notebooks.
"""

from .catalog import (RunListing, RunRow, SweepInfo, fetch_artifacts, get_artifact, get_run, get_sweep, list_runs,
                      list_sweeps, mesh_quality, missing_artifacts, recorded_folder, run_artifacts, run_folder,
                      run_listing, run_residuals, run_rows, runs_frame)
from .execute import (RunCancelled, RunError, RunGuard, RunNotFound, cancel, claim, create_run, execute, finish,
                      outcome, pending_stages, release, run, run_stage, worker_id)
from .mesh_study import mesh_study
from .services import Services, open_services
from .sweeps import SweepRuns, create_sweep, sweep_name
from .stages import STAGES, TARGETS, StageError

__all__ = ["RunCancelled", "RunError", "RunGuard", "RunNotFound", "RunListing", "RunRow", "STAGES", "Services",
           "StageError", "SweepInfo", "SweepRuns", "TARGETS", "cancel", "claim", "create_run", "create_sweep",
           "execute",
           "fetch_artifacts", "finish", "get_artifact", "get_run", "get_sweep", "list_runs", "list_sweeps",
           "mesh_quality", "mesh_study", "missing_artifacts", "open_services", "outcome", "pending_stages",
           "recorded_folder", "release", "run", "run_artifacts", "run_folder", "run_listing", "run_residuals",
           "run_rows", "run_stage", "runs_frame", "sweep_name", "worker_id"]
