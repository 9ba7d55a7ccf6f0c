"""Parsers of OpenFOAM logs: solver residuals (streaming) and checkMesh reports."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.plain import known_fields
from pipeline.progress import ProgressCallback

_SOLVING = re.compile(
    r"^\s*(?P<solver>\w+):\s+Solving for (?P<field>\w+), Initial residual = (?P<initial>\S+), "
    r"Final residual = (?P<final>\S+), No Iterations (?P<iterations>\d+)"
)
_TIME = re.compile(r"^Time = (?P<time>\S+)\s*$")
_CONVERGED = re.compile(r"^\S+ solution converged in (?P<iterations>\d+) iterations")


def parse_solver_line(line: str) -> dict[str, Any] | None:
    """Parse one solver log line; ``None`` if it is not one we know.

    Returns ``{"kind": "residual", "solver", "field", "initial", "final", "iterations"}``
    for ``Solving for`` lines, ``{"kind": "time", "time": float}`` for ``Time = ...``
    lines, ``{"kind": "converged", "iterations": int}`` for the residualControl
    message (``SIMPLE solution converged in N iterations``).
    """
    if match := _SOLVING.match(line):
        return {
            "kind": "residual",
            "solver": match["solver"],
            "field": match["field"],
            "initial": float(match["initial"]),
            "final": float(match["final"]),
            "iterations": int(match["iterations"]),
        }
    if match := _TIME.match(line):
        return {"kind": "time", "time": float(match["time"])}
    if match := _CONVERGED.match(line):
        return {"kind": "converged", "iterations": int(match["iterations"])}
    return None


class ResidualTracker:
    """An ``on_line`` consumer following a steady solver's iterations.

    Keeps the iteration number (the last ``Time = N``), the last initial residual
    of each field, and whether residualControl declared convergence; reports
    ``progress(iteration / max_iterations, message)`` at each new iteration.
    """

    def __init__(self, max_iterations: int, progress: ProgressCallback | None = None) -> None:
        if max_iterations < 1:
            raise ValueError(f"max_iterations must be at least 1, got {max_iterations}")
        self.max_iterations = max_iterations
        self.progress = progress
        self.iteration = 0
        self.residuals: dict[str, float] = {}
        self.converged = False
        self._first_solve: set[str] = set()

    def __call__(self, line: str) -> None:
        parsed = parse_solver_line(line)
        if parsed is None:
            return
        handler: Callable[[dict[str, Any]], None] = getattr(self, f"_on_{parsed['kind']}")
        handler(parsed)

    def _on_time(self, parsed: dict[str, Any]) -> None:
        self._report()
        self.iteration = int(round(parsed["time"]))
        self._first_solve.clear()

    def _on_residual(self, parsed: dict[str, Any]) -> None:
        # Keep the first solve of a field within an iteration (the one residualControl uses).
        if parsed["field"] not in self._first_solve:
            self._first_solve.add(parsed["field"])
            self.residuals[parsed["field"]] = parsed["initial"]

    def _on_converged(self, parsed: dict[str, Any]) -> None:
        self.converged = True
        self.iteration = parsed["iterations"]
        self._report()

    def _report(self) -> None:
        if self.progress is None or not self.iteration:
            return
        fraction = min(1.0, self.iteration / self.max_iterations)
        worst = max(self.residuals.values(), default=float("nan"))
        self.progress(fraction, f"iteration {self.iteration}/{self.max_iterations}, max residual {worst:.3g}")

    def max_residual(self) -> float:
        """The largest last initial residual over all fields (``inf`` before any)."""
        return max(self.residuals.values(), default=float("inf"))


_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_CHECKMESH_PATTERNS: dict[str, tuple[re.Pattern[str], type]] = {
    "points": (re.compile(r"^\s*points:\s+(\d+)", re.M), int),
    "faces": (re.compile(r"^\s*faces:\s+(\d+)", re.M), int),
    "cells": (re.compile(r"^\s*cells:\s+(\d+)", re.M), int),
    "max_non_orthogonality": (re.compile(r"Mesh non-orthogonality Max:\s+" + _NUMBER), float),
    "max_skewness": (re.compile(r"Max skewness = " + _NUMBER), float),
    "failed_checks": (re.compile(r"Failed (\d+) mesh checks"), int),
}


@dataclass(frozen=True)
class MeshQuality:
    """A mesh as checkMesh saw it: size, the worst non-orthogonality (degrees) and skewness, the checks it failed,
    and (for a mesh bedflow made) the ``seconds`` the meshing took and snappyHexMesh's ``phase_seconds``."""

    cells: int = 0
    points: int | None = None
    faces: int | None = None
    max_non_orthogonality: float | None = None
    max_skewness: float | None = None
    failed_checks: int = 0
    ok: bool = False
    seconds: float | None = None
    phase_seconds: dict[str, float] = field(default_factory=dict)

    def timed(self, seconds: float, phase_seconds: dict[str, float]) -> "MeshQuality":
        """This quality with the time the meshing took."""
        return MeshQuality(**{**asdict(self), "seconds": seconds, "phase_seconds": dict(phase_seconds)})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "MeshQuality":
        """A quality from :meth:`to_dict`'s output (a mesh record, a mesh row's ``quality``)."""
        values = known_fields(cls, data or {})
        values["cells"] = int(values.get("cells") or 0)
        values["failed_checks"] = int(values.get("failed_checks") or 0)
        return cls(**values)


