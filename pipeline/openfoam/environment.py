"""The OpenFOAM shell environment: the variables OpenFOAM's ``etc/bashrc`` exports (``WM_PROJECT_DIR``,
``FOAM_*``, library paths), which every OpenFOAM program needs.

Where they come from, in this order (:func:`openfoam_source` says which):

1. ``BEDFLOW_OPENFOAM_BASHRC``: a ``bashrc`` to source (a newer OpenFOAM, a site installation);
2. the environment bedflow runs in, when it is already sourced (``WM_PROJECT_DIR`` set: a cluster's
   ``module load openfoam``, a container built with it);
3. Debian's ``/usr/share/openfoam/etc/bashrc`` (``apt-get install openfoam``).

Sourcing costs a bash start-up, so the result is computed once per process and source, and cached. The
``bashrc`` path reaches bash as an argument, never inside the command text. Debian's ``bashrc`` prints harmless
errors on stderr; they are discarded.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import BedflowError

BASHRC = Path("/usr/share/openfoam/etc/bashrc")
#: The variable naming a ``bashrc`` to source instead of Debian's.
BASHRC_VARIABLE = "BEDFLOW_OPENFOAM_BASHRC"
REQUIRED_PROGRAMS = ("blockMesh", "checkMesh", "simpleFoam", "postProcess")
#: ``bash -c SCRIPT bash PATH``: the path is ``$1``, never part of the script; shifted away before sourcing,
#: since OpenFOAM's bashrc reads its own arguments from ``$@``.
_SOURCE_SCRIPT = 'bashrc="$1"; shift; source "$bashrc" >/dev/null 2>&1; env -0'


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


@dataclass(frozen=True)
class OpenFOAMSource:
    """Where the OpenFOAM environment comes from: ``kind`` is ``bashrc`` (``path`` sourced, named by
    ``variable`` or Debian's default) or ``environment`` (already sourced: ``path`` is ``WM_PROJECT_DIR``)."""

    kind: str
    path: Path
    variable: str = ""

    def describe(self) -> str:
        if self.kind == "environment":
            return f"the environment bedflow runs in (WM_PROJECT_DIR={self.path})"
        return f"{self.variable}={self.path}" if self.variable else f"Debian's {self.path}"


def openfoam_source(environ: dict[str, str] | None = None) -> OpenFOAMSource:
    """Which OpenFOAM environment bedflow uses (see the module's documentation for the order)."""
    environ = dict(os.environ if environ is None else environ)
    if environ.get(BASHRC_VARIABLE):
        return OpenFOAMSource("bashrc", Path(environ[BASHRC_VARIABLE]).expanduser(), BASHRC_VARIABLE)
    if environ.get("WM_PROJECT_DIR"):
        return OpenFOAMSource("environment", Path(environ["WM_PROJECT_DIR"]))
    return OpenFOAMSource("bashrc", BASHRC)


def foam_environment() -> dict[str, str]:
    """The OpenFOAM environment of :func:`openfoam_source` (cached per source; the dict is shared: copy it before
    adding variables). Raises :class:`OpenFOAMNotFound` if the ``bashrc`` or the OpenFOAM programs are missing."""
    source = openfoam_source()
    return _environment(source, tuple(sorted(os.environ.items())) if source.kind == "environment" else ())


@functools.cache
def _environment(source: OpenFOAMSource, inherited: tuple[tuple[str, str], ...]) -> dict[str, str]:
    where = source.describe()
    if source.kind == "environment":
        environment = dict(inherited)
    else:
        if not source.path.is_file():
            raise OpenFOAMNotFound(f"OpenFOAM is not installed: {source.path} does not exist"
                                   + (f" ({source.variable})" if source.variable else ""))
        try:
            completed = subprocess.run(["bash", "-c", _SOURCE_SCRIPT, "bash", str(source.path)],
                                       capture_output=True, check=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            raise OpenFOAMNotFound(f"could not source {where}: {exc}") from exc
        environment = _parse_env0(completed.stdout)
    if not environment.get("WM_PROJECT_VERSION"):
        raise OpenFOAMNotFound(f"{where} does not set WM_PROJECT_VERSION: not an OpenFOAM environment")
    path = environment.get("PATH")
    missing = [program for program in REQUIRED_PROGRAMS if shutil.which(program, path=path) is None]
    if missing:
        raise OpenFOAMNotFound(f"OpenFOAM programs not found on the PATH of {where}: {', '.join(missing)}")
    return environment


def openfoam_version() -> str:
    """The OpenFOAM version, e.g. ``"v1912"`` (from ``WM_PROJECT_VERSION``)."""
    return foam_environment()["WM_PROJECT_VERSION"]
