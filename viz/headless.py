"""Headless OpenGL for VTK: pick a render window that works on this machine, without crashing.

VTK's wheel renders offscreen through Debian's EGL (``libegl1``, ``libegl-mesa0``,
``libgl1-mesa-dri``) or OSMesa (``libosmesa6``) libraries, and it dies with a
segmentation fault, not an exception, when the one it tries is missing. So
:func:`configure` tries each candidate in a *child* Python that renders a tiny
scene to a PNG: a crash only kills the probe. The first that works is put in
``VTK_DEFAULT_OPENGL_WINDOW`` (read by VTK whenever it makes a render window),
and the verdict is cached in ``<data_dir>/cache/render-backend.json`` and in
the process.

Rendering is always offscreen, even where a ``DISPLAY`` exists: pictures for
files and notebooks come out the same on a laptop, a server and CI. To get a
desktop window instead, set ``VTK_DEFAULT_OPENGL_WINDOW=vtkXOpenGLRenderWindow``
before calling :func:`configure`; a value already in the environment is kept.

:func:`configure` also keeps the caches of Matplotlib, Mesa and XDG programs
inside the data folder rather than the user's home (only where unset).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from pipeline.errors import BedflowError

#: The environment variable VTK reads to choose its OpenGL render window class.
WINDOW_VARIABLE = "VTK_DEFAULT_OPENGL_WINDOW"

#: Offscreen render windows, in the order they are tried.
CANDIDATES: dict[str, str] = {"egl": "vtkEGLRenderWindow", "osmesa": "vtkOSOpenGLRenderWindow"}

#: The Debian packages each candidate needs.
DEBIAN_PACKAGES: dict[str, str] = {"egl": "libegl1 libegl-mesa0 libgl1-mesa-dri", "osmesa": "libosmesa6"}

CACHE_FILE = "render-backend.json"
PROBE_TIMEOUT = 120.0  # seconds; llvmpipe compiling shaders on a busy machine can be slow

# The probe: render a red sphere offscreen with the requested window class, save a PNG, print the class used.
_PROBE = """
import sys
from vtkmodules.vtkFiltersSources import vtkSphereSource
from vtkmodules.vtkIOImage import vtkPNGWriter
from vtkmodules.vtkRenderingCore import (
    vtkActor, vtkPolyDataMapper, vtkRenderer, vtkRenderWindow, vtkWindowToImageFilter,
)
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL factories)

