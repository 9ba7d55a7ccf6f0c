"""The runs page: every recorded run in a table that follows the database live.

A Tabulator (``bf-runs-table``) of runs, newest first, sweeps grouped; a periodic callback reads the
shown columns (in a thread) every :data:`app.components.POLL_MS` ms and patches only the cells that
changed (a new or vanished run re-sends the table). Filters by status, bed and sweep. Select rows
(checkboxes) and act on them: open (``bf-open-run``), cancel (``bf-cancel-run``), re-run
(``bf-rerun``), compare (``bf-compare-runs``); clicking a run's id opens it.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pandas as pd
import panel as pn
from bokeh.models.widgets.tables import NumberFormatter

from app import icons
from app.components import (NO_SWEEP, POLL_MS, RUN_TABLE_COLUMNS, ErrorOnce, describe, placeholder, runs_table,
                            soon)
from app.session import AppSession
from pipeline import jobs
from pipeline.db import RunStatus
from pipeline.jobs.heartbeats import describe_workers
from pipeline.runs.export import export_runs


def _bed_options(beds: list[str], chosen: str) -> dict[str, str]:
    """The bed filter's choices: all beds, each recorded bed, and the chosen one even if none is recorded (a link
    may name a bed this database does not hold: it shows no runs, it is not refused)."""
    return {"all beds": "", **{name: name for name in beds}, **({chosen: chosen} if chosen and chosen not in beds
                                                                  else {})}


def _sweep_options(sweeps: dict[int, str], chosen: int) -> dict[str, int]:
    """The sweep filter's choices: all runs, each sweep (id → label), and the chosen one even if unknown."""
    return {"all runs": 0, **{label: i for i, label in sweeps.items()},
            **({f"#{chosen}": chosen} if chosen and chosen not in sweeps else {})}


def _empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=object) for name in RUN_TABLE_COLUMNS})
    frame.index = pd.Index([], dtype="int64", name="id")
    return frame


def _changes(old: pd.DataFrame, new: pd.DataFrame) -> dict[str, list[tuple[int, Any]]]:
    """The cells of ``new`` that differ from ``old`` (same index, same order), as a Tabulator patch."""
    patch: dict[str, list[tuple[int, Any]]] = {}
    for column in new.columns:
        before, after = old[column], new[column]
        same = (before == after) | (before.isna() & after.isna())
        changed = after[~same.to_numpy(dtype=bool)]
        if len(changed):
            patch[column] = [(int(run_id), value) for run_id, value in changed.items()]
    return patch


