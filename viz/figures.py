"""Figures of runs and packings written as files: what `bedflow render`, the demo and reports draw.

3D pictures come from :mod:`viz.scene`, plots from :mod:`viz.plots`; the files of a
recorded run are fetched from the store when this machine does not have them
(:func:`pipeline.runs.run_folder`). Rendered files can be recorded as the
run's ``png``/``html`` artifacts, so the dashboard and reports find them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.packing import Packing
from pipeline.folder import RunFolder

if TYPE_CHECKING:
    from pipeline.runs import Services

WHATS = ("packing", "mesh", "fields", "plots")


def _check(what: Iterable[str]) -> list[str]:
    chosen = list(what)
    unknown = [w for w in chosen if w not in WHATS]
    if unknown:
        raise ValueError(f"cannot render {', '.join(unknown)}; choose from {', '.join(WHATS)}")
    return chosen


def packing_figures(packing: Packing, out: Path, size: Sequence[int] = (1200, 1200),
                    html: bool = False) -> dict[str, Path]:
    """The packing in 3D (cut away, coloured by height; another by local porosity) and its porosity profiles."""
    from . import plots, scene

    files = {}
    for name, colour in (("packing", "height"), ("packing-porosity", "local_porosity")):
        plotter = scene.packing_scene(packing, color_by=colour, cutaway=True, window_size=size)
        files[name] = scene.to_png(plotter, out / f"{name}.png")
        plotter.close()
    if html:  # lighter tessellation for the browser
        plotter = scene.packing_scene(packing, window_size=size, point_budget=scene.INTERACTIVE_POINT_BUDGET)
        files["packing-3d"] = scene.to_html(plotter, out / "packing.html")
        plotter.close()
    files["porosity-profiles"] = plots.save(plots.porosity_profiles(packing), out / "porosity-profiles.png")
    return files


def case_figures(case_dir: Path, out: Path, what: Sequence[str], size: Sequence[int] = (1200, 1200),
                 html: bool = False) -> dict[str, Path]:
    """The mesh (clipped, patches coloured) and the velocity and pressure fields of an OpenFOAM case."""
    from . import scene

    pictures = []
    if "mesh" in what and (case_dir / "constant" / "polyMesh").is_dir():
        pictures.append(("mesh", lambda: scene.mesh_scene(case_dir, window_size=size)))
    if "fields" in what and _solved(case_dir):
        pictures.append(("velocity", lambda: scene.fields_scene(case_dir, "U", window_size=size)))
        pictures.append(("pressure-field", lambda: scene.fields_scene(case_dir, "p", streamlines=False,
                                                                      window_size=size)))
    files = {}
    for name, draw in pictures:
        plotter = draw()
        files[name] = scene.to_png(plotter, out / f"{name}.png")
        if html and name in ("mesh", "velocity"):
            files[f"{name}-3d"] = scene.to_html(plotter, out / f"{name}.html")
        plotter.close()
    return files


def result_plots(case_dir: Path, out: Path, html: bool = False) -> dict[str, Path]:
    """The run's plots: solver residuals, pressure along the bed, and the validation (friction-factor) chart."""
    from . import plots

    files = {}
    where = RunFolder(Path(case_dir).parent)
    result = where.result()
    charts = []
    if where.solver_log.is_file():
        charts.append(("residuals", plots.residuals_plot(where.solver_log)))
    if result is not None:
        charts.append(("pressure-profile", plots.pressure_profile_plot(result)))
        charts.append(("validation", plots.friction_chart([result])))
    for name, chart in charts:
        files[name] = plots.save(chart, out / f"{name}.png")
        if html:
            files[f"{name}-interactive"] = plots.save(chart, out / f"{name}.html")
    return files


def _solved(case_dir: Path) -> bool:
    from pipeline.results.profiles import ResultsError

    from . import scene

    try:
        scene.solved_time(case_dir)
        return True
    except ResultsError:
        return False


def render_packing_file(path: str | Path, out: str | Path | None = None, size: Sequence[int] = (1200, 1200),
                        html: bool = False) -> dict[str, Path]:
    """Pictures of a saved packing (``packing.npz``) next to it, or in ``out``."""
    source = Path(path)
    return packing_figures(Packing.load(source), Path(out) if out else source.parent / "figures", size, html)


def render_run(run_id: int, what: Iterable[str] = WHATS, out: str | Path | None = None,
               size: Sequence[int] = (1200, 1200), html: bool = False, record: bool = True,
               services: "Services | None" = None) -> dict[str, Path]:
    """Pictures of a recorded run (default folder ``<data>/figures/run-<id>``), recorded as its artifacts.

    ``what``: any of ``packing``, ``mesh``, ``fields``, ``plots``. Returns name → file.
    """
    from pipeline.db.records import add_artifacts, upload
    from pipeline.runs import open_services, run_folder

    chosen = _check(what)
    found = services or open_services()
    folder = run_folder(run_id, services=found)
    target = Path(out) if out else found.settings.data_dir / "figures" / f"run-{run_id}"
    files: dict[str, Path] = {}
    if "packing" in chosen:
        files.update(packing_figures(folder.packing(), target, size, html))
    files.update(case_figures(folder.case, target, chosen, size, html))
    if "plots" in chosen:
        files.update(result_plots(folder.case, target, html))
    if record and files:
        uploads = [upload(found.store, "html" if p.suffix == ".html" else "png", p) for p in files.values()]
        with found.db.session() as session:
            add_artifacts(session, "simulation", run_id, uploads)
    return files