def parse_checkmesh(text: str) -> MeshQuality:
    """Summarize a checkMesh log: sizes and worst values (``None`` where the log does not say), the failed
    checks (0 unless reported) and ``ok`` (``True`` iff the log says ``Mesh OK.`` and no check failed)."""
    summary: dict[str, Any] = {}
    for key, (pattern, kind) in _CHECKMESH_PATTERNS.items():
        match = pattern.search(text)
        summary[key] = kind(match.group(1)) if match else None
    summary["failed_checks"] = summary["failed_checks"] or 0
    summary["cells"] = summary["cells"] or 0
    summary["ok"] = "Mesh OK." in text and summary["failed_checks"] == 0
    return MeshQuality(**summary)


# snappyHexMesh's line at the end of each phase, and the phase's name.
_SNAPPY_PHASES = {"Mesh refined": "refine", "Mesh snapped": "snap", "Layers added": "layers"}
_SNAPPY_PHASE = re.compile(rf"^({'|'.join(_SNAPPY_PHASES)}) in = ([0-9.eE+-]+) s", re.MULTILINE)


def snappy_phase_seconds(text: str) -> dict[str, float]:
    """Seconds snappyHexMesh spent in each phase it ran (``refine``, ``snap``, ``layers``), from its log."""
    return {_SNAPPY_PHASES[match.group(1)]: float(match.group(2)) for match in _SNAPPY_PHASE.finditer(text)}


# An ``mpirun --tag-output`` / ``--timestamp-output`` prefix (``[1,0]<stdout>:``) before a rank's line.
_MPI_TAG = re.compile(r"^(?:\[[^\]]*\](?:<std(?:out|err)>)?:)+\s?")


def _names_file(log: str | Path) -> bool:
    """Whether ``log`` is a path (a ``Path``, or a one-line string naming an existing file) rather than text."""
    if isinstance(log, Path):
        return True
    if "\n" in log:
        return False
    try:
        return Path(log).is_file()
    except (OSError, ValueError):  # too long for a file name, or a NUL byte: text
        return False


def residual_history(log: str | Path) -> dict[str, list[tuple[int, float]]]:
    """The initial residual of each field's first solve in every iteration of a steady solver log.

    ``log`` is a ``Path`` to a log file, a string naming an existing file, or the log's text (any
    string with a line break, or naming no file). Returns ``{field: [(iteration, residual), ...]}`` in
    iteration order (``Ux``, ``Uy``, ``Uz``, ``p``, ``k``, ``omega``...), the iteration being the last
    ``Time = N`` line, the residual the one ``residualControl`` judges (the first solve of the field
    within that iteration, as :class:`ResidualTracker` keeps it).

    Robust to what real logs contain: solves before the first ``Time =`` line are ignored; a truncated
    last line, an unparsable residual (``nan`` is kept, a vector is skipped) and MPI output tags
    (``[1,0]<stdout>:``) do no harm; an iteration appearing again (a restart appended to the log)
    takes its later values.
    """
    text = Path(log).read_text(encoding="utf-8", errors="replace") if _names_file(log) else str(log)
    history: dict[str, dict[int, float]] = {}
    iteration: int | None = None
    seen: set[str] = set()
    for line in text.splitlines():
        try:
            parsed = parse_solver_line(_MPI_TAG.sub("", line, count=1))
        except ValueError:  # e.g. a coupled solver's vector residual "(1 0.5 0.2)"
            continue
        if parsed is None:
            continue
        if parsed["kind"] == "time":
            iteration = int(round(parsed["time"]))
            seen.clear()
        elif parsed["kind"] == "residual" and iteration is not None and parsed["field"] not in seen:
            seen.add(parsed["field"])
            history.setdefault(parsed["field"], {})[iteration] = parsed["initial"]
    return {field: sorted(values.items()) for field, values in history.items()}


#: Points per field kept by :func:`thinned` (what a running solve publishes for dashboards elsewhere).
LIVE_POINTS = 400


def thinned(history: dict[str, list[tuple[int, float]]], points: int = LIVE_POINTS) -> dict[str, list[list[float]]]:
    """A residual history with at most ``points`` evenly spread iterations per field, the last always kept, as
    plain lists (JSON): small enough to write to a database row every few seconds."""
    kept: dict[str, list[list[float]]] = {}
    for name, values in history.items():
        step = max(1, -(-len(values) // points))
        chosen = values[::step]
        if values and chosen[-1] != values[-1]:
            chosen.append(values[-1])
        kept[name] = [[int(i), float(r)] for i, r in chosen]
    return kept

