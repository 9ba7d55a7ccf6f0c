"""Pieces the runs, run and compare pages share: reading runs off the event loop, caches shared by all
sessions, 3D scenes serialized once, downloads, and the tables the pages show.

Everything that touches the database, the store, the disk or VTK runs in a thread (``await
asyncio.to_thread(...)``, or the one VTK thread for scenes); the pages only put the results on screen.
What is expensive and read-only (packings, serialized 3D scenes, residual histories of finished runs,
porosity plots) is made once per process and shared by every session (:class:`SharedCache`); keys
carry the :class:`~pipeline.settings.Settings`, so two run databases never mix.

The numbers come from :mod:`pipeline` and the pictures from :mod:`viz`; nothing here computes science.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import html
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import panel as pn
import param
from panel.pane.vtk.vtk import VTKRenderWindow

from pipeline.db import Artifact, Simulation
from pipeline.errors import BedflowError
from pipeline.results.extract import RunResult
from pipeline.openfoam import MeshQuality
from pipeline.results.presentation import ValueRow, correlation_rows, mesh_rows, result_rows
from pipeline.folder import RunFolder
from pipeline.runs import Services, fetch_artifacts, recorded_folder, run_residuals
from pipeline.runs.catalog import SweepInfo, list_sweeps, run_listing, run_rows
from pipeline.runs import run_folder as fetched_run_folder

if TYPE_CHECKING:
    import pandas as pd

    from pipeline.packing import Packing

#: How often pages look at the database while something may change (milliseconds).
POLL_MS = 1500
#: Completed stages, in order: what a run has made so far.
STAGE_ORDER = ("", "pack", "mesh", "solve", "postprocess")


def stage_done(run: Simulation, stage: str) -> bool:
    """Whether ``run`` has completed ``stage`` (or a later one)."""
    return STAGE_ORDER.index(run.completed_stage or "") >= STAGE_ORDER.index(stage)


# -- errors and notifications -----------------------------------------------------------------------------


def describe(error: BaseException) -> str:
    return str(error) or type(error).__name__


class ErrorOnce:
    """Reports an error of a periodic task once (not every tick) until the task succeeds again."""

    def __init__(self, report: Callable[[str], None]) -> None:
        self.report = report
        self.last: str | None = None

    def __call__(self, error: BaseException) -> None:
        text = describe(error)
        if text != self.last:
            self.last = text
            self.report(text)

    def clear(self) -> None:
        self.last = None


# -- shared caches ---------------------------------------------------------------------------------------

#: The one thread that builds and serializes VTK scenes: OpenGL contexts stay on one thread, VTK is not
#: thread-safe, and one scene at a time keeps a busy server responsive.
VTK_EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="bedflow-vtk")
#: Threads for shared (cached) reads: packings, stored logs, plots, and fetching what a scene needs (such a
#: thread then waits for the VTK thread; nothing in the VTK thread waits for these).
IO_EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="bedflow-io")


class SharedCache:
    """A process-wide LRU of values made in a thread, each made once however many sessions ask at once.

    :meth:`get` returns a :class:`concurrent.futures.Future` (await it with :func:`asyncio.wrap_future`);
    a failed making is forgotten, so the next ask tries again.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, concurrent.futures.Future[Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any],
            executor: concurrent.futures.Executor = IO_EXECUTOR) -> concurrent.futures.Future[Any]:
        with self._lock:
            future = self._items.get(key)
            if future is not None and not (future.done() and future.exception() is not None):
                self._items.move_to_end(key)
                return future
            future = executor.submit(make)
            self._items[key] = future
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        future.add_done_callback(lambda done: self._forget_failure(key, done))
        return future

    def _forget_failure(self, key: Hashable, future: concurrent.futures.Future[Any]) -> None:
        if future.exception() is not None:
            with self._lock:
                if self._items.get(key) is future:
                    del self._items[key]

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


async def shared(cache: SharedCache, key: Hashable, make: Callable[[], Any],
                 executor: concurrent.futures.Executor = IO_EXECUTOR) -> Any:
    """The cached value of ``key``, made in ``executor`` if nobody made it yet."""
    return await asyncio.wrap_future(cache.get(key, make, executor))


PACKINGS = SharedCache(32)
SCENES = SharedCache(8)
RESIDUALS = SharedCache(64)
POROSITY_PLOTS = SharedCache(32)

