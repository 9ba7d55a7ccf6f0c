"""The run folder: one object that knows where everything of a run lies on this machine.

A run folder holds ``packing/`` (``packing.npz`` and the exported geometry) and ``case/`` (the OpenFOAM case:
its dictionaries, the spec it was written for, the mesh and solve records, the logs, ``results.json`` and the
VTK fields). Stages, the report, the pictures, the dashboard and the CLI ask a :class:`RunFolder` for these
paths instead of spelling them; a recorded run's folder is the one its row names
(:func:`pipeline.runs.run_folder`, which also fetches from the store what the folder lacks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .packing import Packing
    from .results.extract import RunResult
    from .settings import Settings
    from .spec import BedSpec

#: The spec a case was written for, inside the case (``cfd.bed`` writes it).
SPEC_FILE = "bed.json"
#: Written once a mesh is complete: its digest and quality.
MESH_RECORD = "mesh.json"
#: Written once a solve is complete: iterations, convergence, residuals, seconds, ranks.
SOLVE_RECORD = "solve.json"
#: The results of a solved case.
RESULTS_FILE = "results.json"
#: The saved packing, inside ``packing/``.
PACKING_FILE = "packing.npz"
#: The solver's log, inside the case.
SOLVER_LOG = "log.simpleFoam"
#: The empty file ParaView (and VTK's OpenFOAM reader) opens a case by, in every case folder and case archive.
FOAM_FILE = "case.foam"


@dataclass(frozen=True)
class RunFolder:
    """The files of one run under :attr:`root`, an absolute path (nothing is created until a stage writes)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).absolute())

    @classmethod
    def default(cls, spec: BedSpec, settings: Settings | None = None) -> RunFolder:
        """The folder of an unrecorded run of ``spec``: ``<data>/runs/<name>-<digest12>``."""
        from .settings import Settings
        from .text import file_name

        settings = settings or Settings.from_env()
        return cls(settings.data_dir / "runs" / file_name(spec.name, f"-{spec.digest()[:12]}"))

    @classmethod
    def of(cls, folder: str | Path | RunFolder) -> RunFolder:
        """``folder`` as a :class:`RunFolder`."""
        return folder if isinstance(folder, RunFolder) else cls(Path(folder))

    # -- the layout ---------------------------------------------------------------------------------------------
    @property
    def packing_dir(self) -> Path:
        return self.root / "packing"

    @property
    def packing_file(self) -> Path:
        return self.packing_dir / PACKING_FILE

    @property
    def case(self) -> Path:
        return self.root / "case"

    @property
    def spec_file(self) -> Path:
        return self.case / SPEC_FILE

    @property
    def mesh_record(self) -> Path:
        return self.case / MESH_RECORD

    @property
    def solve_record(self) -> Path:
        return self.case / SOLVE_RECORD

    @property
    def results_file(self) -> Path:
        return self.case / RESULTS_FILE

    @property
    def vtk_dir(self) -> Path:
        return self.case / "VTK"

    @property
    def solver_log(self) -> Path:
        return self.case / SOLVER_LOG

    def logs(self) -> list[Path]:
        """The OpenFOAM logs of the case (``log.*``), sorted."""
        return sorted(path for path in self.case.glob("log.*") if path.is_file())

    # -- what is there --------------------------------------------------------------------------------------------
    def record(self, path: Path) -> dict[str, Any] | None:
        """A record a step wrote once it was complete (:attr:`mesh_record`, :attr:`solve_record`); ``None`` if it
        is missing or cut short."""
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def has_mesh(self, digest: str) -> bool:
        """Whether the case holds the mesh with this digest."""
        return (self.record(self.mesh_record) or {}).get("digest") == digest

    def is_solved(self) -> bool:
        """Whether the case holds a completed solve (its record and the spec it was written for)."""
        return self.record(self.solve_record) is not None and self.spec_file.is_file()

    def packing(self) -> Packing:
        """The saved packing."""
        from .packing import Packing

        return Packing.load(self.packing_file)

    def result(self) -> RunResult | None:
        """The saved results, if the case has them."""
        from .results.extract import RunResult

        return RunResult.load(self.results_file) if self.results_file.is_file() else None

    def __str__(self) -> str:
        return str(self.root)
