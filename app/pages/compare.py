"""The compare page: several runs, or a sweep, side by side.

Starts from ``session.compare_ids`` (the runs page's "Compare"); runs can be picked
(``bf-compare-picker``, succeeded runs) or a sweep chosen (``bf-compare-sweep``, which picks its
succeeded runs). Shows their CFD points on the correlations (``bf-compare-chart``), a sweep's
results against its parameter (``bf-sweep-plot``), the porosity profiles of their packings side by
side (``bf-porosity-profiles``; a packing several runs share is drawn once) and a results table
(``bf-compare-table``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import panel as pn

from app.components import (PlotSlot, Text, compare_table, describe, placeholder, porosity_plot, result_of,
                            succeeded_runs, soon, sweep_choices)
from app.session import AppSession
from pipeline.db import Simulation
from pipeline.runs import get_sweep, list_runs, runs_frame


@dataclass
class Comparison:
    """What the page shows of a set of runs, read in a thread."""

    runs: list[Simulation]
    table: Any
    chart: Any = None
    chart_note: str = ""
    sweep_plot: Any = None
    sweep_note: str = ""
    skipped: list[int] = field(default_factory=list)


def read_comparison(services: Any, run_ids: list[int], sweep_id: int | None) -> Comparison:
    """The runs (those with results), their table, the validation chart with all their points and, for a
    sweep, its plot (blocking)."""
    from viz.plots import friction_chart, sweep_plot

    found = {run.id: run for run in list_runs(ids=run_ids, services=services)}  # one query
    runs = [found[i] for i in run_ids if i in found and found[i].results]
    skipped = [i for i in run_ids if i not in found or not found[i].results]
    comparison = Comparison(runs, compare_table(runs), skipped=skipped)
    if runs:
        try:
            comparison.chart = friction_chart([result_of(run) for run in runs])
            if len({run.bed_id for run in runs}) > 1 or len({round(run.aspect_ratio, 6) for run in runs}) > 1:
                comparison.chart_note = (f"The curves are for run {runs[0].id}'s geometry (as meshed); the other "
                                         "runs' points are on the same axes.")
        except Exception as error:  # noqa: BLE001 - e.g. runs in different fluids
            comparison.chart_note = f"The runs cannot share one chart: {describe(error)}"
    if sweep_id:
        sweep = get_sweep(sweep_id, services=services)
        parameter = sweep.parameter if sweep is not None else None
        if parameter is None:
            comparison.sweep_note = f"There is no sweep {sweep_id}."
        else:
            try:
                comparison.sweep_plot = sweep_plot(runs_frame(sweep=sweep_id, services=services), parameter)
            except Exception as error:  # noqa: BLE001 - e.g. no finished run yet
                comparison.sweep_note = f"The sweep cannot be plotted yet: {describe(error)}"
    return comparison


def sweep_run_ids(services: Any, sweep_id: int) -> list[int]:
    """The succeeded runs of a sweep with results, in the order they were created."""
    runs = list_runs(sweep=sweep_id, status="succeeded", newest_first=False, services=services)
    return [run.id for run in runs if run.results]


class ComparePage(pn.viewable.Viewer):
    """Runs or a sweep against the correlations and each other."""

    title = "compare"
    #: Porosity profiles drawn at most (distinct packings).
    MAX_PACKINGS = 6

    def __init__(self, session: AppSession) -> None:
        super().__init__()
        self.session = session
        self.services = session.services
        self.comparison: Comparison | None = None
        self._quiet = False
        self._token = 0

        self.runs_picker = pn.widgets.MultiChoice(label="Runs (succeeded)", options={}, placeholder="pick runs",
                                                  css_classes=["bf-compare-picker"], sizing_mode="stretch_width")
        self.sweep_picker = pn.widgets.Select(label="Sweep", options={"none": 0}, css_classes=["bf-compare-sweep"],
                                              width=340)
        self.runs_picker.param.watch(self._picked, "value")
        self.sweep_picker.param.watch(self._sweep_picked, "value")

        self.note = placeholder("Pick runs, or a sweep.")
        self.chart = PlotSlot("bf-compare-chart")
        self.chart_note = placeholder("")
        self.sweep_plot = PlotSlot("bf-sweep-plot")
        self.sweep_note = placeholder("")
        self.porosity = pn.FlexBox(css_classes=["bf-porosity-profiles"], sizing_mode="stretch_width",
                                   styles={"overflow-x": "auto"})
        self.table = pn.pane.DataFrame(None, css_classes=["bf-compare-table"], float_format="{:.5g}".format,
                                       na_rep="", sizing_mode="stretch_width")

        session.param.watch(self._ids_changed, "compare_ids")
        session.param.watch(self._page_changed, "page")
        self._layout: pn.Column | None = None

    def __panel__(self) -> pn.viewable.Viewable:
        if self._layout is None:
            self._layout = pn.Column(
                pn.Row(self.runs_picker, self.sweep_picker, sizing_mode="stretch_width"),
                self.note,
                pn.Column(pn.pane.Markdown("### Results"), self.table, sizing_mode="stretch_width"),
                pn.Column(pn.pane.Markdown("### Against the correlations"), self.chart_note,
                          pn.FlexBox(self.chart.box, self.sweep_plot.box, sizing_mode="stretch_width"), self.sweep_note,
                          sizing_mode="stretch_width"),
                pn.Column(pn.pane.Markdown("### Porosity profiles"), self.porosity, sizing_mode="stretch_width"),
                css_classes=["bf-compare-page"], sizing_mode="stretch_width")
            soon(self.show_ids)
        return self._layout

    # -- choices --------------------------------------------------------------------------------------------
    async def load_options(self) -> None:
        """Read the succeeded runs and the sweeps for the pickers (in a thread)."""
        try:
            runs, sweeps = await asyncio.to_thread(
                lambda: (succeeded_runs(self.services), sweep_choices(self.services)))
        except Exception as error:  # noqa: BLE001
            self.session.error(f"Could not list the runs: {describe(error)}")
            return
        self._quietly(self.runs_picker, options=runs,
                      value=[i for i in self.runs_picker.value if i in runs.values()])
        self._quietly(self.sweep_picker, options={"none": 0, **sweeps},
                      value=self.sweep_picker.value if self.sweep_picker.value in sweeps.values() else 0)

    def _quietly(self, widget: Any, **values: Any) -> None:
        """Set widget parameters without this page reacting to them (the browser still sees them)."""
        self._quiet = True
        try:
            widget.param.update(**values)
        finally:
            self._quiet = False

    def _ids_changed(self, *_: Any) -> None:
        soon(self.show_ids)

    def _page_changed(self, event: Any) -> None:
        if event.new == "compare" and self._layout is not None:
            soon(self.load_options)

    def _picked(self, *_: Any) -> None:
        if not self._quiet:
            soon(self.update)

    def _sweep_picked(self, event: Any) -> None:
        if self._quiet:
            return

        async def pick() -> None:
            await self.pick_sweep(event.new)

        soon(pick)

    async def show_ids(self, run_ids: list[int] | None = None) -> None:
        """Compare ``run_ids`` (default ``session.compare_ids``)."""
        run_ids = list(self.session.compare_ids if run_ids is None else run_ids)
        await self.load_options()
        known = set(self.runs_picker.options.values())
        missing = [i for i in run_ids if i not in known]
        if missing:
            self.session.error("No results to compare for run" + "s" * (len(missing) > 1) + " " +
                               ", ".join(map(str, missing)) + " (only succeeded runs have them)")
        self._quietly(self.sweep_picker, value=0)
        self._quietly(self.runs_picker, value=[i for i in run_ids if i in known])
        await self.update()

    async def pick_sweep(self, sweep_id: int | None) -> None:
        """Compare a sweep's succeeded runs, with the sweep's own plot (``0``/``None``: no sweep)."""
        if sweep_id:
            try:
                ids = await asyncio.to_thread(sweep_run_ids, self.services, sweep_id)
            except Exception as error:  # noqa: BLE001
                self.session.error(f"Could not read sweep {sweep_id}: {describe(error)}")
                return
            await self.load_options()
            known = set(self.runs_picker.options.values())
            self._quietly(self.sweep_picker, value=sweep_id)
            self._quietly(self.runs_picker, value=[i for i in ids if i in known])
        await self.update()

    # -- showing -------------------------------------------------------------------------------------------
    async def update(self) -> None:
        """Show the picked runs (and sweep): read them in a thread, then their porosity profiles."""
        self._token += 1
        token = self._token
        ids, sweep_id = list(self.runs_picker.value), self.sweep_picker.value or None
        if not ids and not sweep_id:
            self.comparison = None
            self.note.object = "Pick runs, or a sweep."
            self.chart.show(None)
            self.sweep_plot.show(None)
            self.table.object, self.chart_note.object, self.sweep_note.object = None, "", ""
            self.porosity.objects = []
            return
        try:
            comparison = await asyncio.to_thread(read_comparison, self.services, ids, sweep_id)
        except Exception as error:  # noqa: BLE001
            if token == self._token:
                self.session.error(f"Could not compare the runs: {describe(error)}")
            return
        if token != self._token:
            return
        self.comparison = comparison
        count = len(comparison.runs)
        self.note.object = (f"{count} run{'s' * (count != 1)}" +
                            (f"; without results: {', '.join(map(str, comparison.skipped))}" if comparison.skipped
                             else ""))
        self.table.object = comparison.table
        self.chart.show(comparison.chart)
        self.chart_note.object = comparison.chart_note
        self.sweep_plot.show(comparison.sweep_plot)
        self.sweep_note.object = comparison.sweep_note
        await self._show_porosity(comparison.runs, token)

    async def _show_porosity(self, runs: list[Simulation], token: int) -> None:
        groups: dict[Any, list[Simulation]] = {}
        for run in runs:
            groups.setdefault(run.packing_id if run.packing_id is not None else f"run-{run.id}", []).append(run)
        panes: list[Any] = []
        for key, members in list(groups.items())[: self.MAX_PACKINGS]:
            first = members[0]
            try:
                plot = await porosity_plot(self.services, first.id, first.packing_id)
            except Exception as error:  # noqa: BLE001
                panes.append(placeholder(f"Run {first.id}: the packing could not be read: {describe(error)}"))
                continue
            label = "Run " + ", ".join(str(r.id) for r in members) + (f" ({first.bed.name})" if first.bed else "")
            panes.append(pn.Column(Text(label, margin=(0, 10), styles={"font-weight": "bold"}),
                                   pn.pane.HoloViews(plot, linked_axes=False, sizing_mode=None,
                                                     css_classes=["bf-porosity-profile"]),
                                   sizing_mode=None))
        if len(groups) > self.MAX_PACKINGS:
            panes.append(placeholder(f"…and {len(groups) - self.MAX_PACKINGS} more packings."))
        if token == self._token:
            self.porosity.objects = panes


__all__ = ["ComparePage", "Comparison", "read_comparison"]
