"""How results are shown: labelled quantities with units, in one order with one set of labels and digits, for the
CLI, the dashboard and the report alike (each only lays these out its own way: text lines, a DataFrame, HTML).

* :func:`packing_rows` — a :class:`~pipeline.packing.PackingReport`;
* :func:`mesh_rows` — a :class:`~pipeline.openfoam.MeshQuality`;
* :func:`result_rows` — a :class:`~pipeline.results.RunResult`'s headline numbers;
* :func:`correlation_rows` — the CFD against each correlation, as meshed and nominal.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..correlations import PRESSURE_DROP_NAMES
from .radial import NEAR_WALL

if TYPE_CHECKING:
    from ..openfoam import MeshQuality
    from ..packing import PackingReport
    from .extract import RunResult

#: Shown where a value is missing or not a number.
MISSING = "–"


def format_value(value: Any, digits: int = 4) -> str:
    """A value as text: ``–`` for missing/NaN, ``yes``/``no``, integers with thousands separators, floats to
    ``digits`` significant digits, a pair as ``low – high``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, tuple):
        return " – ".join(format_value(v, digits) for v in value)
    return str(value)


@dataclass(frozen=True)
class ValueRow:
    """One labelled value as people read it: ``key`` names it for scripts (the report's ``data-key``),
    ``value`` is the number in ``unit`` (percentages are shown ×100 with unit ``%``)."""

    key: str
    label: str
    value: Any
    unit: str = ""
    digits: int = 4

    @property
    def text(self) -> str:
        """The value with its unit (``–`` alone when missing)."""
        shown = format_value(self.value, self.digits)
        return shown if shown == MISSING or not self.unit else f"{shown} {self.unit}"


def html_table(title: str, rows: Iterable[ValueRow | tuple[str, str]]) -> str:
    """A small HTML table (a title, then label/value rows; every text escaped): how bedflow's objects show
    themselves in Jupyter (``_repr_html_``)."""
    cells = "".join(
        f'<tr><th style="text-align:left;padding-right:1em">{html.escape(label)}</th>'
        f'<td style="text-align:left">{html.escape(text)}</td></tr>'
        for label, text in ((row.label, row.text) if isinstance(row, ValueRow) else row for row in rows))
    return f'<table><caption style="text-align:left"><b>{html.escape(title)}</b></caption>{cells}</table>'


def _millimetres(length: float | None) -> float | None:
    """A length (m) in mm, as bedflow shows lengths (the `.bed` text, the form): ``None`` stays."""
    return None if length is None else 1e3 * length


def _percent(share: float) -> float:
    return 100.0 * share if math.isfinite(share) else math.nan


def packing_rows(report: "PackingReport") -> list[ValueRow]:
    """What a packing is: particles, aspect ratio, porosities, overlaps and gaps, how the packer stopped."""
    return [
        ValueRow("engine", "Engine", report.engine),
        ValueRow("count", "Particles", report.count),
        ValueRow("aspect_ratio", "Aspect ratio D/d", report.aspect_ratio),
        ValueRow("bed_height", "Bed height", _millimetres(report.bed_height), "mm"),
        ValueRow("porosity", "Porosity ε (bed)", report.porosity),
        ValueRow("porosity_meshed", "Porosity as meshed (after the contact treatment)", report.porosity_meshed),
        ValueRow("porosity_core", "Porosity of the core", report.porosity_core),
        ValueRow("porosity_correlation", "Porosity from correlation (Benyahia & O'Neill 2005)",
                 report.porosity_correlation),
        ValueRow("overlaps", "Overlaps beyond 1e-6 d", report.overlaps),
        ValueRow("overlaps_beyond_gap", "Overlaps deeper than the contact gap", report.overlaps_beyond_gap),
        ValueRow("max_overlap", "Largest overlap", _millimetres(report.max_overlap), "mm", 3),
        ValueRow("min_gap", "Smallest gap", _millimetres(report.min_gap), "mm", 3),
        ValueRow("coordination_number", "Coordination number", report.coordination_number, digits=3),
        ValueRow("settled", "Settled", report.settled),
        ValueRow("stop_reason", "Stop reason", report.stop_reason),
        ValueRow("simulated_time", "Simulated time", report.simulated_time, "s", 3),
    ]


