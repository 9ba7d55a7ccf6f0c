"""OpenFOAM integration: environment, program runner, dictionary files, log parsers."""

from pipeline.openfoam.dictionary import Raw, render_dictionary, words, write_dictionary
from pipeline.openfoam.environment import OpenFOAMNotFound, foam_environment, openfoam_version
from pipeline.openfoam.logs import (MeshQuality, ResidualTracker, parse_checkmesh, parse_solver_line,
                                   snappy_phase_seconds)
from pipeline.openfoam.runner import FoamError, foam_command, run_foam

__all__ = [
    "FoamError",
    "MeshQuality",
    "OpenFOAMNotFound",
    "Raw",
    "ResidualTracker",
    "foam_command",
    "foam_environment",
    "openfoam_version",
    "parse_checkmesh",
    "parse_solver_line",
    "render_dictionary",
    "run_foam",
    "snappy_phase_seconds",
    "words",
    "write_dictionary",
]
