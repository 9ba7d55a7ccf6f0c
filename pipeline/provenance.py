"""What produced a run: versions of bedflow, OpenFOAM, Blender, Python and key packages, the host, the seed."""

from __future__ import annotations

import platform
import socket
import sys
from functools import lru_cache
from importlib import metadata
from typing import Any

PACKAGES = ("numpy", "scipy", "numba", "param", "sqlalchemy", "trimesh", "pyvista", "vtk", "bpy", "huey", "minio",
            "panel", "holoviews")


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def software() -> dict[str, Any]:
    """Versions that do not change while a process lives (cached)."""
    from . import __version__
    from .openfoam.environment import OpenFOAMNotFound, openfoam_version

    try:
        openfoam: str | None = openfoam_version()
    except OpenFOAMNotFound:
        openfoam = None
    return {
        "bedflow": __version__,
        "openfoam": openfoam,
        "blender": _version("bpy"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in PACKAGES},
    }


def provenance(seed: int | None = None) -> dict[str, Any]:
    """The provenance record stored with every simulation."""
    return {**software(), "host": socket.gethostname(), "seed": seed}
