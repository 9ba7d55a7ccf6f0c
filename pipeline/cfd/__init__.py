"""CFD cases built on the OpenFOAM layer (:mod:`pipeline.openfoam`): the empty tube and the packed bed."""

from pipeline.cfd.bed import Domain, bed_domain, mesh_bed_case, solve_bed_case, write_bed_case
from pipeline.cfd.tube import MeshCheckFailed, run_empty_tube, write_empty_tube_case

__all__ = [
    "Domain",
    "MeshCheckFailed",
    "bed_domain",
    "mesh_bed_case",
    "run_empty_tube",
    "solve_bed_case",
    "write_bed_case",
    "write_empty_tube_case",
]