sphere = vtkSphereSource()
mapper = vtkPolyDataMapper()
mapper.SetInputConnection(sphere.GetOutputPort())
actor = vtkActor()
actor.SetMapper(mapper)
actor.GetProperty().SetColor(1.0, 0.0, 0.0)
renderer = vtkRenderer()
renderer.AddActor(actor)
renderer.SetBackground(1.0, 1.0, 1.0)
window = vtkRenderWindow()
window.SetOffScreenRendering(1)
window.SetSize(32, 32)
window.AddRenderer(renderer)
window.Render()
grab = vtkWindowToImageFilter()
grab.SetInput(window)
grab.Update()
writer = vtkPNGWriter()
writer.SetFileName(sys.argv[1])
writer.SetInputConnection(grab.GetOutputPort())
writer.Write()
red = grab.GetOutput().GetPointData().GetScalars().GetTuple(16 * 32 + 16)
print(window.GetClassName(), int(red[0]), int(red[1]), int(red[2]))
"""


class RenderingError(BedflowError):
    """No offscreen OpenGL works on this machine (the message names the packages to install)."""


_chosen: str | None = None  # the window class this process settled on


def default_data_dir() -> Path:
    """The bedflow data folder (``BEDFLOW_DATA_DIR``, default ``./data``)."""
    from pipeline.settings import Settings

    return Settings.from_env().data_dir


def configure(data_dir: Path | None = None) -> str:
    """Choose the OpenGL render window for VTK and return its class name.

    Call before the first render (ideally before ``pyvista``/``vtk`` are imported).
    A ``VTK_DEFAULT_OPENGL_WINDOW`` already set by the user is kept as it is;
    otherwise EGL, then OSMesa, is probed in a child process, the first that
    renders wins, and the verdict is cached in ``<data_dir>/cache/render-backend.json``.
    Cheap when called again. Raises :class:`RenderingError` when nothing works.
    """
    global _chosen
    if _chosen is not None and os.environ.get(WINDOW_VARIABLE) == _chosen:
        return _chosen
    cache = Path(data_dir if data_dir is not None else default_data_dir()) / "cache"
    _keep_caches_in(cache)
    chosen = os.environ.get(WINDOW_VARIABLE) or _cached(cache / CACHE_FILE) or _probe_all(cache / CACHE_FILE)
    os.environ[WINDOW_VARIABLE] = chosen
    _chosen = chosen
    return chosen


def is_offscreen(window: str) -> bool:
    """Whether a render window class renders offscreen only (EGL, OSMesa)."""
    return window in CANDIDATES.values()


def _keep_caches_in(cache: Path) -> None:
    """Point Matplotlib's, Mesa's and the XDG cache folders under ``cache`` (only those unset)."""
    folders = {"MPLCONFIGDIR": "matplotlib", "MESA_SHADER_CACHE_DIR": "mesa-shaders", "XDG_CACHE_HOME": "xdg"}
    if os.environ.get("MESA_GLSL_CACHE_DIR"):  # the older Mesa spelling, already chosen by the user
        folders.pop("MESA_SHADER_CACHE_DIR")
    for variable, name in folders.items():
        if not os.environ.get(variable):
            folder = cache / name
            folder.mkdir(parents=True, exist_ok=True)
            os.environ[variable] = str(folder)


def _fingerprint() -> dict[str, str]:
    """What a cached verdict depends on: the interpreter and the VTK wheel."""
    try:
        vtk_version = metadata.version("vtk")
    except metadata.PackageNotFoundError:
        vtk_version = "missing"
    return {"python": sys.executable, "vtk": vtk_version}


def _cached(path: Path) -> str | None:
    """The window class recorded in ``path`` for this interpreter and VTK, if any."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or any(record.get(k) != v for k, v in _fingerprint().items()):
        return None
    window = record.get("window")
    return window if window in CANDIDATES.values() else None


def probe(window: str, timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    """Render a tiny scene with ``window`` in a child Python: ``(works, diagnostic)``.

    It works when the child exits cleanly, used that window class, and drew the
    red sphere into its PNG. A segfault (negative return code) only ends the child.
    """
    with tempfile.TemporaryDirectory(prefix="bedflow-probe-") as folder:
        png = Path(folder) / "probe.png"
        env = {**os.environ, WINDOW_VARIABLE: window}
        try:
            done = subprocess.run([sys.executable, "-c", _PROBE, str(png)], env=env, capture_output=True,
                                  text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return False, f"no answer within {timeout:g} s"
        lines = done.stdout.split()
        if done.returncode != 0:
            how = f"killed by signal {-done.returncode}" if done.returncode < 0 else f"exit code {done.returncode}"
            return False, f"{how}: {done.stderr.strip()[-400:]}"
        if len(lines) != 4 or lines[0] != window:
            return False, f"used {lines[0] if lines else 'no window'} instead of {window}"
        if not png.is_file() or png.stat().st_size == 0:
            return False, "wrote no picture"
        red, green, blue = (int(v) for v in lines[1:])
        if red < 128 or green > 100 or blue > 100:  # the sphere is red, the background white
            return False, f"drew no sphere (centre pixel {red} {green} {blue})"
        return True, "ok"


def _probe_all(path: Path) -> str:
    """Probe the candidates in order; record and return the first that works, or raise."""
    failures = []
    for name, window in CANDIDATES.items():
        started = time.perf_counter()
        works, diagnostic = probe(window)
        if works:
            record = {**_fingerprint(), "window": window, "backend": name,
                      "seconds": round(time.perf_counter() - started, 3), "checked": time.strftime("%Y-%m-%dT%H:%M:%S")}
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(record, indent=2))
            tmp.replace(path)
            return window
        failures.append(f"  {name} ({window}): {diagnostic}")
    raise RenderingError(
        "no offscreen OpenGL works here, so VTK cannot render:\n" + "\n".join(failures) + "\n"
        f"install EGL (apt-get install {DEBIAN_PACKAGES['egl']}) or OSMesa (apt-get install "
        f"{DEBIAN_PACKAGES['osmesa']}), or set {WINDOW_VARIABLE} to a render window class that works"
    )
