"""Sweeps: one recorded run of a spec per value of one of its fields, grouped in a ``sweep`` row.

:func:`create_sweep` checks every value and every run against the deployment's limits, then records the sweep and
its queued runs, each with its own variant of the spec (the sweep's bed keeps the spec the sweep varies). Who runs
them is the caller's choice: :func:`pipeline.jobs.submit_sweep` queues them for the workers, a notebook executes
them inline (:func:`pipeline.runs.execute`), the mesh study runs its resolutions one after the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..db.records import new_sweep, upsert_bed
from ..limits import check_run, check_sweep_size, check_user_runs
from ..spec import BedSpec
from ..spec.bedspec import suggest
from ..spec.fields import LINE_LENGTH
from ..text import check_text
from .execute import RunError, active_runs, create_run
from .services import Services, open_services


@dataclass(frozen=True)
class SweepRuns:
    """A recorded sweep: its id and the ids of its runs, in the order of its values."""

    id: int
    run_ids: tuple[int, ...]

    def _repr_html_(self) -> str:
        from ..results.presentation import html_table

        return html_table(f"Sweep {self.id}", [("Runs", ", ".join(map(str, self.run_ids)))])


def sweep_name(spec: BedSpec, parameter: str, name: str | None = None) -> str:
    """A sweep's name: ``name`` checked like a bed's (one line of at most 200 printable characters), or by
    default ``"<bed name>: <parameter>"`` with the bed's name cut to fit; :class:`RunError` for a bad name."""
    if name is not None and name.strip():
        try:
            return check_text(name.strip(), max_length=LINE_LENGTH)
        except ValueError as error:
            raise RunError(f"sweep name: {error}") from None
    suffix = f": {parameter}"
    return spec.name[: LINE_LENGTH - len(suffix)] + suffix


def new_sweep_row(spec: BedSpec, parameter: str, values: Sequence[Any], *, name: str | None = None,
                  description: str = "", created_by: str = "", services: Services | None = None) -> int:
    """Record the ``sweep`` row alone (its runs are recorded one by one by the caller, e.g. a mesh study); its id."""
    found = services or open_services()
    with found.db.session() as session:
        bed = upsert_bed(session, spec, created_by)
        return new_sweep(session, sweep_name(spec, parameter, name), parameter, list(values), bed_id=bed.id,
                         description=description, created_by=created_by)


def create_sweep(spec: BedSpec, parameter: str, values: Sequence[Any], *, name: str | None = None,
                 until: str = "solve", created_by: str = "", services: Services | None = None) -> SweepRuns:
    """Record a sweep of ``parameter`` (a dotted spec path such as ``cfd.particle_reynolds``) over ``values`` and
    one queued run per value. Every value is validated, and every run checked against the deployment's limits
    (the sweep's size, each run's, and all its runs against the user's runs at once), before anything is
    recorded."""
    if not values:
        raise RunError("a sweep needs at least one value")
    if parameter not in spec.field_paths():
        raise RunError(f"cannot sweep {parameter!r}: not a spec field{suggest(parameter, spec.field_paths())}")
    found = services or open_services()
    title = sweep_name(spec, parameter, name)
    limits = found.settings.limits
    check_sweep_size(len(values), limits)
    variants = [spec.updated({parameter: value}).validate() for value in values]
    for variant in variants:
        check_run(variant, until, limits)
    with found.db.session() as session:
        check_user_runs(created_by, active_runs(session, created_by), len(variants), limits)
    sweep_id = new_sweep_row(spec, parameter, values, name=title, created_by=created_by, services=found)
    return SweepRuns(sweep_id, tuple(create_run(variant, until=until, created_by=created_by, sweep_id=sweep_id,
                                                services=found) for variant in variants))