_FOLDER_LOCKS: dict[tuple[Any, int], threading.Lock] = {}
_FOLDER_LOCKS_GUARD = threading.Lock()


def _folder_lock(services: Services, run_id: int) -> threading.Lock:
    with _FOLDER_LOCKS_GUARD:
        return _FOLDER_LOCKS.setdefault((services.settings, run_id), threading.Lock())


def run_folder(services: Services, run_id: int) -> RunFolder:
    """:func:`pipeline.runs.run_folder`, one fetch at a time per run (blocking: call in a thread)."""
    with _folder_lock(services, run_id):
        return fetched_run_folder(run_id, services=services)


def packing_file(services: Services, run_id: int) -> Path:
    """The run's packing file on this machine; only the packing is fetched when it is missing (blocking)."""
    from pipeline.runs import get_run

    local = recorded_folder(get_run(run_id, services=services), services).packing_file
    if not local.is_file():
        with _folder_lock(services, run_id):
            if not local.is_file():
                fetch_artifacts(run_id, "packing", local.parent, services=services)
    if not local.is_file():
        return run_folder(services, run_id).packing_file
    return local


async def packing_of(services: Services, run_id: int, packing_id: int | None = None) -> "Packing":
    """The run's packing (shared; the same packing of several runs is loaded once)."""
    from pipeline.packing import Packing

    key = ("packing", services.settings, packing_id) if packing_id is not None else \
        ("packing-of-run", services.settings, run_id)
    return await shared(PACKINGS, key, lambda: Packing.load(packing_file(services, run_id)))


async def porosity_plot(services: Services, run_id: int, packing_id: int | None) -> Any:
    """:func:`viz.plots.porosity_profiles` of a run's packing (shared)."""
    from viz.plots import porosity_profiles

    packing = await packing_of(services, run_id, packing_id)
    key = ("porosity", services.settings, packing_id if packing_id is not None else f"run-{run_id}")
    return await shared(POROSITY_PLOTS, key, lambda: porosity_profiles(packing))


# -- reading runs (blocking: call in a thread) ----------------------------------------------------------------

#: The columns of the runs table: DataFrame column → header.
RUN_TABLE_COLUMNS = {
    "bed": "Bed", "status": "Status", "stage": "Stage", "progress": "Progress", "re_p": "Reₚ",
    "aspect_ratio": "D/d", "cells": "Cells", "dp_dz": "Δp/L (Pa/m)", "ratio_ergun": "CFD / Ergun",
    "created": "Created (UTC)", "created_by": "By", "sweep": "Sweep",
}
NO_SWEEP = "none (single runs)"


def _sweep_label(sweep_id: int | None, sweeps: dict[int, SweepInfo]) -> str:
    if sweep_id is None:
        return NO_SWEEP
    found = sweeps.get(sweep_id)
    name, parameter = (found.name, found.parameter) if found else ("", "")
    return f"#{sweep_id} {name}".strip() + (f" ({parameter})" if parameter and parameter not in name else "")


