"""The packed-bed case: the fluid in the tube around the particles, meshed and solved with OpenFOAM.

Domain: the inside of the tube (radius D/2) from an inlet plane ``ENTRANCE``
particle diameters below the bed to an outlet plane ``EXIT`` diameters above
its highest particle, so the flow enters and leaves through empty tube. The
background is the O-grid pipe of :mod:`pipeline.cfd.tube` (patches ``inlet``,
``outlet``, ``wall``) with cells of d / ``cfd.mesh_cells_per_diameter``;
snappyHexMesh carves out the particles (after the contact treatment) from their
STL and names that patch ``particles``. The point that tells snappyHexMesh which
side is fluid (``locationInMesh``) lies in the empty entrance, below every
particle, off the axis and off any cell face: inside the fluid by construction.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..folder import FOAM_FILE, SPEC_FILE  # the spec of the case, in canonical JSON, beside the OpenFOAM files
from ..geometry import treated_particle_mesh
from ..openfoam import run_foam, snappy_phase_seconds, write_dictionary
from ..openfoam.logs import MeshQuality, ResidualTracker
from ..packing import Packing
from ..progress import ProgressCallback, no_progress
from ..spec import BedSpec
from .snappy import snappy_dictionary
from .turbulence import rans_fields
from .tube import check_mesh, initial_fields, o_grid_blockmesh, write_allrun, write_fields, write_physics

#: Empty tube before the bed and after it, in particle diameters.
ENTRANCE = 3.0
EXIT = 3.0
#: The patches of a packed-bed mesh.
PATCHES = ("inlet", "outlet", "wall", "particles")


@dataclass(frozen=True)
class Domain:
    """The fluid region of a packed-bed case (SI)."""

    diameter: float
    z0: float
    z1: float
    cell: float

    @property
    def length(self) -> float:
        return self.z1 - self.z0

    @property
    def cells_across(self) -> int:
        return max(8, round(self.diameter / self.cell))

    @property
    def cells_along(self) -> int:
        return max(4, round(self.length / self.cell))

    def location_in_mesh(self) -> tuple[float, float, float]:
        """A point of the empty entrance: below every particle, off the axis and off cell faces."""
        return (0.137 * self.cell, 0.291 * self.cell, 0.5 * self.z0 + 0.0731 * self.cell)


def bed_domain(packing: Packing, cells_per_diameter: int) -> Domain:
    """The tube from ``ENTRANCE`` d below the bed to ``EXIT`` d above its top particle."""
    d = packing.diameter
    top = float((packing.centres[:, 2] + packing.bounding_radius).max())
    return Domain(packing.container.diameter, -ENTRANCE * d, top + EXIT * d, d / cells_per_diameter)


def decompose_dictionary(processes: int) -> dict[str, Any]:
    """decomposeParDict: slabs along the flow (Debian's scotch/metis are stubs; ``simple`` works)."""
    return {"numberOfSubdomains": processes, "method": "simple",
            "simpleCoeffs": {"n": (1, 1, processes), "delta": 0.001}}


def write_bed_case(case_dir: Path, packing: Packing, spec: BedSpec, mesh: bool = True) -> Domain:
    """Write the packed-bed case: mesh dictionaries and particle STL (unless ``mesh`` is False: an
    existing mesh is kept), decomposition, physics and initial fields."""
    cfd = spec.cfd
    case_dir = Path(case_dir)
    domain = bed_domain(packing, cfd.mesh_cells_per_diameter)
    system = case_dir / "system"
    nu = cfd.fluid_dynamic_viscosity / cfd.fluid_density
    write_physics(case_dir, nu, cfd.max_iterations, cfd.convergence, cfd.regime)
    walls = ("wall", "particles")
    fields = initial_fields(spec.superficial_velocity(), walls)
    if cfd.regime == "rans_komega_sst":
        fields.update(rans_fields(spec.superficial_velocity(), packing.diameter, walls))
    write_fields(case_dir, fields)
    (case_dir / FOAM_FILE).touch()  # ParaView opens the case (and a downloaded archive of it) by this file
    (case_dir / SPEC_FILE).write_text(spec.to_json())
    if cfd.processes > 1:
        write_dictionary(system / "decomposeParDict", decompose_dictionary(cfd.processes), "decomposeParDict",
                         location="system")
    if not mesh:
        return domain
    blockmesh = o_grid_blockmesh(domain.diameter, domain.length, domain.cells_across, domain.cells_along, domain.z0)
    write_dictionary(system / "blockMeshDict", blockmesh, "blockMeshDict", location="system")
    snappy = snappy_dictionary(domain.location_in_mesh(), domain.cell, cfd.refinement())
    write_dictionary(system / "snappyHexMeshDict", snappy, "snappyHexMeshDict", location="system")
    surface = case_dir / "constant" / "triSurface"
    surface.mkdir(parents=True, exist_ok=True)
    surface_mesh, _, _ = treated_particle_mesh(packing, subdivisions=3)
    surface_mesh.export(surface / "particles.stl", file_type="stl")
    write_allrun(case_dir, ["blockMesh", "snappyHexMesh -overwrite", "checkMesh", "simpleFoam"])
    return domain


def mesh_bed_case(case_dir: Path, progress: ProgressCallback | None = None,
                  timeout: float | None = None, processes: int = 1) -> MeshQuality:
    """blockMesh, snappyHexMesh (in place; on ``processes`` MPI ranks when > 1, reassembled with
    reconstructParMesh), checkMesh; the parsed mesh quality (raises if it fails) with the ``seconds`` it all
    took and snappyHexMesh's ``phase_seconds`` (refine, snap, layers)."""
    case_dir = Path(case_dir)
    report = progress or no_progress
    started = time.perf_counter()
    report(0.0, "blockMesh")
    run_foam("blockMesh", case_dir, timeout=timeout)
    report(0.1, "snappyHexMesh" + (f" on {processes} ranks" if processes > 1 else ""))
    if processes > 1:
        write_dictionary(case_dir / "system" / "decomposeParDict", decompose_dictionary(processes),
                         "decomposeParDict", location="system")
        run_foam("decomposePar", case_dir, ["-force"], log_name="log.decomposePar.mesh", timeout=timeout)
        run_foam("snappyHexMesh", case_dir, ["-overwrite"], processes=processes, timeout=timeout)
        run_foam("reconstructParMesh", case_dir, ["-constant", "-mergeTol", "1e-6"], timeout=timeout)
        for child in case_dir.glob("processor*"):
            shutil.rmtree(child)
    else:
        run_foam("snappyHexMesh", case_dir, ["-overwrite"], timeout=timeout)
    phases = snappy_phase_seconds((case_dir / "log.snappyHexMesh").read_text(encoding="utf-8", errors="replace"))
    report(0.9, "checkMesh")
    quality = check_mesh(case_dir, timeout).timed(time.perf_counter() - started, phases)
    spent = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in phases.items())
    report(1.0, f"mesh of {quality.cells} cells ({spent})")
    return quality


