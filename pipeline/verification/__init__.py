"""Code verification: the bed's meshing, solving and extraction against exact solutions (``bedflow verify``).

>>> report = verify(["sc-array"], solid_fractions=[0.125], resolutions=[8, 12, 16])   # doctest: +SKIP
>>> report.rows[-1].error, report.convergence[0].observed_order                     # doctest: +SKIP

Each case of :data:`CASES` runs at every resolution (background cells per sphere diameter, the meaning of
``cfd.mesh_cells_per_diameter``) with the same surface refinement a bed gets; each row holds the expected
and computed value and the relative error; over three or more resolutions the observed order of
convergence and the Richardson-extrapolated value (with its GCI) are reported per case and parameter.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..cfd.snappy import Refinement
from ..progress import ProgressCallback, no_progress, scaled
from ..results.profiles import ResultsError
from ..results.richardson import richardson
from . import cases, exact
from .cases import CaseOutcome, VerificationError
from .exact import NoReference

#: The cases, their parameter's name and default values.
CASES: dict[str, tuple[str, tuple[float, ...]]] = {
    "hagen-poiseuille": ("none", (0.0,)),
    "sc-array": ("solid_fraction", (0.125,)),
    "sphere-in-tube": ("diameter_ratio", (0.4,)),
}
DEFAULT_RESOLUTIONS = (8, 12, 16)


@dataclass(frozen=True)
class VerificationRow:
    """One case at one parameter and resolution against its exact answer."""

    case: str
    parameter: float
    resolution: int
    cells: int
    quantity: str
    expected: float
    computed: float
    error: float  # relative: computed / expected - 1
    source: str
    iterations: int
    converged: bool
    seconds: float
    surface_level: int
    gap_level: int
    layers: int
    solid_fraction_mesh: float | None = None


@dataclass(frozen=True)
class Convergence:
    """A case and parameter over three resolutions: observed order, extrapolated value, its error and GCI."""

    case: str
    parameter: float
    resolutions: list[int]
    observed_order: float
    extrapolated: float
    extrapolated_error: float  # relative, against the exact answer
    gci_fine: float
    monotonic: bool


@dataclass
class VerificationReport:
    """Every row, and the convergence of each case and parameter run at three or more resolutions."""

    rows: list[VerificationRow] = field(default_factory=list)
    convergence: list[Convergence] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"results": [asdict(row) for row in self.rows],
                "convergence": [_finite(asdict(item)) for item in self.convergence]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def table(self) -> list[dict[str, str]]:
        """The rows as text cells (case, parameter, resolution, cells, expected, computed, error, seconds)."""
        return [{"case": row.case, "parameter": f"{row.parameter:g}" if row.case != "hagen-poiseuille" else "–",
                 "d/h": str(row.resolution), "cells": f"{row.cells:,}", "quantity": row.quantity,
                 "expected": f"{row.expected:.4g}", "computed": f"{row.computed:.4g}",
                 "error": f"{100 * row.error:+.2f} %", "seconds": f"{row.seconds:.0f}"} for row in self.rows]


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    """NaN and infinities as ``None`` (strict JSON)."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()}


def expected_value(case: str, parameter: float) -> tuple[str, float, str]:
    """``(quantity, exact value, source)`` of ``case`` at ``parameter``."""
    if case == "sc-array":
        k, source = exact.sc_array_k(parameter)
        return "K", k, source
    if case == "sphere-in-tube":
        return "K", exact.haberman_sayre_k(parameter), exact.HABERMAN_SAYRE
    if case == "hagen-poiseuille":
        return "dp/dz ratio", 1.0, exact.HAGEN_POISEUILLE
    raise ValueError(f"unknown verification case {case!r} (cases: {', '.join(CASES)})")


def run_case(case: str, parameter: float, resolution: int, folder: Path, refinement: Refinement,
             processes: int = 1, progress: ProgressCallback | None = None,
             timeout: float | None = None) -> CaseOutcome:
    """Build, mesh and solve one case in ``folder``."""
    if case == "sc-array":
        return cases.sc_array(folder, parameter, resolution, refinement, processes, progress, timeout)
    if case == "sphere-in-tube":
        return cases.sphere_in_tube(folder, parameter, resolution, refinement, processes, progress, timeout)
    if case == "hagen-poiseuille":
        return cases.hagen_poiseuille(folder, resolution, processes, progress, timeout)
    raise ValueError(f"unknown verification case {case!r} (cases: {', '.join(CASES)})")


