"""Workload limits of a deployment: how large a run may be, how long a stage may take, how many runs a user
may have waiting or running at once.

========================== ===================================================== ==============================
variable                   what it limits                                        default
========================== ===================================================== ==============================
BEDFLOW_MAX_PARTICLES      particles in a bed (``particles.count``, or the        100 000
                           count ``target_porosity`` implies)
BEDFLOW_MAX_CELLS          estimated cells of a run's mesh                        10 000 000
                           (:func:`pipeline.cfd.mesh_size.estimated_cells`)
BEDFLOW_MAX_PROCESSES      MPI ranks of a run (``cfd.processes``)                 this machine's CPUs
BEDFLOW_MAX_STAGE_SECONDS  wall-clock seconds of one stage (pack, mesh, solve,    86 400 (a day)
                           postprocess); a stage over it is stopped and the run
                           fails
BEDFLOW_MAX_SWEEP          runs in one sweep (values swept)                       100
BEDFLOW_MAX_RUNS_PER_USER  runs of one user queued or running at once (a sweep    100
                           counts all its runs)
========================== ===================================================== ==============================

The size limits are checked when a run is submitted (:func:`check_run`, :func:`check_sweep_size`,
:func:`check_user_runs`), before anything is recorded; a refusal is a :class:`LimitExceeded` naming the limit
and its value. The stage time is watched while the stage runs (:class:`pipeline.runs.RunGuard`). Independent
of these, a worker refuses an MPI stage with more ranks than it has CPUs (:mod:`pipeline.openfoam.runner`),
and the spec itself refuses a ``target_porosity`` implying more particles than ``particles.count`` may hold.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from .errors import BedflowError

if TYPE_CHECKING:
    from .spec import BedSpec

#: Run targets (``until``) that mesh, and so use ``cfd.processes`` and the mesh's cells.
MESHING_TARGETS = ("mesh", "solve")


def available_cpus() -> int:
    """The CPUs this process may run on (``os.sched_getaffinity``: a container's or ``taskset``'s share)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu or 1


class LimitExceeded(BedflowError):
    """A submission asks for more than this deployment's limits allow; lists every limit it exceeds."""

    def __init__(self, problems: list[str]) -> None:
        if not problems:
            raise ValueError("LimitExceeded needs at least one problem")
        self.problems = list(problems)
        if len(problems) == 1:
            super().__init__(f"refused: {problems[0]}")
        else:
            super().__init__("\n".join([f"refused ({len(problems)} limits):", *(f"  {p}" for p in problems)]))


class StageTimeLimit(BedflowError):
    """A stage ran longer than ``BEDFLOW_MAX_STAGE_SECONDS``: it was stopped and its run fails (not retried)."""

    def __init__(self, stage: str, seconds: float) -> None:
        self.stage, self.seconds = stage, seconds
        super().__init__(f"{stage} stopped after its time limit of {seconds:g} s (BEDFLOW_MAX_STAGE_SECONDS)")


@dataclass(frozen=True)
class Limits:
    """The workload limits in effect (see the module's table); every one positive and finite."""

    max_particles: int = 100_000
    max_cells: int = 10_000_000
    max_processes: int = field(default_factory=available_cpus)
    max_stage_seconds: float = 86_400.0
    max_sweep: int = 100
    max_runs_per_user: int = 100

    def __post_init__(self) -> None:
        wrong = [f"{VARIABLES[name]}={getattr(self, name)!r}: must be {_WANTED[kind]}" for name, kind in _KINDS.items()
                 if not _valid(getattr(self, name), kind)]
        if wrong:
            raise ValueError("; ".join(wrong))

    def describe(self) -> dict[str, str]:
        """Each limit by its variable, for display (``bedflow doctor``)."""
        return {VARIABLES[name]: f"{getattr(self, name):g}" if kind is float else str(getattr(self, name))
                for name, kind in _KINDS.items()}


#: The environment variable of each limit.
VARIABLES = {
    "max_particles": "BEDFLOW_MAX_PARTICLES",
    "max_cells": "BEDFLOW_MAX_CELLS",
    "max_processes": "BEDFLOW_MAX_PROCESSES",
    "max_stage_seconds": "BEDFLOW_MAX_STAGE_SECONDS",
    "max_sweep": "BEDFLOW_MAX_SWEEP",
    "max_runs_per_user": "BEDFLOW_MAX_RUNS_PER_USER",
}
_KINDS = {f.name: (float if f.name == "max_stage_seconds" else int) for f in fields(Limits)}
_WANTED = {int: "a whole number ≥ 1", float: "a number of seconds > 0"}


