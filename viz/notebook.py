"""The one call at the top of every research notebook: :func:`setup`.

A notebook's first code cell is its ``parameters`` cell (papermill's convention: tagged ``parameters``, plain
assignments that ``papermill -p NAME VALUE`` overrides); its second calls ``setup`` with the notebook's name and
its ``SMALL`` parameter, and uses what it returns::

    nb = viz.notebook.setup("01_quickstart", small=SMALL)
    nb.show_scene(viz.scene.packing_scene(packing), "packing")

Nothing here computes science: it loads the HoloViews/Bokeh extension, reads the settings from the environment
(``BEDFLOW_DATA_DIR``, ``DATABASE_URL``, ``BEDFLOW_STORE``, ...) and gives the notebook a folder of its own in the
data folder for rendered pictures (never in git).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.settings import Settings

if TYPE_CHECKING:
    import pyvista as pv


@dataclass(frozen=True)
class Notebook:
    """What a notebook needs besides :mod:`pipeline`: its name and size, the settings, a folder of its own."""

    name: str
    small: bool
    settings: Settings

    @property
    def folder(self) -> Path:
        """``<data>/notebooks/<name>/``: the notebook's rendered pictures and study folders (created on first use)."""
        folder = self.settings.data_dir / "notebooks" / self.name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def show_scene(self, plotter: "pv.Plotter", name: str, width: int = 600) -> Path:
        """Render a PyVista scene offscreen to ``<folder>/<name>.png`` and show it inline (no trame server);
        returns the PNG's path."""
        from IPython.display import Image, display

        from . import scene

        path = scene.to_png(plotter, self.folder / f"{name}.png")
        display(Image(filename=str(path), width=width))
        return path


def setup(name: str, *, small: bool = False, settings: Settings | None = None, quiet: bool = False) -> Notebook:
    """Prepare a notebook's kernel: the HoloViews extension (Bokeh), the settings (from the environment unless
    given), and one line saying which Python, size and data folder it runs with.

    ``small``: the quick sizes the tests run (coarse meshes, few iterations: numbers not converged).
    """
    if not name or any(part in ("", ".", "..") for part in Path(name).parts) or len(Path(name).parts) != 1:
        raise ValueError(f"a notebook's name is one plain folder name, not {name!r}")
    import holoviews as hv

    hv.extension("bokeh")
    notebook = Notebook(name=name, small=bool(small), settings=settings or Settings.from_env())
    if not quiet:
        print(f"{name}: python {sys.executable} | SMALL: {notebook.small} | data: {notebook.settings.data_dir}")
    return notebook
