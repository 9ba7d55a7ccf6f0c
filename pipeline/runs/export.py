"""Recorded runs as one table to take elsewhere (a spreadsheet, pandas, R): one row per run with every input of its
spec and its results, SI units in the column names; written as CSV or Parquet.

The Runs page of the dashboard and ``bedflow runs --format csv|parquet`` export through :func:`export_runs`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import param

from ..errors import BedflowError
from ..spec import BedSpec
from ..spec.fields import Quantity, unit_of
from .services import Services

if TYPE_CHECKING:
    import pandas

    from ..db import Simulation

#: The export formats, by name.
FORMATS = ("csv", "parquet")
#: Results of a run's row and their SI units (``-``: dimensionless; ``None``: a count, a flag or a word).
RESULT_COLUMNS: dict[str, str | None] = {
    "particle_count": None, "aspect_ratio": "-", "particle_diameter": "m", "superficial_velocity": "m/s",
    "re_p": "-", "cells": None, "porosity": "-", "dp": "Pa", "dp_dz": "Pa/m", "dp_dz_uncertainty": "Pa/m",
    "ratio_ergun": "-", "ratio_eisfeld_schnitzlein": "-", "iterations": None, "converged": None,
}
#: More numbers from a run's full result (:class:`~pipeline.results.RunResult`) and their units.
RESULT_EXTRAS: dict[str, str | None] = {
    "porosity_mesh": "-", "window_diameters": "d", "dp_dz_r_squared": "-", "friction_factor": "-",
    "wall_share": "-", "near_wall_flow_share": "-",
}


class ExportError(BedflowError):
    """Runs cannot be exported in the format asked for."""


def column(name: str, unit: str | None) -> str:
    """A column's name with its unit: ``dp_dz [Pa/m]``, ``re_p [-]``, ``status``."""
    return f"{name} [{unit}]" if unit else name


def _spec_unit(path: str) -> str | None:
    """A spec field's unit in a column name: its SI unit, ``-`` for a dimensionless number, none for a count,
    a choice, a flag or a text."""
    parameter = BedSpec.parameter(path)
    if isinstance(parameter, Quantity):
        return unit_of(parameter)
    return "-" if isinstance(parameter, param.Number) and not isinstance(parameter, param.Integer) else None


def _number(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def export_row(run: "Simulation") -> dict[str, Any]:
    """One run as an export row (see the module's documentation)."""
    from ..results.extract import RunResult

    row: dict[str, Any] = {
        "id": run.id, "bed": run.bed.name if run.bed is not None else None, "status": run.status.value,
        "sweep_id": run.sweep_id, "created_by": run.created_by,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
    spec = run.spec or {}
    for path in BedSpec.field_paths():
        section, _, field = path.partition(".")
        value = (spec.get(section) or {}).get(field)
        row[column(f"spec.{path}", _spec_unit(path))] = ", ".join(map(str, value)) if isinstance(value, list) \
            else value
    for name, unit in RESULT_COLUMNS.items():
        row[column(name, unit)] = getattr(run, name)
    result = RunResult.from_dict(run.results) if run.results else None
    for name, unit in RESULT_EXTRAS.items():
        row[column(name, unit)] = _number(getattr(result, name)) if result else None
    if result is not None:
        for key, ratio in result.as_meshed.ratios.items():
            row.setdefault(column(f"ratio_{key}", "-"), ratio)
    return row


def export_frame(runs: Iterable["Simulation"]) -> "pandas.DataFrame":
    """Runs as export rows in a DataFrame indexed by run id (columns in a fixed order; a correlation only some
    runs were compared with is empty for the others)."""
    import pandas

    rows = [export_row(run) for run in runs]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    frame = pandas.DataFrame(rows, columns=list(columns) or ["id"])
    return frame.set_index("id")


def export_bytes(frame: "pandas.DataFrame", fmt: str) -> bytes:
    """``frame`` as a CSV (UTF-8) or Parquet file's bytes."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "csv":
        return frame.to_csv().encode("utf-8")
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def export_runs(target: str | Path | None = None, fmt: str | None = None, *, services: Services | None = None,
                **filters: Any) -> bytes:
    """The runs matching :func:`pipeline.runs.list_runs`'s ``filters`` as CSV or Parquet (``fmt``, default from
    ``target``'s suffix, else CSV); written to ``target`` when given. Returns the file's bytes."""
    from .catalog import list_runs

    if fmt is None:
        suffix = Path(target).suffix.lstrip(".").lower() if target else ""
        fmt = suffix if suffix in FORMATS else "csv"
    data = export_bytes(export_frame(list_runs(services=services, **filters)), fmt)
    if target is not None:
        Path(target).write_bytes(data)
    return data
