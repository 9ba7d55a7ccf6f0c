"""A recorded mesh study: :func:`pipeline.workflow.mesh_study` with every resolution a recorded run, the three
grouped in one sweep over ``cfd.mesh_cells_per_diameter`` (``bedflow run --mesh-study``)."""

from __future__ import annotations

import functools
from pathlib import Path

from ..packing import with_engine
from ..progress import ProgressCallback
from ..spec import BedSpec
from ..workflow import MeshStudy, study_plan
from ..workflow import mesh_study as run_mesh_study
from .execute import run
from .services import Services, open_services
from .sweeps import new_sweep_row

PARAMETER = "cfd.mesh_cells_per_diameter"


def mesh_study(spec: BedSpec, resolutions: list[int] | None = None, folder: str | Path | None = None,
               engine: str | None = None, progress: ProgressCallback | None = None, *, created_by: str = "",
               services: Services | None = None) -> MeshStudy:
    """Run ``spec`` at three resolutions as recorded runs in one new sweep and extrapolate dp/dz (Richardson).
    The study's ``sweep_id`` and each result's ``run_id`` say where they are recorded."""
    spec = with_engine(spec, engine)
    chosen = study_plan(spec, resolutions)
    found = services or open_services()
    sweep_id = new_sweep_row(spec, PARAMETER, chosen, created_by=created_by, services=found,
                             description=f"mesh study: {', '.join(map(str, chosen))} cells per particle diameter")
    runner = functools.partial(run, created_by=created_by, sweep_id=sweep_id, services=found)
    return run_mesh_study(spec, chosen, folder, progress=progress, runner=runner, sweep_id=sweep_id)
