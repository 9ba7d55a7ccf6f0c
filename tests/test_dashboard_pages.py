"""The dashboard's runs, run and compare pages, at the Python level (no browser), on real runs.

A module fixture records real runs in their own data folder: a small bed solved through OpenFOAM with
``pipeline.run`` (plus the same bed at another Reₚ, which reuses the packing and mesh), a two-run sweep
executed here as a worker would, and runs left queued (submitted to the job queue, no worker). The
pages are built on an :class:`app.session.AppSession` of those services; their async callbacks run to
completion as Panel runs them outside a server (or through ``asyncio.run`` when called directly).
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path

import panel as pn
import pytest

import pipeline
from pipeline import BedSpec, jobs
from pipeline.db import RunStatus, Simulation, Sweep
from pipeline.runs import (Services, claim, create_run, execute, finish, get_run, list_runs, open_services,
                           run_artifacts)
from pipeline.runs.execute import update_run
from pipeline.settings import Settings

SPEC = {"name": "dash", "bed": {"diameter": 0.025, "height": 0.03}, "particles": {"count": 40, "diameter": 0.005},
        "cfd": {"mesh_cells_per_diameter": 6, "surface_refinement": 0, "boundary_layers": 0,
                "max_iterations": 80, "particle_reynolds": 5}}


@dataclass
class Recorded:
    services: Services
    spec: BedSpec
    solved: int  # Re_p 5, solved through pipeline.run
    second: int  # Re_p 20, same packing and mesh
    sweep: int  # a sweep over Re_p, both runs solved here
    sweep_runs: list[int]
    queued: list[int]  # submitted, never picked up (no worker)

    @property
    def settings(self) -> Settings:
        return self.services.settings


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("dashboard-pages") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BEDFLOW_DATA_DIR", str(data))
        for name in ("DATABASE_URL", "BEDFLOW_STORE", "BEDFLOW_QUEUE"):
            patch.delenv(name, raising=False)
        settings = Settings.from_env(dotenv=None)
        services = open_services(settings)
        spec = BedSpec.from_dict(SPEC).validate()
        solved = pipeline.run(spec, created_by="ana").run_id
        second = pipeline.run(spec.updated({"cfd.particle_reynolds": 20}), created_by="ana").run_id
        submitted = jobs.submit_sweep(spec, "cfd.particle_reynolds", [2, 8], name="dash Re", created_by="ben",
                                      settings=settings)
        sweep, sweep_runs = submitted.id, list(submitted.run_ids)
        for run_id in sweep_runs:  # what a worker does with each queued run
            execute(run_id, services=services)
        queued = [jobs.submit(spec.updated({"particles.count": 30 + k}), until="pack", created_by="ben",
                              settings=settings) for k in range(2)]
        yield Recorded(services, spec, solved, second, sweep, sweep_runs, queued)


@pytest.fixture
def session(recorded):
    from app.session import AppSession

    return AppSession(services=recorded.services, user="tester")


def submit_queued(recorded: Recorded, count: int = 40, created_by: str = "tester") -> int:
    """A fresh queued run (pack only) for a test that changes it (by default the session user's own)."""
    return jobs.submit(recorded.spec.updated({"particles.count": count}), until="pack", created_by=created_by,
                       settings=recorded.settings)


def status_of(recorded: Recorded, run_id: int) -> RunStatus:
    return get_run(run_id, services=recorded.services).status


def select(page, *run_ids: int) -> None:
    index = list(page.table.value.index)
    page.table.selection = [index.index(i) for i in run_ids]


def click(button) -> None:
    button.clicks += 1  # what a browser click does; async handlers run to completion outside a server


# -- runs --------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_runs_table_lists_every_run_with_its_status_and_groups_the_sweep(recorded, session):
    from app.components import NO_SWEEP, POLL_MS
    from app.pages.runs import RunsPage

    page = RunsPage(session)
    pn.panel(page)
    assert page.refreshes == 1, "the table was not read when the page was built"
    assert "bf-runs-table" in page.table.css_classes
    assert page.poller is not None and 1000 <= page.poller.period <= 2000 and POLL_MS == page.poller.period
    table = page.table.value
    runs = list_runs(services=recorded.services)
    assert list(table.index) == [run.id for run in runs]  # every run, newest first
    for run in runs:
        assert table.at[run.id, "status"] == run.status.value
        assert table.at[run.id, "bed"] == run.bed.name
    assert table.at[recorded.solved, "status"] == "succeeded" and table.at[recorded.solved, "progress"] == 100.0
    assert table.at[recorded.solved, "ratio_ergun"] == pytest.approx(get_run(recorded.solved,
                                                                             services=recorded.services).ratio_ergun)
    assert table.at[recorded.solved, "cells"] > 1000 and table.at[recorded.solved, "created_by"] == "ana"
    assert all(table.at[i, "status"] == "queued" and table.at[i, "progress"] == 0.0 for i in recorded.queued)
    # the sweep's runs share one group, which is not the single runs'
    assert page.table.groupby == ["sweep"] and "sweep" in page.table.hidden_columns
    labels = {table.at[i, "sweep"] for i in recorded.sweep_runs}
    assert len(labels) == 1 and labels != {NO_SWEEP} and "dash Re" in labels.pop()
    assert table.at[recorded.solved, "sweep"] == NO_SWEEP
    assert page.table.formatters["progress"]["type"] == "progress"
    assert set(page.bed_filter.options.values()) >= {"", "dash"}
    assert recorded.sweep in page.sweep_filter.options.values()
    # why queued runs do not start: no worker; and once one beats, how many are there
    assert "no worker alive" in page.workers_note.object
    # a poll reads the runs, the beds and the sweeps once each
    from sqlalchemy import event

    from app.components import runs_table

    statements: list[str] = []
    record = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(recorded.services.db.engine, "before_cursor_execute", record)
    try:
        runs_table(recorded.services, **page.filters())
    finally:
        event.remove(recorded.services.db.engine, "before_cursor_execute", record)
    assert len(statements) == 3 and sum("FROM bed" in s for s in statements) == 1, statements
    # the export: the runs the filters show, with their inputs and results
    import pandas

    exported = pandas.read_csv(page.export_button.callback(), index_col="id")
    assert list(exported.index) == list(table.index) and "bf-export-runs" in page.export_button.css_classes
    assert exported.at[recorded.solved, "dp_dz [Pa/m]"] == pytest.approx(table.at[recorded.solved, "dp_dz"])
    assert "spec.bed.diameter [m]" in exported.columns

    from pipeline.jobs.heartbeats import WorkerHeartbeat

    with WorkerHeartbeat(recorded.services, "lab-pc:1", processes=2):
        asyncio.run(page.refresh())
        assert page.workers_note.object == "· 1 worker alive, 2 processes"


def test_the_runs_filters_live_in_the_session_and_so_in_the_url(recorded, session):
    """The filters are session state that app.main syncs with the URL's query: a link sets them, a change of a
    filter writes them back (the URL follows), back and forward set them again; a bed no run has is shown."""
    from app.pages.runs import RunsPage
    from app.session import URL_STATE

    assert {"status", "bed", "sweep", "compare", "page", "run"} == set(URL_STATE.values())
    from panel.io.location import Location

    from app.session import AppSession

    linked = AppSession(services=recorded.services, user="tester")  # what a link's query gives a new session
    Location(search='?page=compare&compare=[3,4]&status=["failed"]&bed=dash&sweep=2').sync(linked, URL_STATE)
    assert (linked.page, linked.compare_ids, linked.runs_status, linked.runs_bed, linked.runs_sweep) == (
        "compare", [3, 4], ["failed"], "dash", 2)
    session.param.update(runs_status=["succeeded"], runs_bed="dash", runs_sweep=recorded.sweep)  # as a link does
    page = RunsPage(session)
    pn.panel(page)
    asyncio.run(page.refresh(full=True))
    assert (page.status_filter.value, page.bed_filter.value, page.sweep_filter.value) == (
        ["succeeded"], "dash", recorded.sweep)
    wanted = list_runs(status="succeeded", bed="dash", sweep=recorded.sweep, services=recorded.services)
    assert wanted and set(page.table.value.index) == {run.id for run in wanted}
    page.sweep_filter.value = 0  # widened by hand: the session, and so the URL, follow
    assert session.runs_sweep == 0 and session.runs_status == ["succeeded"]
    assert set(page.table.value.index) == {r.id for r in list_runs(status="succeeded", bed="dash",
                                                                     services=recorded.services)}
    session.runs_status = ["queued"]  # back or forward in the browser
    assert page.status_filter.value == ["queued"]
    session.runs_bed = "no-such-bed"  # a link naming a bed this database lacks: shown, with no runs
    assert page.bed_filter.value == "no-such-bed" and page.table.value.empty


@pytest.mark.slow
def test_the_runs_table_follows_the_database(recorded, session):
    from app.pages.runs import RunsPage

    page = RunsPage(session)
    pn.panel(page)
    run_id = submit_queued(recorded, 41)
    assert run_id not in page.table.value.index
    asyncio.run(page.refresh())
    assert page.table.value.at[run_id, "status"] == "queued", "a new run did not appear"

    shown = page.table.value
    assert claim(run_id, services=recorded.services)
    update_run(recorded.services, run_id, stage="pack", progress=0.4)
    asyncio.run(page.refresh())
    assert page.table.value is shown, "a status change re-sent the whole table instead of patching it"
    assert page.table.value.at[run_id, "status"] == "running"
    assert page.table.value.at[run_id, "stage"] == "pack" and page.table.value.at[run_id, "progress"] == 40.0

    page.status_filter.value = ["running"]  # the filters read the database again at once
    assert list(page.table.value.index) == [run_id]
    page.status_filter.value = []
    page.sweep_filter.value = recorded.sweep
    assert sorted(page.table.value.index) == sorted(recorded.sweep_runs)
    page.sweep_filter.value = 0
    page.bed_filter.value = "dash"
    assert len(page.table.value) == len(list_runs(bed="dash", services=recorded.services))
    finish(run_id, RunStatus.failed, error="test: stopped", services=recorded.services)


@pytest.mark.slow
def test_the_runs_page_opens_cancels_reruns_and_compares_the_selected_runs(recorded, session):
    from panel.models.tabulator import CellClickEvent

    from app.pages.runs import RunsPage

    page = RunsPage(session)
    pn.panel(page)
    errors: list[str] = []
    session.error = lambda message: errors.append(str(message))  # what the notification would say
    others = submit_queued(recorded, 42, created_by="cara")
    waiting = submit_queued(recorded, 43)
    asyncio.run(page.refresh())
    assert page.cancel_button.disabled and "bf-cancel-run" in page.cancel_button.css_classes

    select(page, others)  # a signed-in user cannot cancel someone else's run
    assert not page.cancel_button.disabled
    click(page.cancel_button)
    assert status_of(recorded, others) is RunStatus.queued
    assert errors and "belongs to cara" in errors[-1], errors
    select(page, waiting)
    click(page.cancel_button)
    assert status_of(recorded, waiting) is RunStatus.cancelled
    assert page.table.value.at[waiting, "status"] == "cancelled"

    before = {run.id for run in list_runs(services=recorded.services)}
    select(page, recorded.solved)  # ana's: not tester's to re-run
    click(page.rerun_button)
    assert {run.id for run in list_runs(services=recorded.services)} == before and "belongs to ana" in errors[-1]
    admin = dataclasses.replace(recorded.settings, admins=frozenset({"tester"}))
    with pytest.raises(jobs.RunPermissionError):
        jobs.cancel(others, by="eve", settings=admin)
    page.services = open_services(admin)  # BEDFLOW_ADMINS=tester: an admin may re-run anyone's runs
    click(page.rerun_button)
    new = {run.id for run in list_runs(services=recorded.services)} - before
    assert len(new) == 1
    rerun = get_run(new.pop(), services=recorded.services)
    original = get_run(recorded.solved, services=recorded.services)
    assert rerun.status is RunStatus.queued and rerun.created_by == "tester" and rerun.until == original.until
    assert BedSpec.from_dict(rerun.spec).digest() == BedSpec.from_dict(original.spec).digest()
    assert rerun.id in page.table.value.index
    for run_id in (rerun.id, others):
        jobs.cancel(run_id, settings=recorded.settings)  # no worker will take them (the CLI: no owner check)

    select(page, recorded.second)
    click(page.open_button)
    assert (session.page, session.run_id) == ("run", recorded.second)

    select(page, recorded.second, recorded.solved)
    click(page.compare_button)
    assert (session.page, session.compare_ids) == ("compare", sorted([recorded.solved, recorded.second]))

    session.page = "runs"
    row = list(page.table.value.index).index(recorded.solved)
    page.table._process_event(CellClickEvent(model=None, column="id", row=row))  # a click on the run's number
    assert (session.page, session.run_id) == ("run", recorded.solved)


# -- run ---------------------------------------------------------------------------------------------------------


def labelled(obj) -> dict[str, str]:
    """Label → element type of the labelled elements of a HoloViews object."""
    import holoviews as hv

    return {e.label: type(e).__name__ for e in obj.traverse(lambda e: e, [hv.Curve, hv.Scatter]) if e.label}


@pytest.mark.slow
def test_the_run_page_of_a_solved_run(recorded, session):
    import holoviews as hv

    from app.pages.run import RunPage

    run = get_run(recorded.solved, services=recorded.services)
    # the log in the work folder goes: the residuals of a finished run come from the stored artifact
    (recorded.services.work_dir(run.id) / "case" / "log.simpleFoam").unlink(missing_ok=True)
    page = RunPage(session)
    pn.panel(page)
    session.open_run(run.id)

    assert page.status.object.startswith('<div class="bf-run-status" data-status="succeeded">')
    assert page.poller is None and not page.cancel_button.visible  # finished: nothing to follow
    # Δp/L against the correlations: the ratios the run recorded
    table = page.correlations.object
    meshed, nominal = run.results["as_meshed"], run.results["nominal"]
    for key, name in (("ergun", "Ergun"), ("eisfeld_schnitzlein", "Eisfeld–Schnitzlein"), ("kta", "KTA")):
        assert table.at[name, "CFD / correlation, as meshed"] == pytest.approx(meshed["ratios"][key])
        assert table.at[name, "Δp/L as meshed (Pa/m)"] == pytest.approx(meshed["correlations"][key])
        assert table.at[name, "CFD / correlation, nominal"] == pytest.approx(nominal["ratios"][key])
    assert table.at["Ergun", "CFD / correlation, as meshed"] == pytest.approx(run.ratio_ergun)
    assert table.at["CFD (this run)", "Δp/L as meshed (Pa/m)"] == pytest.approx(run.dp_dz)
    # the validation chart: the correlations' curves and this run's point
    assert isinstance(page.chart.pane, pn.pane.HoloViews) and "bf-validation-chart" in page.chart.pane.css_classes
    assert page.chart.visible
    elements = labelled(page.chart.object)
    assert elements["Ergun"] == "Curve" and elements["KTA"] == "Curve" and elements["CFD"] == "Scatter"
    cfd = [e for e in page.chart.object.traverse(lambda e: e, [hv.Scatter]) if e.label == "CFD"][0]
    assert len(cfd) == 1 and cfd.dimension_values(0)[0] == pytest.approx(run.re_p, rel=0.02)
    # the residuals, from the stored log
    assert page.residuals.visible and "bf-residuals" in page.residuals.pane.css_classes
    curves = labelled(page.residuals.object)
    assert "p" in curves and any(label.startswith("U") for label in curves), curves
    iterations = [e for e in page.residuals.object.traverse(lambda e: e, [hv.Curve]) if e.label == "p"][0]
    assert iterations.dimension_values(0).max() == run.iterations
    # the spec, timings and mesh quality
    assert "count = 40;" in page.spec.object and "particle_reynolds = 5.0;" in page.spec.object
    assert set(page.timings.object.index) == {"pack", "mesh", "solve", "postprocess", "total"}
    assert page.quality.object.at["Cells", "Value"] == f"{run.cells:,}"
    assert page.provenance.object["openfoam"] == "v1912"
    # one download link per artifact, to the server's streaming route (tests/test_downloads.py serves them)
    artifacts = run_artifacts(run.id, services=recorded.services)
    assert {"bed", "stl", "log", "results", "case", "vtk", "mesh", "packing"} <= {a.kind for a in artifacts}
    assert len(page.download_widgets) == len(artifacts)
    for artifact, widget in zip(artifacts, page.download_widgets):
        assert f'href="artifacts/{artifact.id}"' in widget.object and f"bf-download-{artifact.kind}" in widget.css_classes


@pytest.mark.slow
def test_the_run_page_builds_each_3d_view_once_when_its_tab_opens(recorded, session):
    from bokeh.document import Document
    from panel.pane.vtk.vtk import VTKRenderWindow

    from app.components import SCENE_KINDS, SCENES
    from app.pages.run import RunPage
    from app.session import AppSession

    page = RunPage(session)
    pn.panel(page)
    session.open_run(recorded.second)
    assert "bf-3d" in page.scenes.css_classes and page.active_scene() == "packing"
    key = ("scene", recorded.settings, recorded.second)
    assert (*key, "packing") in SCENES and (*key, "mesh") not in SCENES, "only the open tab is built"
    sizes = {}
    for number, kind in enumerate(SCENE_KINDS):
        page.scenes.active = number  # opening the tab builds its view
        (view,) = page.scene_holders[kind].objects
        assert isinstance(view, VTKRenderWindow), f"{kind}: {view}"
        sizes[kind] = sum(len(a) for a in view._arrays.values())
        assert sizes[kind] > 10_000 and view._scene["dependencies"], kind
        model = view.get_root(Document())  # what a browser receives
        assert model.arrays and model.scene["dependencies"], kind
    assert sizes["packing"] != sizes["mesh"] != sizes["velocity"]

    other = RunPage(AppSession(services=recorded.services, user="someone else"))
    pn.panel(other)
    other.session.open_run(recorded.second)
    assert other.scene_holders["packing"].objects[0]._data is page.scene_holders["packing"].objects[0]._data, \
        "a second session built the scene again"


@pytest.mark.slow
def test_the_run_page_follows_a_run_until_it_finishes(recorded, session):
    from app.pages.run import RunPage

    run_id = submit_queued(recorded, 43)
    page = RunPage(session)
    pn.panel(page)
    session.open_run(run_id)
    assert "queued" in page.status.object and page.poller is not None and page.cancel_button.visible
    assert "pack stage" in page.scene_holders["packing"].objects[0].object  # nothing to show yet
    assert page.chart.object is None and not page.chart.visible

    assert claim(run_id, services=recorded.services)
    asyncio.run(page.tick())
    assert "running" in page.status.object
    update_run(recorded.services, run_id, stage="solve", progress=0.55, message="simpleFoam: iteration 12")
    solved_log = Path(recorded.services.work_dir(recorded.second)) / "case" / "log.simpleFoam"
    case = recorded.services.work_dir(run_id) / "case"
    case.mkdir(parents=True, exist_ok=True)
    shutil.copy(solved_log, case / "log.simpleFoam")  # the solver writing its log here
    asyncio.run(page.tick())
    assert "55 %" in page.status.object and "iteration 12" in page.status.object and page.progress.value == 55
    assert page.residuals.visible and "Live" in page.residuals_note.object  # from the local log, while running

    finish(run_id, RunStatus.failed, error="snappyHexMesh: FOAM FATAL ERROR (a test)", services=recorded.services)
    asyncio.run(page.tick())
    assert "failed" in page.status.object and "FOAM FATAL ERROR (a test)" in page.status.object
    assert page.poller is None and not page.cancel_button.visible

    other = submit_queued(recorded, 44)
    session.run_id = other  # the page follows the session's run
    assert f"Run {other}" in page.status.object and page.poller is not None
    click(page.cancel_button)
    assert status_of(recorded, other) is RunStatus.cancelled and "cancelled" in page.status.object
    assert page.poller is None

    session.run_id = 999_999
    assert "Could not load run 999999" in page.status.object


# -- compare -----------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_compare_page_overlays_runs_and_a_sweep(recorded, session):
    import holoviews as hv

    from app.pages.compare import ComparePage

    session.compare([recorded.solved, recorded.second])
    page = ComparePage(session)
    pn.panel(page)
    assert page.runs_picker.value == [recorded.solved, recorded.second]
    assert set(page.runs_picker.options.values()) >= {recorded.solved, recorded.second, *recorded.sweep_runs}
    assert not set(page.runs_picker.options.values()) & set(recorded.queued), "only succeeded runs are offered"
    assert list(page.table.object.index) == [recorded.solved, recorded.second]
    assert "bf-compare-chart" in page.chart.pane.css_classes and page.chart.visible
    points = [e for e in page.chart.object.traverse(lambda e: e, [hv.Scatter]) if e.label == "CFD"][0]
    runs = [get_run(i, services=recorded.services) for i in (recorded.solved, recorded.second)]
    assert sorted(points.dimension_values(0)) == pytest.approx(sorted(r.re_p for r in runs), rel=0.02)
    assert "Ergun" in labelled(page.chart.object)
    # both runs share one packing: drawn once, named after both
    assert len(page.porosity.objects) == 1
    assert f"Run {recorded.solved}, {recorded.second}" in page.porosity.objects[0][0].object
    profile = page.porosity.objects[0][1].object
    assert isinstance(profile, hv.Layout) and len(profile) == 2

    page.sweep_picker.value = recorded.sweep  # a sweep: its runs, and its own plot
    assert page.runs_picker.value == recorded.sweep_runs
    assert list(page.table.object.index) == recorded.sweep_runs
    assert page.sweep_plot.visible and isinstance(page.sweep_plot.object, hv.Layout)
    assert "CFD" in labelled(page.sweep_plot.object)
    with recorded.services.db.session() as s:
        assert s.get(Sweep, recorded.sweep).parameter == "cfd.particle_reynolds"

    page.sweep_picker.value = 0
    page.runs_picker.value = [recorded.second]  # picking runs by hand
    assert list(page.table.object.index) == [recorded.second] and not page.sweep_plot.visible

    session.compare([recorded.queued[0], recorded.solved])  # a run without results is left out
    assert list(page.table.object.index) == [recorded.solved]


@pytest.mark.slow
def test_a_run_result_comes_back_from_its_database_row(recorded):
    from pipeline.results.extract import RunResult

    with recorded.services.db.session() as s:
        row = s.get(Simulation, recorded.solved)
        stored = dict(row.results)
    result = RunResult.from_dict({**stored, "a_key_from_a_newer_bedflow": 1})
    assert result.window == tuple(stored["window"]) and result.dp_dz == stored["dp_dz"]
    assert result.to_dict() == {**stored, "window": tuple(stored["window"])}


@pytest.mark.slow
def test_a_5000_sphere_packing_is_sent_to_browsers_within_the_websocket_limit(recorded):
    from app.components import MAX_SCENE_BYTES, scene_data

    # the scene draws the spheres (one instanced surface), whatever the contact treatment: the gap spares this
    # test the 5 000-sphere bridged union the pack stage would otherwise make (~100 s) for the geometry
    spec = BedSpec.from_dict({"name": "large", "bed": {"diameter": 0.1, "height": 0.2},
                              "particles": {"count": 5000, "diameter": 0.004},
                              "packing": {"contact_treatment": "gap"}})
    run_id = create_run(spec, until="pack", services=recorded.services)
    execute(run_id, services=recorded.services)
    data = asyncio.run(scene_data(recorded.services, run_id, "packing"))
    assert 1_000_000 < data.size <= MAX_SCENE_BYTES, data.size  # Bokeh's websocket takes at most 20 MB
    assert len(data.arrays) >= 3 and data.scene["dependencies"]  # points, normals, triangles, colours


# -- pieces without runs ------------------------------------------------------------------------------------------


def test_the_shared_cache_makes_a_value_once_and_forgets_a_failure():
    import threading

    from app.components import SharedCache

    cache, calls, gate = SharedCache(2), [], threading.Event()

    def make(value):
        def run():
            gate.wait(5)
            calls.append(value)
            if value == "bad":
                raise ValueError("no")
            return value
        return run

    first, second = cache.get("a", make(1)), cache.get("a", make(2))  # asked twice while being made
    gate.set()
    assert first is second and first.result(5) == 1 and calls == [1]
    failed = cache.get("b", make("bad"))
    with pytest.raises(ValueError):
        failed.result(5)
    assert cache.get("b", make(3)).result(5) == 3, "a failure was kept"
    cache.get("c", make(4)).result(5)
    assert "a" not in cache and "b" in cache and "c" in cache  # least recently used goes


def test_only_changed_cells_are_patched():
    import math

    import pandas as pd

    from app.pages.runs import _changes

    old = pd.DataFrame({"status": ["queued", "running"], "progress": [0.0, 40.0], "dp_dz": [math.nan, math.nan]},
                       index=pd.Index([7, 6], name="id"))
    new = old.copy()
    assert _changes(old, new) == {}
    new.loc[6, "progress"], new.loc[7, "status"], new.loc[6, "dp_dz"] = 55.0, "running", 12.5
    assert _changes(old, new) == {"status": [(7, "running")], "progress": [(6, 55.0)], "dp_dz": [(6, 12.5)]}