def clear_solution(case_dir: Path) -> None:
    """Remove earlier solutions (time folders after 0, processor folders) so a solve starts clean."""
    for child in Path(case_dir).iterdir():
        if not child.is_dir():
            continue
        try:
            solution = float(child.name) > 0
        except ValueError:
            solution = child.name.startswith("processor")
        if solution:
            shutil.rmtree(child)


def run_simple(case_dir: Path, tracker: ResidualTracker, processes: int = 1, timeout: float | None = None) -> None:
    """simpleFoam in ``case_dir`` (on ``processes`` MPI ranks when > 1: decomposePar, mpirun,
    reconstructPar of the last time), each log line to ``tracker``."""
    if processes > 1:
        write_dictionary(Path(case_dir) / "system" / "decomposeParDict", decompose_dictionary(processes),
                         "decomposeParDict", location="system")
        run_foam("decomposePar", case_dir, ["-force"], timeout=timeout)
        run_foam("simpleFoam", case_dir, on_line=tracker, processes=processes, timeout=timeout)
        run_foam("reconstructPar", case_dir, ["-latestTime"], timeout=timeout)
    else:
        run_foam("simpleFoam", case_dir, on_line=tracker, timeout=timeout)


def solve_bed_case(case_dir: Path, spec: BedSpec, progress: ProgressCallback | None = None,
                   timeout: float | None = None) -> ResidualTracker:
    """simpleFoam (on ``cfd.processes`` MPI ranks when > 1), with residuals forwarded to ``progress``."""
    case_dir = Path(case_dir)
    clear_solution(case_dir)
    tracker = ResidualTracker(spec.cfd.max_iterations, progress)
    run_simple(case_dir, tracker, spec.cfd.processes, timeout)
    return tracker