def check_request(names: Sequence[str], parameters: dict[str, Sequence[float]], resolutions: Sequence[int]) -> None:
    """Refuse, before anything runs, unknown cases, parameters without an exact answer and bad resolutions."""
    for name in names:
        if name not in CASES:
            raise ValueError(f"unknown verification case {name!r} (cases: {', '.join(CASES)})")
        for value in parameters.get(name, CASES[name][1]):
            expected_value(name, value)
    if not resolutions or any(not isinstance(n, int) or not 4 <= n <= 64 for n in resolutions):
        raise ValueError(f"resolutions are cells per diameter from 4 to 64, got {list(resolutions)}")
    if len(set(resolutions)) != len(resolutions):
        raise ValueError(f"resolutions repeat: {list(resolutions)}")


def verify(names: Sequence[str] = tuple(CASES), parameters: dict[str, Sequence[float]] | None = None,
           resolutions: Sequence[int] = DEFAULT_RESOLUTIONS, refinement: Refinement | None = None,
           processes: int = 1, folder: str | Path | None = None, progress: ProgressCallback | None = None,
           timeout: float | None = None) -> VerificationReport:
    """Run every case of ``names`` at each of its parameters (default :data:`CASES`') and ``resolutions``.

    ``refinement`` defaults to the packed bed's (:func:`pipeline.spec.BedSpec` ``cfd`` defaults).
    ``folder`` keeps the cases (``<case>-<parameter>-d<resolution>``); by default they go to a temporary
    folder removed afterwards. Unknown cases, parameters without an exact answer and bad resolutions raise
    :class:`ValueError` before anything runs.
    """
    parameters = dict(parameters or {})
    resolutions = sorted(resolutions)
    check_request(names, parameters, resolutions)
    refinement = refinement or default_refinement()
    report = progress or no_progress
    jobs = [(name, value, n) for name in names for value in parameters.get(name, CASES[name][1]) for n in resolutions]
    result = VerificationReport()
    with tempfile.TemporaryDirectory(prefix="bedflow-verify-") as scratch:
        root = Path(folder) if folder else Path(scratch)
        for index, (name, value, n) in enumerate(jobs):
            quantity, expected, source = expected_value(name, value)
            where = root / f"{name}-{value:g}-d{n}"
            step = scaled(report, index / len(jobs), (index + 1) / len(jobs))
            step(0.0, f"{name} {value:g} at d/{n}")
            outcome = run_case(name, value, n, where, refinement, processes, step, timeout)
            result.rows.append(VerificationRow(
                name, value, n, outcome.cells, quantity, expected, outcome.computed, outcome.computed / expected - 1,
                source, outcome.iterations, outcome.converged, outcome.seconds, refinement.surface_level,
                refinement.gap_level, refinement.layers, outcome.solid_fraction_mesh))
    for name in names:
        for value in parameters.get(name, CASES[name][1]):
            rows = [row for row in result.rows if row.case == name and row.parameter == value]
            if len(rows) >= 3:
                result.convergence.append(_convergence(rows[-3:]))
    report(1.0, "verification done")
    return result


def _convergence(rows: list[VerificationRow]) -> Convergence:
    """Richardson extrapolation over the three finest rows (cell size 1 / resolution)."""
    try:
        fit = richardson(tuple(1.0 / row.resolution for row in rows), tuple(row.computed for row in rows))
    except ResultsError:
        fit = None
    expected = rows[0].expected
    if fit is None:
        return Convergence(rows[0].case, rows[0].parameter, [r.resolution for r in rows], math.nan, math.nan,
                           math.nan, math.nan, False)
    return Convergence(rows[0].case, rows[0].parameter, [r.resolution for r in rows], fit.order, fit.value,
                       fit.value / expected - 1.0, fit.gci_fine, fit.monotonic)


def default_refinement() -> Refinement:
    """The surface refinement a packed bed gets by default."""
    from ..spec import BedSpec

    return BedSpec().cfd.refinement()


__all__ = ["CASES", "Convergence", "check_request", "default_refinement", "NoReference", "VerificationError", "VerificationReport", "VerificationRow",
           "expected_value", "run_case", "verify"]
