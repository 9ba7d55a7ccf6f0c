"""Packing engines and the `Packing` they produce.

``pack(spec)`` runs the engine the spec names (``native``: a fast position-based
packer for spheres; ``rigid_body``: Blender physics in a child process) and
returns a :class:`Packing`, whose metrics (porosity, radial and axial profiles,
gaps, overlaps, coordination) are methods.
"""

from .api import ENGINES, PACKING_FILE, Packed, pack, pack_to_folder, with_engine
from .model import Container, Packing, PackingError, packing_digest
from .report import PackingReport

__all__ = [
    "ENGINES",
    "PACKING_FILE",
    "Container",
    "Packed",
    "Packing",
    "PackingError",
    "PackingReport",
    "pack",
    "pack_to_folder",
    "packing_digest",
    "with_engine",
]