def _valid(value: object, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def read_limits(values: Mapping[str, str]) -> tuple[Limits, list[str]]:
    """The limits set in ``values`` (environment variables; defaults for those unset or empty), and what is wrong
    with those set to something else than a positive whole number (seconds: a positive number)."""
    chosen: dict[str, int | float] = {}
    problems: list[str] = []
    for name, variable in VARIABLES.items():
        raw = (values.get(variable) or "").strip()
        if not raw:
            continue
        try:
            value: int | float = int(raw) if _KINDS[name] is int else float(raw)
        except ValueError:
            value = math.nan
        if not _valid(value, _KINDS[name]):
            problems.append(f"{variable}={values[variable]!r}: must be {_WANTED[_KINDS[name]]}")
        else:
            chosen[name] = value
    return Limits(**chosen), problems  # type: ignore[arg-type]


def check_run(spec: "BedSpec", until: str, limits: Limits) -> None:
    """Raise :class:`LimitExceeded` if a run of ``spec`` up to ``until`` exceeds a limit: its particles, and for a
    run that meshes its MPI ranks and its mesh's estimated cells."""
    from .cfd.mesh_size import estimated_cells
    from .packing.shapes import particle_count

    problems: list[str] = []
    count = particle_count(spec)
    if count > limits.max_particles:
        source = "particles.count" if spec.particles.count is not None else \
            f"implied by particles.target_porosity {spec.particles.target_porosity:g}"
        problems.append(f"the bed has {count} particles ({source}); this deployment allows at most "
                        f"BEDFLOW_MAX_PARTICLES = {limits.max_particles}")
    if until in MESHING_TARGETS:
        processes = spec.cfd.processes
        if processes > limits.max_processes:
            problems.append(f"cfd.processes = {processes} MPI ranks; this deployment allows at most "
                            f"BEDFLOW_MAX_PROCESSES = {limits.max_processes} (a worker's CPUs)")
        if count <= limits.max_particles:  # an estimate over too many particles says nothing more
            cells = estimated_cells(spec)
            if cells > limits.max_cells:
                cfd = spec.cfd
                problems.append(
                    f"the mesh would have about {cells / 1e6:.3g} million cells (estimated from the bed at "
                    f"d/{cfd.mesh_cells_per_diameter}, surface_refinement {cfd.surface_refinement}, "
                    f"gap_refinement {cfd.gap_refinement}, boundary_layers {cfd.boundary_layers}); this deployment "
                    f"allows at most BEDFLOW_MAX_CELLS = {limits.max_cells}: lower "
                    "cfd.mesh_cells_per_diameter or the refinement, or mesh a smaller bed")
    if problems:
        raise LimitExceeded(problems)


def check_sweep_size(values: int, limits: Limits) -> None:
    """Raise :class:`LimitExceeded` if a sweep of ``values`` runs exceeds ``BEDFLOW_MAX_SWEEP``."""
    if values > limits.max_sweep:
        raise LimitExceeded([(f"a sweep of {values} values; this deployment allows at most "
                              f"BEDFLOW_MAX_SWEEP = {limits.max_sweep} runs in one sweep")])


def check_user_runs(user: str, active: int, adding: int, limits: Limits) -> None:
    """Raise :class:`LimitExceeded` if ``user``'s ``active`` runs (queued or running) and ``adding`` more exceed
    ``BEDFLOW_MAX_RUNS_PER_USER``. The empty user (no sign-in: the CLI, a server without sign-in) is one user."""
    if active + adding > limits.max_runs_per_user:
        who = f"{user} has" if user else "you have"
        more = f"{adding} more" if adding != 1 else "one more"
        raise LimitExceeded([(f"{who} {active} runs queued or running and asked for {more}; this deployment "
                              f"allows at most BEDFLOW_MAX_RUNS_PER_USER = {limits.max_runs_per_user} at once: "
                              "wait for some to finish, or cancel some")])
