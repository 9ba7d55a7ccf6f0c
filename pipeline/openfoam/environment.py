"""The OpenFOAM shell environment, captured once from Debian's ``bashrc``.

OpenFOAM programs need the variables its ``etc/bashrc`` exports (``WM_PROJECT_DIR``,
``FOAM_*``, library paths). Sourcing it costs a bash start-up, so the result is
computed once per process and cached. Debian's ``bashrc`` prints harmless errors
on stderr; they are discarded.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from pipeline.errors import BedflowError

BASHRC = Path("/usr/share/openfoam/etc/bashrc")
REQUIRED_PROGRAMS = ("blockMesh", "checkMesh", "simpleFoam", "postProcess")
_CAPTURE = ["bash", "-c", f"source {BASHRC} >/dev/null 2>&1; env -0"]


class OpenFOAMNotFound(BedflowError):
    """OpenFOAM (its ``bashrc`` or its programs) is not installed where expected."""


def _parse_env0(output: bytes) -> dict[str, str]:
    """Parse the NUL-separated ``NAME=value`` records printed by ``env -0``."""
    environment: dict[str, str] = {}
    for record in output.decode("utf-8", errors="replace").split("\0"):
        name, sep, value = record.partition("=")
        if sep and name:
            environment[name] = value
    return environment


@functools.cache
def foam_environment() -> dict[str, str]:
    """The environment after ``source /usr/share/openfoam/etc/bashrc`` (cached).

    Raises :class:`OpenFOAMNotFound` if the ``bashrc`` or the OpenFOAM programs are
    missing. The dict is shared: copy it before adding variables.
    """
    if not BASHRC.is_file():
        raise OpenFOAMNotFound(f"OpenFOAM is not installed: {BASHRC} does not exist")
    try:
        completed = subprocess.run(_CAPTURE, capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise OpenFOAMNotFound(f"could not source {BASHRC}: {exc}") from exc
    environment = _parse_env0(completed.stdout)
    if "WM_PROJECT_VERSION" not in environment:
        raise OpenFOAMNotFound(f"sourcing {BASHRC} did not set WM_PROJECT_VERSION")
    path = environment.get("PATH")
    missing = [program for program in REQUIRED_PROGRAMS if shutil.which(program, path=path) is None]
    if missing:
        raise OpenFOAMNotFound(f"OpenFOAM programs not found on PATH: {', '.join(missing)}")
    return environment


def openfoam_version() -> str:
    """The OpenFOAM version, e.g. ``"v1912"`` (from ``WM_PROJECT_VERSION``)."""
    return foam_environment()["WM_PROJECT_VERSION"]