class RunsPage(pn.viewable.Viewer):
    """The table of runs, live."""

    title = "runs"
    #: Runs shown at most (the newest).
    LIMIT = 500

    def __init__(self, session: AppSession) -> None:
        super().__init__()
        self.session = session
        self.services = session.services
        self._report = ErrorOnce(session.error)
        self._busy = False
        self.poller: Any = None
        self.refreshes = 0  # table reads applied (for tests and the "updated" note)

        # The filters start from the session's (the URL's) and write back to it (see app.session.URL_STATE).
        statuses = [s.value for s in RunStatus]
        self.status_filter = pn.widgets.MultiChoice(
            label="Status", options=statuses, placeholder="all statuses", css_classes=["bf-filter-status"],
            width=260, value=[s for s in session.runs_status if s in statuses])
        self.bed_filter = pn.widgets.Select(label="Bed", options=_bed_options([], session.runs_bed),
                                            value=session.runs_bed, css_classes=["bf-filter-bed"], width=220)
        self.sweep_filter = pn.widgets.Select(label="Sweep", options=_sweep_options({}, session.runs_sweep),
                                              value=session.runs_sweep, css_classes=["bf-filter-sweep"], width=260)
        for widget in (self.status_filter, self.bed_filter, self.sweep_filter):
            widget.param.watch(self._filters_changed, "value")
        session.param.watch(self._session_filters_changed, ["runs_status", "runs_bed", "runs_sweep"])

        self.table = pn.widgets.Tabulator(
            _empty_frame(), css_classes=["bf-runs-table"], selectable="checkbox", show_index=True, disabled=True,
            groupby=["sweep"], hidden_columns=["sweep"], layout="fit_data_stretch", height=560,
            sizing_mode="stretch_width", titles={"id": "Run", **RUN_TABLE_COLUMNS},
            formatters={
                "progress": {"type": "progress", "min": 0, "max": 100, "legend": True, "color": "#0072B2",
                             "legendColor": "#000000", "legendAlign": "center"},
                "re_p": NumberFormatter(format="0.[000]"), "aspect_ratio": NumberFormatter(format="0.00"),
                "cells": NumberFormatter(format="0,0"), "dp_dz": NumberFormatter(format="0.[0000]"),
                "ratio_ergun": NumberFormatter(format="0.000"),
            },
            header_tooltips={"ratio_ergun": "CFD Δp/L over Ergun's, for the geometry as meshed",
                             "id": "Click a run's number to open it"},
        )
        self.table.on_click(self._clicked, column="id")
        self.table.param.watch(self._selection_changed, "selection")

        self.open_button = pn.widgets.Button(label="Open", icon=icons.OPEN, color="primary",
                                             css_classes=["bf-open-run"], disabled=True, width=110)
        self.cancel_button = pn.widgets.Button(label="Cancel", icon=icons.STOP, color="danger",
                                               variant="outline", css_classes=["bf-cancel-run"], disabled=True,
                                               width=110)
        self.rerun_button = pn.widgets.Button(label="Re-run", icon=icons.RERUN, color="default",
                                              css_classes=["bf-rerun"], disabled=True, width=110)
        self.compare_button = pn.widgets.Button(label="Compare", icon=icons.COMPARE, color="success",
                                                css_classes=["bf-compare-runs"], disabled=True, width=120)
        self.open_button.on_click(self._open_clicked)
        self.cancel_button.on_click(self._cancel_clicked)
        self.rerun_button.on_click(self._rerun_clicked)
        self.compare_button.on_click(self._compare_clicked)
        self.export_button = pn.widgets.FileDownload(
            callback=self.export_csv, filename="bedflow-runs.csv", label="Export CSV", color="default",
            css_classes=["bf-export-runs"], width=130)
        self.note = placeholder(css_classes=["bf-runs-note"], margin=(14, 10))
        self.workers_note = placeholder(css_classes=["bf-workers-note"], margin=(14, 10))
        session.param.watch(self._page_changed, "page")
        self._layout: pn.Column | None = None

    # -- layout ----------------------------------------------------------------------------------------------
    def __panel__(self) -> pn.viewable.Viewable:
        if self._layout is None:
            self._layout = pn.Column(
                pn.Row(self.status_filter, self.bed_filter, self.sweep_filter, sizing_mode="stretch_width"),
                pn.Row(self.open_button, self.cancel_button, self.rerun_button, self.compare_button,
                       self.export_button, self.note,
                       self.workers_note, sizing_mode="stretch_width"),
                self.table, css_classes=["bf-runs-page"], sizing_mode="stretch_width")
            self.start()
        return self._layout

    def start(self) -> None:
        """Read the table now and then every :data:`POLL_MS` ms (only while the page is shown)."""
        if self.poller is None:
            self.poller = pn.state.add_periodic_callback(self._tick, period=POLL_MS)
            soon(self.refresh)

    def stop(self) -> None:
        if self.poller is not None:
            self.poller.stop()
            self.poller = None

    # -- reading the database --------------------------------------------------------------------------------
    def export_csv(self) -> io.BytesIO:
        """The runs the filters show, with every input and result (``pipeline.runs.export``), as a CSV file."""
        return io.BytesIO(export_runs(None, "csv", services=self.services, **self.filters()))

    def filters(self) -> dict[str, Any]:
        return {"status": list(self.status_filter.value) or None, "bed": self.bed_filter.value or None,
                "sweep": self.sweep_filter.value or None, "limit": self.LIMIT}

    async def _tick(self) -> None:
        if self.session.page == "runs":
            await self.refresh()

    async def refresh(self, full: bool = False) -> None:
        """Read the runs (in a thread) and update the table: changed cells are patched; when runs appeared
        or vanished, or ``full``, the table is replaced (keeping the selected runs selected)."""
        if self._busy and not full:
            return
        self._busy = True
        try:
            frame, beds, sweeps = await asyncio.to_thread(runs_table, self.services, **self.filters())
            self.workers_note.object = "· " + await asyncio.to_thread(describe_workers, self.services)
            self._apply(frame, full)
            self._set_options(beds, sweeps)
            self.refreshes += 1
            self._report.clear()
        except Exception as error:  # noqa: BLE001 - the page must live through a database outage
            self._report(error)
        finally:
            self._busy = False

    def _apply(self, frame: pd.DataFrame, full: bool) -> None:
        current = self.table.value
        if full or list(current.index) != list(frame.index) or list(current.columns) != list(frame.columns):
            selected = self.selected_ids()
            self.table.value = frame
            self.table.selection = [frame.index.get_loc(i) for i in selected if i in frame.index]
        else:
            patch = _changes(current, frame)
            if patch:
                self.table.patch(patch, as_index=True)
        shown = len(frame)
        self.note.object = f"{shown} run{'s' * (shown != 1)}" + (f" (the newest {self.LIMIT})"
                                                                   if shown >= self.LIMIT else "")

    def _set_options(self, beds: list[str], sweeps: dict[int, str]) -> None:
        bed_options = _bed_options(beds, self.bed_filter.value)
        if bed_options != self.bed_filter.options:
            self.bed_filter.options = bed_options
        sweep_options = _sweep_options(sweeps, self.sweep_filter.value)
        if sweep_options != self.sweep_filter.options:
            self.sweep_filter.options = sweep_options

    def _filters_changed(self, *_: Any) -> None:
        self.session.param.update(runs_status=list(self.status_filter.value), runs_bed=self.bed_filter.value or "",
                                  runs_sweep=int(self.sweep_filter.value or 0))
        soon(self._refresh_all)

    def _session_filters_changed(self, *_: Any) -> None:
        """The URL changed the filters (back, forward, a link): show them."""
        session = self.session
        if session.runs_bed not in self.bed_filter.options.values():
            self.bed_filter.options = {**self.bed_filter.options, session.runs_bed: session.runs_bed}
        if session.runs_sweep not in self.sweep_filter.options.values():
            self.sweep_filter.options = {**self.sweep_filter.options, f"#{session.runs_sweep}": session.runs_sweep}
        self.status_filter.value = [s for s in session.runs_status if s in self.status_filter.options]
        self.bed_filter.value, self.sweep_filter.value = session.runs_bed, session.runs_sweep

    async def _refresh_all(self) -> None:
        await self.refresh(full=True)

    def _page_changed(self, event: Any) -> None:
        if event.new == "runs" and self.poller is not None:
            soon(self.refresh)

    # -- selection and actions ------------------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        value = self.table.value
        return [int(value.index[i]) for i in self.table.selection if 0 <= i < len(value)]

    def _selection_changed(self, *_: Any) -> None:
        some = bool(self.table.selection)
        for button in (self.open_button, self.cancel_button, self.rerun_button, self.compare_button):
            button.disabled = not some

    def _clicked(self, event: Any) -> None:
        if event.value is not None:
            self.session.guard(self.session.open_run, int(event.value))

    def _open_clicked(self, *_: Any) -> None:
        self.open_selected()

    def open_selected(self) -> None:
        """Open the first selected run on the run page."""
        ids = self.selected_ids()
        if not ids:
            self.session.error("Select a run to open")
            return
        self.session.open_run(ids[0])

    def _compare_clicked(self, *_: Any) -> None:
        self.compare_selected()

    def compare_selected(self) -> None:
        ids = self.selected_ids()
        if not ids:
            self.session.error("Select the runs to compare")
            return
        self.session.compare(sorted(ids))

    async def _cancel_clicked(self, *_: Any) -> None:
        await self.cancel_selected()

    async def cancel_selected(self) -> list[dict[str, Any]]:
        """Cancel the selected runs that are not finished (:func:`pipeline.jobs.cancel`)."""
        settings = self.services.settings
        wanted = [i for i in self.selected_ids() if not RunStatus(self.table.value.at[i, "status"]).finished]
        if not wanted:
            self.session.error("None of the selected runs is queued or running")
            return []
        done = []
        for run_id in wanted:
            try:
                done.append(await asyncio.to_thread(jobs.cancel, run_id, by=self.session.user, settings=settings))
            except Exception as error:  # noqa: BLE001
                self.session.error(f"Could not cancel run {run_id}: {describe(error)}")
        if done:
            self.session.info("Cancelled run" + "s" * (len(done) > 1) + " " + ", ".join(str(d["id"]) for d in done))
        await self.refresh()
        return done

    async def _rerun_clicked(self, *_: Any) -> None:
        await self.rerun_selected()

    async def rerun_selected(self) -> list[int]:
        """Submit each selected run's spec again (same ``until``), as this session's user."""
        services, user = self.services, self.session.user
        new_ids = []
        for run_id in self.selected_ids():
            try:
                new_ids.append(await asyncio.to_thread(jobs.resubmit, run_id, by=user, settings=services.settings))
            except Exception as error:  # noqa: BLE001
                self.session.error(f"Could not re-run run {run_id}: {describe(error)}")
        if new_ids:
            self.session.info("Submitted run" + "s" * (len(new_ids) > 1) + " " + ", ".join(map(str, new_ids)))
        await self.refresh()
        return new_ids



__all__ = ["NO_SWEEP", "RunsPage"]
