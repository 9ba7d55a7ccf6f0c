"""bedflow's library: specification, packing, meshing, CFD, results, storage and jobs.

Every front end (CLI, Huey tasks, Panel dashboard, notebooks) calls the
functions re-exported here; none holds science of its own.
"""

from .dsl import format_bed, parse_bed
from .errors import BedflowError, BedSyntaxError, BedValidationError, Problem
from .packing import Packing, PackingError, pack
from .settings import Settings
from .spec import BedSpec

__version__ = "0.1.0"

__all__ = [
    "BedSpec",
    "BedflowError",
    "BedSyntaxError",
    "BedValidationError",
    "Packing",
    "PackingError",
    "Problem",
    "Settings",
    "format_bed",
    "pack",
    "parse_bed",
    "__version__",
]
