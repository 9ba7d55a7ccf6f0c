"""The run page: one run (``session.run_id``) in detail, following it while it runs.

* a status header (``bf-run-status``: status, stage, progress, message; a failed run's error), read every
  :data:`app.components.POLL_MS` ms until the run is finished, and a cancel button (``bf-cancel-run``)
  while it is not;
* the results: headline numbers, Δp/L against the correlations for the solved (as-meshed) and the nominal
  geometry (``bf-correlations``), the validation chart (``bf-validation-chart``) and the pressure profile;
* the solver residuals (``bf-residuals``): live from the local log while the run runs here, from the
  stored ``log.simpleFoam`` once it is finished;
* 3D tabs (``bf-3d``): packing, mesh, velocity and pressure, each built off the event loop the first time
  its tab is opened (the packing at once), shared by every session looking at the same run;
* the spec (its ``.bed`` text), provenance, stage timings and mesh quality;
* a download per artifact (``bf-download-<kind>``).
"""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass
from typing import Any

import panel as pn

from app import icons
from app.components import (POLL_MS, SCENE_KINDS, ErrorOnce, PlotSlot, SceneView, soon,
                            correlation_table, describe, download_widget, finished_residuals,
                            placeholder, quality_table, residual_history, result_of, result_summary, scene_data,
                            stage_done, status_box, status_html, timings_table)
from app.session import AppSession
from pipeline import jobs
from pipeline.db import Artifact, Simulation
from pipeline.openfoam import MeshQuality
from pipeline.results.extract import RunResult
from pipeline.runs import get_run, mesh_quality, recorded_folder, run_artifacts
from pipeline.spec import BedSpec

#: Seconds between two reads of a running solver's log.
RESIDUALS_EVERY = 3.0


@dataclass
class RunView:
    """What the page shows of a run, read in a thread."""

    run: Simulation
    spec_text: str
    quality: MeshQuality | None
    artifacts: list[Artifact]
    result: RunResult | None
    chart: Any = None
    profile: Any = None
    chart_error: str = ""


def read_run(services: Any, run_id: int) -> RunView:
    """Everything the page shows of a run except residuals and 3D (blocking)."""
    from viz.plots import friction_chart, pressure_profile_plot

    run = get_run(run_id, services=services)
    try:
        spec_text = BedSpec.from_dict(run.spec).to_bed()
    except Exception as error:  # noqa: BLE001 - an old spec still shows as data
        spec_text = f"# this spec does not load in this bedflow: {describe(error)}\n{run.spec}"
    artifacts = run_artifacts(run_id, services=services)
    view = RunView(run, spec_text, mesh_quality(run, services=services), artifacts, result_of(run))
    if view.result is not None:
        try:
            view.chart = friction_chart([view.result])
            view.profile = pressure_profile_plot(view.result) if view.result.profile.get("z") else None
        except Exception as error:  # noqa: BLE001 - the numbers still show
            view.chart_error = describe(error)
    return view


def residual_plot(history: dict[str, list[tuple[int, float]]] | None, tolerance: float | None) -> Any:
    from viz.plots import residuals_plot

    if not history or not any(history.values()):
        return None
    return residuals_plot(history, tolerance=tolerance)


