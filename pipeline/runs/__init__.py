"""Recorded runs: simulations in the database, their artifacts in the store, executed stage by stage.

``run(spec)`` records and executes a run in this process; ``create_run`` +
``execute``/``run_stage`` are what job workers call; ``list_runs``,
``runs_frame``, ``get_run``, ``run_artifacts`` and ``fetch_artifacts`` read
them back for the CLI, the dashboard and notebooks.
"""

from .catalog import (fetch_artifacts, get_artifact, get_run, list_runs, local_run_folder, missing_artifacts,
                      run_artifacts, runs_frame)
from .execute import (RunCancelled, RunError, RunGuard, cancel, claim, create_run, execute, finish, outcome,
                      pending_stages, release, run, run_stage, worker_id)
from .services import Services, open_services
from .stages import STAGES, TARGETS, StageError

__all__ = ["STAGES", "RunCancelled", "RunError", "RunGuard", "Services", "StageError", "TARGETS", "cancel", "claim",
           "create_run", "execute", "fetch_artifacts", "finish", "get_artifact", "get_run", "list_runs", "local_run_folder", "missing_artifacts",
           "open_services", "outcome", "pending_stages", "release", "run", "run_artifacts", "run_stage", "runs_frame",
           "worker_id"]