def mesh_rows(quality: "MeshQuality", resolution: int | None = None) -> list[ValueRow]:
    """What a mesh is: size, checkMesh's worst values and verdict, resolution and the time meshing took."""
    rows = [
        ValueRow("cells", "Cells", quality.cells),
        ValueRow("points", "Points", quality.points),
        ValueRow("faces", "Faces", quality.faces),
        ValueRow("max_non_orthogonality", "Max. non-orthogonality", quality.max_non_orthogonality, "°", 3),
        ValueRow("max_skewness", "Max. skewness", quality.max_skewness, digits=3),
        ValueRow("failed_checks", "Failed checks (checkMesh)", quality.failed_checks),
        ValueRow("ok", "checkMesh verdict", "passed" if quality.ok else "failed"),
    ]
    if resolution is not None:
        rows.append(ValueRow("resolution", "Resolution", resolution, "cells per particle diameter"))
    rows.append(ValueRow("seconds", "Meshing time", quality.seconds, "s", 3))
    rows += [ValueRow(f"phase_seconds.{name}", f"snappyHexMesh {name}", seconds, "s", 3)
             for name, seconds in quality.phase_seconds.items()]
    return rows


def result_rows(result: "RunResult") -> list[ValueRow]:
    """The headline numbers of a solved bed (SI; gradients positive for a drop)."""
    low, high = result.window
    return [
        ValueRow("dp_dz", "Δp/L, core-window fit", result.dp_dz, "Pa/m", 5),
        ValueRow("dp_dz_uncertainty", "Uncertainty of Δp/L (95 % of the fit)", result.dp_dz_uncertainty, "Pa/m", 2),
        ValueRow("dp_dz_r_squared", "R² of the fit", result.dp_dz_r_squared),
        ValueRow("window", "Core window z", (low * 1e3, high * 1e3), "mm", 3),
        ValueRow("window_diameters", "Core window length", result.window_diameters, "d", 3),
        ValueRow("dp_inlet_outlet", "Δp inlet → outlet", result.dp_inlet_outlet, "Pa", 5),
        ValueRow("re_p", "Reₚ", result.re_p),
        ValueRow("superficial_velocity", "Superficial velocity", result.superficial_velocity, "m/s"),
        ValueRow("porosity_core", "Porosity of the core, solved geometry", result.porosity_core),
        ValueRow("porosity_mesh", "Porosity of the mesh (cell volumes)", result.porosity_mesh),
        ValueRow("particle_diameter", "Particle diameter as meshed",
                 result.as_meshed.geometry.particle_diameter * 1e3, "mm"),
        ValueRow("friction_factor", "Friction factor f (as meshed)", result.friction_factor),
        ValueRow("wall_share", "Wall's share of the drag", _percent(result.wall_share), "%", 3),
        ValueRow("wall_share_reichelt", "Wall's share of the wetted surface (Reichelt)",
                 _percent(result.wall_share_reichelt), "%", 3),
        ValueRow("near_wall_flow_share", f"Flow within {NEAR_WALL:g} d of the wall",
                 _percent(result.near_wall_flow_share), "%", 3),
        ValueRow("near_wall_area_share", f"Cross-section within {NEAR_WALL:g} d of the wall",
                 _percent(result.near_wall_area_share), "%", 3),
        ValueRow("cells", "Cells", result.cells),
        ValueRow("iterations", "Iterations", result.iterations),
        ValueRow("converged", "Converged", result.converged),
    ]


@dataclass(frozen=True)
class CorrelationRow:
    """One correlation against the CFD: its Δp/L (Pa/m) and CFD / correlation, for the geometry as meshed and
    the nominal one (NaN where the result has no such value)."""

    key: str
    label: str
    meshed: float
    ratio_meshed: float
    nominal: float
    ratio_nominal: float


def label(key: str) -> str:
    """The name people read for a correlation key (``eisfeld_schnitzlein`` → ``Eisfeld–Schnitzlein``)."""
    return PRESSURE_DROP_NAMES.get(key, key)


def correlation_rows(result: "RunResult") -> list[CorrelationRow]:
    """The correlations a result was compared with, in the order of
    :data:`~pipeline.correlations.PRESSURE_DROP_NAMES`, then any others in the result's order."""
    meshed, nominal = result.as_meshed, result.nominal
    found = meshed.correlations
    keys = [k for k in PRESSURE_DROP_NAMES if k in found] + [k for k in found if k not in PRESSURE_DROP_NAMES]
    return [CorrelationRow(key, label(key), found[key], meshed.ratios[key], nominal.correlations.get(key, math.nan),
                           nominal.ratios.get(key, math.nan))
            for key in keys]