class RunPage(pn.viewable.Viewer):
    """One run in detail."""

    title = "run"

    def __init__(self, session: AppSession) -> None:
        super().__init__()
        self.session = session
        self.services = session.services
        self.run: Simulation | None = None
        self.view: RunView | None = None
        self.poller: Any = None
        self._token = 0
        self._polling = False
        self._report = ErrorOnce(session.error)
        self._scene_shown: dict[str, int] = {}
        self._log_seen: tuple[float, int] | None = None
        self._log_read_at = 0.0
        self._results_key: tuple[Any, ...] | None = None  # what the results section shows now

        self.status = pn.pane.HTML(status_box("Pick a run on the Runs page."), css_classes=["bf-run-status-pane"],
                                   sizing_mode="stretch_width", min_height=30)
        self.progress = pn.indicators.Progress(value=0, max=100, css_classes=["bf-run-progress"], height=12,
                                               sizing_mode="stretch_width", visible=False)
        self.cancel_button = pn.widgets.Button(label="Cancel run", icon=icons.STOP, color="danger",
                                               variant="outline", css_classes=["bf-cancel-run"], visible=False,
                                               width=130)
        self.cancel_button.on_click(self._cancel_clicked)

        self.summary = pn.pane.DataFrame(None, css_classes=["bf-result-summary"], width=420)
        self.correlations = pn.pane.DataFrame(None, css_classes=["bf-correlations"], float_format="{:.5g}".format,
                                              na_rep="", sizing_mode="stretch_width")
        self.chart = PlotSlot("bf-validation-chart")
        self.profile = PlotSlot("bf-pressure-profile")
        self.results_note = placeholder("")
        self.residuals = PlotSlot("bf-residuals")
        self.residuals_note = placeholder("")

        self.scene_holders = {kind: pn.Column(placeholder(""), css_classes=[f"bf-3d-{kind}"],
                                              sizing_mode="stretch_width", min_height=200)
                              for kind in SCENE_KINDS}
        self.scenes = pn.Tabs(*[(title, self.scene_holders[kind]) for kind, (title, _) in SCENE_KINDS.items()],
                              css_classes=["bf-3d"], sizing_mode="stretch_width", dynamic=False)
        self.scenes.param.watch(self._tab_changed, "active")

        self.spec = pn.pane.HTML("", css_classes=["bf-run-spec"], sizing_mode="stretch_width")
        self.provenance = pn.pane.JSON({}, depth=1, css_classes=["bf-run-provenance"], sizing_mode="stretch_width")
        self.timings = pn.pane.DataFrame(None, css_classes=["bf-run-timings"], float_format="{:.1f}".format,
                                         width=260)
        self.quality = pn.pane.DataFrame(None, css_classes=["bf-mesh-quality"], width=360)
        self.downloads = pn.FlexBox(css_classes=["bf-downloads"], sizing_mode="stretch_width")
        self.download_widgets: list[Any] = []

        session.param.watch(self._run_changed, "run_id")
        session.param.watch(self._page_changed, "page")
        self._layout: pn.Column | None = None

    # -- layout ----------------------------------------------------------------------------------------------
    def __panel__(self) -> pn.viewable.Viewable:
        if self._layout is None:
            def section(title: str, *objects: Any, css: str) -> pn.Column:
                return pn.Column(pn.pane.Markdown(f"### {title}", margin=(10, 10, 0, 10)), *objects,
                                 css_classes=[css], sizing_mode="stretch_width")

            self._layout = pn.Column(
                pn.Column(self.status, self.progress, self.cancel_button, css_classes=["bf-run-header"],
                          sizing_mode="stretch_width"),
                section("Results", self.results_note,
                        pn.Row(self.summary, self.correlations, sizing_mode="stretch_width"),
                        pn.FlexBox(self.chart.box, self.profile.box, sizing_mode="stretch_width"),
                        css="bf-run-results"),
                section("Solver residuals", self.residuals_note, self.residuals.box, css="bf-run-residuals"),
                section("3D", self.scenes, css="bf-run-3d"),
                section("Run", pn.Row(
                    pn.Card(self.spec, title="Spec (.bed)", sizing_mode="stretch_width"),
                    pn.Column(pn.Card(self.timings, title="Stage timings (s)", sizing_mode="stretch_width"),
                              pn.Card(self.quality, title="Mesh quality", sizing_mode="stretch_width"),
                              sizing_mode="stretch_width"),
                    pn.Card(self.provenance, title="Provenance", sizing_mode="stretch_width"),
                    sizing_mode="stretch_width"), css="bf-run-details"),
                section("Downloads", self.downloads, css="bf-run-downloads"),
                css_classes=["bf-run-page"], sizing_mode="stretch_width")
            if self.session.run_id is not None:
                soon(self.load)
        return self._layout

    # -- loading ---------------------------------------------------------------------------------------------
    def _run_changed(self, *_: Any) -> None:
        soon(self.load)

    def _page_changed(self, event: Any) -> None:
        if event.new == "run" and self.poller is not None:
            soon(self.tick)

    async def load(self, run_id: int | None = None) -> None:
        """Show ``run_id`` (default ``session.run_id``): read it in a thread, fill the page, follow it while it
        is not finished, and build the open 3D tab."""
        run_id = self.session.run_id if run_id is None else run_id
        self._token += 1
        token = self._token
        if run_id is None:
            self._clear("Pick a run on the Runs page.")
            return
        try:
            view = await asyncio.to_thread(read_run, self.services, run_id)
        except Exception as error:  # noqa: BLE001
            if token == self._token:
                self._clear(f"Could not load run {run_id}: {describe(error)}")
                self.session.error(f"Run {run_id}: {describe(error)}")
            return
        if token != self._token:
            return  # another run was asked for meanwhile
        if self.run is None or self.run.id != run_id:  # another run: nothing of the last one stays
            self._scene_shown.clear()
            self._log_seen = None
            for holder in self.scene_holders.values():
                holder.objects = [placeholder("")]
        self.run, self.view = view.run, view
        self._show_header(view.run)
        self._show_results(view)
        self._show_details(view)
        self._show_downloads(view)
        self._follow(view.run)
        await self._show_residuals(view.run, token)
        if token == self._token:
            await self.show_scene(self.active_scene())

    def _clear(self, message: str) -> None:
        self.run = self.view = None
        self.status.object = status_box(html.escape(message))
        self.progress.visible = self.cancel_button.visible = False
        for slot in (self.chart, self.profile, self.residuals):
            slot.show(None)
        self._results_key = None
        self.summary.object = self.correlations.object = self.timings.object = self.quality.object = None
        self.results_note.object = self.residuals_note.object = ""
        self.spec.object, self.provenance.object = "", {}
        self.downloads.objects, self.download_widgets = [], []
        for kind, holder in self.scene_holders.items():
            holder.objects = [placeholder("")]
        self._scene_shown.clear()
        self._stop_polling()

    def _show_header(self, run: Simulation) -> None:
        self.status.object = status_html(run)
        self.progress.value = int(round(100 * (run.progress or 0.0)))
        self.progress.visible = not run.status.finished
        self.cancel_button.visible = not run.status.finished

    def _show_results(self, view: RunView) -> None:
        # Draw once per state of the run: two loads of one run (the page opening and the URL's run arriving)
        # would otherwise build and send the same figures twice.
        key = (view.run.id, view.run.status.value, view.run.finished_at, view.result is not None, view.chart_error)
        if key == self._results_key:
            return
        self._results_key = key
        result = view.result
        if result is None:
            self.results_note.object = {"queued": "Waiting for a worker: no results yet.",
                                        "running": "Results appear when the run has finished.",
                                        }.get(view.run.status.value, "This run has no results.")
            self.summary.object = self.correlations.object = None
            self.chart.show(None)
            self.profile.show(None)
            return
        notes = [f"⚠ {warning}" for warning in result.warnings()]
        if view.chart_error:
            notes.append(f"The validation chart could not be drawn: {view.chart_error}")
        self.results_note.object = "\n".join(notes)  # a Text pane: escaped there
        self.summary.object = result_summary(result)
        self.correlations.object = correlation_table(result)
        self.chart.show(view.chart)
        self.profile.show(view.profile)

    def _show_details(self, view: RunView) -> None:
        run = view.run
        self.spec.object = (f'<pre style="font-size:12px;max-height:32em;overflow:auto">'
                            f"{html.escape(view.spec_text)}</pre>")
        self.provenance.object = run.provenance or {}
        self.timings.object = timings_table(run.timings)
        self.quality.object = quality_table(view.quality, view.run.resolution) if view.quality else None

    def _show_downloads(self, view: RunView) -> None:
        self.download_widgets = [download_widget(a) for a in view.artifacts]
        self.downloads.objects = self.download_widgets or [placeholder("No files yet.")]

    async def _show_residuals(self, run: Simulation, token: int) -> None:
        tolerance = _tolerance(run)
        try:
            if run.status.finished:
                history = await finished_residuals(self.services, run)
            else:
                history = await asyncio.to_thread(residual_history, self.services, run)
            plot = await asyncio.to_thread(residual_plot, history, tolerance)
        except Exception as error:  # noqa: BLE001
            if token == self._token:
                self.residuals_note.object = f"The residuals could not be read: {describe(error)}"
            return
        if token != self._token:
            return
        self._set_residuals(run, plot)

    def _set_residuals(self, run: Simulation, plot: Any) -> None:
        self.residuals.show(plot)
        if plot is not None:
            self.residuals_note.object = "" if run.status.finished else "Live from the solver's log."
        elif run.status.finished:
            self.residuals_note.object = "This run has no solver log."
        else:
            self.residuals_note.object = ("The residuals show here while the solver runs on this machine, "
                                          "and from its stored log once the run has finished.")

    # -- following a running run ----------------------------------------------------------------------------
    def _follow(self, run: Simulation) -> None:
        if run.status.finished:
            self._stop_polling()
        elif self.poller is None:
            self.poller = pn.state.add_periodic_callback(self.tick, period=POLL_MS)

    def _stop_polling(self) -> None:
        if self.poller is not None:
            self.poller.stop()
            self.poller = None

    async def tick(self) -> None:
        """Read the run's row (in a thread); reload the page when its status or completed stage changed,
        otherwise update the header and, while it solves here, the residuals."""
        run = self.run
        if run is None or self._polling or (self.session.page != "run" and self.poller is not None):
            return
        self._polling = True
        token = self._token
        try:
            now = await asyncio.to_thread(get_run, run.id, services=self.services)
            if token != self._token:
                return
            self._report.clear()
            if now.status != run.status or now.completed_stage != run.completed_stage or now.mesh_id != run.mesh_id:
                await self.load(run.id)
                return
            self.run = now
            self._show_header(now)
            await self._live_residuals(now, token)
        except Exception as error:  # noqa: BLE001 - keep following through a database outage
            self._report(error)
        finally:
            self._polling = False

    async def _live_residuals(self, run: Simulation, token: int) -> None:
        log = recorded_folder(run, self.services).solver_log
        seen = await asyncio.to_thread(_stat, log)
        if seen is None and run.residuals:  # solving on another machine: the history its worker writes to the row
            seen = tuple((name, len(points), points[-1][0] if points else None)
                         for name, points in sorted(run.residuals.items()))
        if seen is None or seen == self._log_seen:
            return
        loop = asyncio.get_running_loop()
        if self._log_seen is not None and loop.time() - self._log_read_at < RESIDUALS_EVERY:
            return  # read again at most every few seconds (a long log is not free to parse)
        self._log_read_at, self._log_seen = loop.time(), seen
        history = await asyncio.to_thread(residual_history, self.services, run)
        plot = await asyncio.to_thread(residual_plot, history, _tolerance(run))
        if token == self._token:
            self._set_residuals(run, plot)

    async def _cancel_clicked(self, *_: Any) -> None:
        await self.cancel()

    async def cancel(self) -> dict[str, Any] | None:
        """Cancel the run shown (:func:`pipeline.jobs.cancel`)."""
        if self.run is None:
            return None
        run_id = self.run.id
        try:
            state = await asyncio.to_thread(jobs.cancel, run_id, by=self.session.user, settings=self.services.settings)
        except Exception as error:  # noqa: BLE001
            self.session.error(f"Could not cancel run {run_id}: {describe(error)}")
            return None
        self.session.info(f"Run {run_id} cancelled")
        await self.load(run_id)
        return state

    # -- 3D ----------------------------------------------------------------------------------------------------
    def active_scene(self) -> str:
        return list(SCENE_KINDS)[self.scenes.active]

    def _tab_changed(self, event: Any) -> None:
        kind = list(SCENE_KINDS)[event.new]

        async def show() -> None:
            await self.show_scene(kind)

        soon(show)

    async def show_scene(self, kind: str) -> None:
        """Put the ``kind`` scene of the run shown into its tab, building it off the event loop if no session
        has yet (a placeholder says what is missing while the run has not made it)."""
        run, holder = self.run, self.scene_holders[kind]
        if run is None or self._scene_shown.get(kind) == run.id:
            return
        title, stage = SCENE_KINDS[kind]
        if not stage_done(run, stage):
            holder.objects = [placeholder(f"The {title.lower()} view needs the {stage} stage, which this run "
                                          f"has not completed{'' if run.status.finished else ' yet'}.")]
            return
        token = self._token
        holder.objects = [pn.indicators.LoadingSpinner(value=True, size=40, label=f"Building the {title.lower()} "
                                                       "view…")]
        try:
            data = await scene_data(self.services, run.id, kind)
        except Exception as error:  # noqa: BLE001
            if token == self._token:
                holder.objects = [placeholder(f"The {title.lower()} view could not be built: {describe(error)}")]
                self.session.error(f"Run {run.id}, {title.lower()} view: {describe(error)}")
            return
        if token != self._token:
            return
        holder.objects = [SceneView(data, height=620, sizing_mode="stretch_width", orientation_widget=True,
                                    css_classes=["bf-3d-view", f"bf-3d-view-{kind}"])]
        self._scene_shown[kind] = run.id


def _tolerance(run: Simulation) -> float | None:
    try:
        return float(run.spec["cfd"]["convergence"])
    except (KeyError, TypeError, ValueError):
        return None


def _stat(path: Any) -> tuple[float, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime, info.st_size


__all__ = ["RunPage", "RunView", "read_run"]
