"""CFD cases built on the OpenFOAM layer (:mod:`pipeline.openfoam`)."""

from pipeline.cfd.tube import MeshCheckFailed, run_empty_tube, write_empty_tube_case

__all__ = ["MeshCheckFailed", "run_empty_tube", "write_empty_tube_case"]