def _created(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def runs_table(services: Services, *, status: list[str] | None = None, bed: str | None = None,
               sweep: int | None = None, limit: int = 500) -> tuple["pd.DataFrame", list[str], dict[int, str]]:
    """The runs table (index: run id, newest first; columns :data:`RUN_TABLE_COLUMNS`), the bed names and
    the sweeps (id → label). Reads only the columns shown: cheap enough to repeat every second."""
    import pandas as pd

    listing = run_listing(status=status or None, bed=bed or None, sweep=sweep or None, limit=limit,
                          services=services)
    rows, sweeps = listing.rows, {s.id: s for s in listing.sweeps}
    records = [{
        "id": r.id, "bed": r.bed, "status": r.status.value, "stage": r.stage,
        "progress": round(100.0 * r.progress, 1), "re_p": r.re_p, "aspect_ratio": r.aspect_ratio,
        "cells": _nan(r.cells), "dp_dz": _nan(r.dp_dz), "ratio_ergun": _nan(r.ratio_ergun),
        "created": _created(r.created_at), "created_by": r.created_by,
        # escaped: Tabulator draws the group headers (the runs page groups by sweep) as HTML
        "sweep": html.escape(_sweep_label(r.sweep_id, sweeps)),
    } for r in rows]
    frame = pd.DataFrame(records, columns=["id", *RUN_TABLE_COLUMNS]).set_index("id")
    for name in ("progress", "re_p", "aspect_ratio", "cells", "dp_dz", "ratio_ergun"):
        frame[name] = frame[name].astype(float)
    for name in ("bed", "status", "stage", "created", "created_by", "sweep"):
        frame[name] = frame[name].astype(object)
    sweep_labels = {i: _sweep_label(i, sweeps) for i in sorted(sweeps, reverse=True)}
    return frame, listing.beds, sweep_labels


def succeeded_runs(services: Services, limit: int = 1000) -> dict[str, int]:
    """Succeeded runs with results, for pickers: label → id, newest first."""
    rows = run_rows(status="succeeded", solved=True, limit=limit, services=services)
    # escaped: Bokeh's MultiChoice draws its labels with Choices.js as HTML (allowHTML)
    return {html.escape(f"#{r.id} {r.bed}: Reₚ {r.re_p:.3g}, D/d {r.aspect_ratio:.3g}, {r.resolution}/d"): r.id
            for r in rows}


def sweep_choices(services: Services) -> dict[str, int]:
    """Sweeps for pickers: label → id, newest first."""
    return {_sweep_label(s.id, {s.id: s}): s.id for s in list_sweeps(services=services)}


def result_of(run: Simulation) -> RunResult | None:
    """The run's :class:`RunResult` (from its row), or ``None`` before its postprocess stage."""
    return RunResult.from_dict(run.results) if run.results else None


def correlation_table(result: RunResult) -> "pd.DataFrame":
    """The CFD Δp/L against each correlation, for the geometry solved (as meshed) and the nominal one:
    the correlations' Δp/L and the ratios CFD / correlation, as the run recorded them."""
    import pandas as pd

    rows = [{"Correlation": "CFD (this run)", "Δp/L as meshed (Pa/m)": result.dp_dz,
             "CFD / correlation, as meshed": float("nan"), "Δp/L nominal (Pa/m)": result.dp_dz,
             "CFD / correlation, nominal": float("nan")}]
    rows += [{"Correlation": row.label, "Δp/L as meshed (Pa/m)": row.meshed, "CFD / correlation, as meshed":
              row.ratio_meshed, "Δp/L nominal (Pa/m)": row.nominal, "CFD / correlation, nominal": row.ratio_nominal}
             for row in correlation_rows(result)]
    return pd.DataFrame(rows).set_index("Correlation")


def rows_frame(quantities: Iterable[ValueRow]) -> "pd.DataFrame":
    """Quantities (:mod:`pipeline.results.presentation`) as a two-column table: label, value with unit."""
    import pandas as pd

    rows = [(q.label, q.text) for q in quantities]
    return pd.DataFrame(rows, columns=["ValueRow", "Value"]).set_index("ValueRow")


def result_summary(result: RunResult) -> "pd.DataFrame":
    """The headline numbers of a result, one per row."""
    return rows_frame(result_rows(result))


def compare_table(runs: Iterable[Simulation]) -> "pd.DataFrame":
    """One row per run: what the compare page lists."""
    import pandas as pd

    rows = []
    for run in runs:
        result = result_of(run)
        rows.append({
            "Run": run.id, "Bed": run.bed.name if run.bed is not None else "", "Reₚ": run.re_p,
            "D/d": run.aspect_ratio, "Cells/d": run.resolution, "Cells": run.cells, "Porosity": run.porosity,
            "Δp/L (Pa/m)": run.dp_dz, "CFD / Ergun": run.ratio_ergun,
            "CFD / Eisfeld–Schnitzlein": run.ratio_eisfeld_schnitzlein,
            "CFD / KTA": result.as_meshed.ratios.get("kta") if result else None,
            "Iterations": run.iterations, "Converged": run.converged,
        })
    return pd.DataFrame(rows).set_index("Run") if rows else pd.DataFrame(columns=["Run"]).set_index("Run")


def residual_history(services: Services, run: Simulation) -> dict[str, list[tuple[int, float]]] | None:
    """:func:`pipeline.runs.run_residuals` (blocking)."""
    return run_residuals(run, services=services)


async def finished_residuals(services: Services, run: Simulation) -> dict[str, list[tuple[int, float]]] | None:
    """:func:`residual_history` of a finished run, shared by sessions."""
    return await shared(RESIDUALS, ("residuals", services.settings, run.id), lambda: residual_history(services, run))


# -- 3D scenes -------------------------------------------------------------------------------------------------

#: The 3D tabs: kind → (tab title, stage the run must have completed).
SCENE_KINDS = {"packing": ("Packing", "pack"), "mesh": ("Mesh", "mesh"), "velocity": ("Velocity", "solve"),
               "pressure": ("Pressure", "solve")}


@dataclass(frozen=True)
class SceneData:
    """A scene serialized for vtk.js once (in the VTK thread), shown by any number of :class:`SceneView`\\ s."""

    render_window: Any  # the (closed) vtkRenderWindow it came from
    scene: dict[str, Any]
    arrays: dict[str, Any]
    annotations: Any
    colorbars: tuple[tuple[str, float, float, tuple[str, ...]], ...]

    @property
    def size(self) -> int:
        """Bytes of data arrays sent to each browser."""
        return sum(len(v) for v in self.arrays.values())

    @classmethod
    def capture(cls, plotter: Any) -> "SceneData":
        """Serialize ``plotter``'s render window (in the thread that built it), then free its OpenGL context."""
        pane = pn.pane.VTK(plotter.ren_win, serialize_on_instantiation=True)
        bars = tuple((str(m.name), float(m.low), float(m.high), tuple(m.palette)) for m in pane.color_mappers)
        data = cls(plotter.ren_win, pane._scene, pane._arrays, pane._annotations, bars)
        plotter.close()
        return data


#: A serialized scene larger than this is not sent to browsers: Bokeh's websocket drops messages over 20 MB
#: (and the session with them). A packing is first retried with coarser particles (:data:`COARSER`).
MAX_SCENE_BYTES = 15_000_000
#: Particle tessellations tried, in order, for a packing scene (``None``: what the point budget gives).
COARSER = (None, 6, 4)


class SceneTooLarge(BedflowError):
    """A scene too large to send to a browser."""


def build_scene(services: Services, run_id: int, kind: str) -> SceneData:
    """Build and serialize one 3D scene of a run (blocking; runs in :data:`VTK_EXECUTOR`).

    Packings use :data:`viz.scene.INTERACTIVE_POINT_BUDGET`, and coarser particles when even that is more
    than :data:`MAX_SCENE_BYTES` (thousands of particles); other scenes over the limit raise
    :class:`SceneTooLarge` (their files are still downloadable).
    """
    from pipeline.packing import Packing
    from viz import scene

    size = (800, 800)
    if kind == "packing":
        packing = Packing.load(packing_file(services, run_id))
        for resolution in COARSER:
            data = SceneData.capture(scene.packing_scene(packing, point_budget=scene.INTERACTIVE_POINT_BUDGET,
                                                         resolution=resolution, window_size=size))
            if data.size <= MAX_SCENE_BYTES:
                return data
    else:
        case = run_folder(services, run_id).case
        if kind == "mesh":
            data = SceneData.capture(scene.mesh_scene(case, window_size=size))
        elif kind in ("velocity", "pressure"):
            data = SceneData.capture(scene.fields_scene(case, field="U" if kind == "velocity" else "p",
                                                        window_size=size))
        else:
            raise ValueError(f"unknown scene {kind!r}; scenes: {', '.join(SCENE_KINDS)}")
        if data.size <= MAX_SCENE_BYTES:
            return data
    raise SceneTooLarge(f"the {kind} view of run {run_id} is {data.size / 1e6:.0f} MB, more than a browser "
                        f"session takes ({MAX_SCENE_BYTES / 1e6:.0f} MB); download its files instead")


def _fetch_and_build(services: Services, run_id: int, kind: str) -> SceneData:
    """Fetch what the scene needs (here, in an I/O thread), then build it in the VTK thread."""
    if kind == "packing":
        packing_file(services, run_id)
    else:
        run_folder(services, run_id)
    return VTK_EXECUTOR.submit(build_scene, services, run_id, kind).result()


async def scene_data(services: Services, run_id: int, kind: str) -> SceneData:
    """The serialized scene (shared by sessions; built once, off the event loop)."""
    return await shared(SCENES, ("scene", services.settings, run_id, kind),
                        lambda: _fetch_and_build(services, run_id, kind))


class SceneView(VTKRenderWindow):
    """The dashboard's one VTK pane: shows a :class:`SceneData` serialised beforehand in the VTK thread, so no
    VTK work runs on the event loop and sessions share one copy; the browser renders it (vtk.js), so rotating a
    5 000-sphere bed stays interactive.

    A displayed pane :meth:`show` s another scene in place. Pages keep their pane and update it rather than
    replace it: Panel 1.9's VTK view fails in the browser when it is removed from a page
    (``VTKSynchronizedPlotView.remove`` deletes its render window, then ``AbstractVTKView.remove`` reads it),
    which would leave the old scene on screen.
    """

    def __init__(self, data: SceneData | None = None, **params: Any) -> None:
        self._data = data
        params["serialize_on_instantiation"] = True
        super().__init__(data.render_window if data is not None else None, **params)

    @property
    def scene(self) -> dict[str, Any] | None:
        """The serialised scene sent to browsers (``None`` before the first)."""
        return self._data.scene if self._data is not None else None

    def show(self, data: SceneData) -> None:
        """Show ``data`` in this (possibly displayed) pane; nothing is serialised here."""
        self._data = data
        self._update(None, None)  # what a model made from now on gets
        with param.parameterized.discard_events(self):
            self.object = data.render_window
        self.color_mappers = self.get_color_mappers()
        self.param.trigger("object")  # Panel calls _update with each displayed model (under the document lock)

    def get_color_mappers(self, infer: bool = False) -> list[Any]:
        from bokeh.models import LinearColorMapper

        bars = self._data.colorbars if self._data is not None else ()
        return [LinearColorMapper(low=low, high=high, name=name, palette=list(palette))
                for name, low, high, palette in bars]

    def _update(self, ref: str | None, model: Any) -> None:
        data = self._data
        if data is None:
            return
        self._scene, self._arrays, self._annotations = data.scene, data.arrays, data.annotations
        if model is not None:  # camera={}: the new scene's own camera, not the one of the scene shown before
            model.update(rebuild=True, arrays=data.arrays, scene=data.scene, annotations=data.annotations,
                         camera={})


# -- downloads -------------------------------------------------------------------------------------------------


def human_size(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.3g} {unit}"
        size /= 1000.0
    return f"{size} B"


def download_widget(artifact: Artifact) -> pn.viewable.Viewable:
    """A download link of one artifact (CSS class ``bf-download-<kind>``, file name = artifact name): the server's
    streaming route (:mod:`app.downloads`), which sends the file from the store in chunks, or redirects to a
    presigned link of an S3 store."""
    from app.downloads import artifact_path

    label = f"{artifact.name} ({human_size(artifact.size)})"
    link = (f'<a href="{artifact_path(artifact.id)}" download="{html.escape(artifact.name)}" '
            f'rel="noopener">⬇ {html.escape(label)}</a>')
    return pn.pane.HTML(link, css_classes=[f"bf-download-{artifact.kind}", "bf-download"], width=280, margin=(4, 6))


# -- small views ----------------------------------------------------------------------------------------------


def status_html(run: Simulation) -> str:
    """The status line of a run: id, status, stage, progress, message, and the error of a failed run."""
    status = run.status.value
    colour = {"queued": "#8C8C8C", "running": "#0072B2", "succeeded": "#009E73", "failed": "#D55E00",
              "cancelled": "#CC79A7"}[status]
    bed = run.bed.name if run.bed is not None else ""
    parts = [f"<b>Run {run.id}</b> {html.escape(bed)}",
             f'<span class="bf-status-value" style="color:{colour};font-weight:bold">{status}</span>']
    if run.stage:
        parts.append(f"stage <b>{html.escape(run.stage)}</b>")
    if run.job and status == "running":  # a heavy stage running as a batch job (its message: pending or where)
        parts.append(f'<span class="bf-run-job">{html.escape(run.job.replace("slurm:", "Slurm job "))}</span>')
    parts.append(f"{100.0 * (run.progress or 0.0):.0f} %")
    if run.message and run.message != status:
        parts.append(html.escape(run.message[:300]))
    text = " · ".join(parts)
    if run.error:
        text += f'<pre class="bf-run-error" style="white-space:pre-wrap;max-height:18em;overflow:auto">' \
                f"{html.escape(run.error)}</pre>"
    return status_box(text, status)


def status_box(text: str, status: str = "") -> str:
    """The status area's HTML: its element has the class ``bf-run-status`` (inside the pane, so that a browser
    test reading the element's text gets it: a pane's own element keeps its content in a shadow root)."""
    return f'<div class="bf-run-status" data-status="{status}">{text}</div>'


class PlotSlot:
    """A box that shows one HoloViews object, or nothing.

    Every :meth:`show` puts a *new* pane into the box (or empties it): the browser receives one change of the
    box's children, a new Bokeh figure; the box itself is always there (nothing toggles ``visible``). Pages
    call it from work started with :func:`soon`, so the change reaches the browser. ``css_class`` goes on the
    pane (its canvas is inside).
    """

    def __init__(self, css_class: str, **params: Any) -> None:
        self.css_class, self.params = css_class, params
        self.pane: pn.pane.HoloViews | None = None
        # sizing_mode None: the plot keeps the size viz.plots gives it (not the app's stretch_width)
        self.box = pn.Column(margin=0, sizing_mode=None, css_classes=[f"{css_class}-slot"])

    @property
    def object(self) -> Any:
        return None if self.pane is None else self.pane.object

    @property
    def visible(self) -> bool:
        return self.pane is not None

    def show(self, obj: Any) -> None:
        """Draw ``obj`` (a HoloViews object) in a new pane, or empty the box for ``None``."""
        self.pane = None if obj is None else pn.pane.HoloViews(
            obj, css_classes=[self.css_class], linked_axes=False, sizing_mode=None, **self.params)
        self.box.objects = [] if self.pane is None else [self.pane]


def soon(callback: Callable[[], Any]) -> None:
    """Run ``callback`` (a function or a coroutine function) on the session's event loop once the browser
    has loaded the page; at once (a coroutine: scheduled) when it has.

    Every page starts its work through this, never through ``pn.state.execute`` directly: Panel 1.9.4 drops
    the model changes a session makes after the browser has pulled the document but before the browser's load
    event reaches the server (``panel.io.document._drain_unconnected_events`` assumes the document is still to
    be sent whole). A chart drawn in that window never reaches the page; ``pn.state.onload`` runs after it.
    """
    pn.state.onload(callback)


class Text(pn.pane.HTML):
    """A pane that shows its object as plain text: every character escaped, line breaks kept.

    Whatever can hold a user's string (bed, sweep and user names, messages, errors) is shown through this (or
    escaped with :func:`html.escape` into HTML the page builds), never through a Markdown or HTML pane's markup:
    a bed named ``<img src=x onerror=...>`` must show as those characters."""

    def __init__(self, object: Any = "", **params: Any) -> None:  # noqa: A002 - Panel's name for a pane's content
        params["styles"] = {"white-space": "pre-line", **params.get("styles", {})}
        super().__init__(object, **params)

    def _transform_object(self, obj: Any) -> dict[str, Any]:
        return super()._transform_object(html.escape("" if obj is None else str(obj)))


def placeholder(text: str = "", **params: Any) -> Text:
    """A grey line of text (a note, or where something will be shown)."""
    return Text(text, styles={"color": "#666", **params.pop("styles", {})}, **params)


def timings_table(timings: dict[str, float]) -> "pd.DataFrame":
    import pandas as pd

    rows = [(stage, float(seconds)) for stage, seconds in (timings or {}).items()]
    if rows:
        rows.append(("total", sum(s for _, s in rows)))
    return pd.DataFrame(rows, columns=["Stage", "Seconds"]).set_index("Stage")


def quality_table(quality: MeshQuality, resolution: int | None = None) -> "pd.DataFrame":
    """A mesh's size, checkMesh verdict and meshing time, one per row."""
    return rows_frame(mesh_rows(quality, resolution))


__all__ = ["MAX_SCENE_BYTES", "NO_SWEEP", "POLL_MS", "RUN_TABLE_COLUMNS", "SCENE_KINDS",
           "ErrorOnce", "PlotSlot", "SceneData", "SceneTooLarge", "SceneView", "SharedCache", "Text",
           "build_scene", "compare_table", "correlation_table", "download_widget", "finished_residuals",
           "packing_of", "porosity_plot", "quality_table", "rows_frame", "residual_history", "result_of",
           "result_summary", "run_folder", "runs_table", "scene_data", "soon", "stage_done", "status_box",
           "status_html", "succeeded_runs", "sweep_choices"]
