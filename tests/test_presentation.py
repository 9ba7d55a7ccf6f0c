"""Typed results and how they are shown: `PackingReport`, `MeshQuality`, `RunResult` holding `Comparison`s, and the
one set of labelled quantities (pipeline.results.presentation) the CLI, the dashboard and the report all lay out."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pipeline.openfoam import MeshQuality
from pipeline.packing import Container, Packing, PackingReport
from pipeline.results import BedGeometry, Comparison, RunResult, as_meshed, compare
from pipeline.results.presentation import (MISSING, ValueRow, correlation_rows, format_value, mesh_rows,
                                           packing_rows, result_rows)

RHO, MU, U = 998.2, 1.002e-3, 0.002
NOMINAL = BedGeometry(particle_diameter=0.005, porosity=0.42, tube_diameter=0.025)
MESH = MeshQuality(cells=123_456, points=130_000, faces=380_000, max_non_orthogonality=48.5, max_skewness=2.1,
                   failed_checks=0, ok=True, seconds=61.5, phase_seconds={"refine": 10.0, "snap": 40.0})


def a_result(dp: float = 35.0) -> RunResult:
    meshed = as_meshed(NOMINAL, 0.01, 0.435)
    return RunResult(
        case_dir="/runs/x/case", cells=MESH.cells, iterations=412, converged=True, dp_dz=dp, dp_dz_r_squared=0.9991,
        window=(0.005, 0.04), dp_inlet_outlet=1.7, porosity_core=0.435, porosity_mesh=0.431, superficial_velocity=U,
        re_p=9.96, friction_factor=12.3, as_meshed=compare(dp, meshed, U, RHO, MU, "as meshed"),
        nominal=compare(dp, NOMINAL, U, RHO, MU, "nominal"),
        mesh_porosity=compare(dp, as_meshed(NOMINAL, 0.01, 0.431), U, RHO, MU, "at the mesh's porosity"),
        mesh=MESH, residuals={"p": 1e-5}, seconds={"solve": 30.0}, window_diameters=7.0, dp_dz_uncertainty=0.4,
        wall_share=0.123, wall_share_reichelt=0.1, near_wall_area_share=0.2, near_wall_flow_share=0.25)


def test_a_result_keeps_its_types_through_json_and_the_database_column() -> None:
    result = a_result()
    stored = json.loads(json.dumps(result.to_dict()))  # what results.json and the simulation row hold
    assert stored["as_meshed"]["ratios"]["ergun"] == result.as_meshed.ratios["ergun"]  # the stored shape
    back = RunResult.from_dict(stored)
    assert isinstance(back.as_meshed, Comparison) and isinstance(back.mesh, MeshQuality)
    assert back.as_meshed == result.as_meshed and back.nominal == result.nominal
    assert back.mesh_porosity == result.mesh_porosity and back.mesh == result.mesh
    assert back.window == result.window and back.summary() == result.summary()


def test_a_result_stored_by_an_older_version_still_loads() -> None:
    """Results recorded before the mesh's porosity was compared, or before the mesh quality was kept."""
    stored = a_result().to_dict()
    stored.update(mesh_porosity={}, mesh={}, some_future_key=1)
    del stored["near_wall_flow_share"]
    back = RunResult.from_dict(stored)
    assert back.mesh_porosity is None and back.summary()["ratios_at_mesh_porosity"] == {}
    assert back.mesh == MeshQuality() and math.isnan(back.near_wall_flow_share)


def test_values_are_written_one_way() -> None:
    assert [format_value(v) for v in (None, math.nan, True, False, 1234567, 0.123456789, (1.5, 2.25))] == \
        [MISSING, MISSING, "yes", "no", "1,234,567", "0.1235", "1.5 – 2.25"]
    assert ValueRow("x", "X", 35.4761, "Pa/m", 5).text == "35.476 Pa/m"
    assert ValueRow("x", "X", math.nan, "Pa/m").text == MISSING  # no unit after a missing value


def test_a_result_shows_its_headline_numbers_with_units() -> None:
    shown = {q.key: q for q in result_rows(a_result())}
    assert shown["dp_dz"].text == "35 Pa/m" and shown["dp_dz_uncertainty"].text == "0.4 Pa/m"
    assert shown["window"].text == "5 – 40 mm" and shown["window_diameters"].text == "7 d"
    assert shown["wall_share"].text == "12.3 %" and shown["near_wall_flow_share"].value == pytest.approx(25.0)
    assert shown["particle_diameter"].text == "4.95 mm"  # shrunk by the 1 % contact gap
    assert shown["cells"].text == "123,456" and shown["converged"].text == "yes"
    assert len(shown) == len(result_rows(a_result()))  # keys are unique


def test_correlation_rows_follow_the_comparisons() -> None:
    result = a_result()
    rows = correlation_rows(result)
    assert [r.key for r in rows][:2] == ["ergun", "eisfeld_schnitzlein"]
    ergun = rows[0]
    assert ergun.label == "Ergun" and ergun.meshed == result.ergun_dp_dz
    assert ergun.ratio_meshed == pytest.approx(result.dp_dz / result.ergun_dp_dz)
    assert ergun.ratio_nominal == result.nominal.ratios["ergun"] != ergun.ratio_meshed


def test_a_mesh_shows_its_checks_resolution_and_phases() -> None:
    shown = {q.key: q.text for q in mesh_rows(MESH, 12)}
    assert shown["cells"] == "123,456" and shown["ok"] == "passed" and shown["failed_checks"] == "0"
    assert shown["max_non_orthogonality"] == "48.5 °" and shown["resolution"].startswith("12 cells per")
    assert shown["phase_seconds.snap"] == "40 s" and shown["seconds"] == "61.5 s"
    failed = {q.key: q.text for q in mesh_rows(MeshQuality(cells=10, failed_checks=2))}
    assert failed["ok"] == "failed" and failed["points"] == MISSING and "resolution" not in failed


def test_a_packing_report_measures_the_packing_and_round_trips() -> None:
    column = Container(diameter=0.02, height=0.02, wall_thickness=0.002, clearance=0.0, bottom_type="flat",
                       top_type="open", bottom_thickness=0.002, top_thickness=0.0)
    d = 0.004
    z = 0.51 * d  # 0.01 d above the floor
    centres = np.array([[0.0, 0.0, z], [d * 1.001, 0.0, z], [0.0, 0.0, z + 1.1 * d]])  # the closest: 0.001 d
    packing = Packing(container=column, kind="sphere", diameter=d, length=d, centres=centres)
    report = PackingReport.of(packing)
    assert report.count == 3 and report.overlaps == 0 and report.engine == packing.engine
    assert report.porosity == pytest.approx(packing.porosity()) and 0 < report.porosity < 1
    assert report.min_gap == pytest.approx(0.001 * d, rel=1e-6)
    timed = report.with_seconds(geometry=0.5)
    assert timed.seconds["geometry"] == 0.5 and "geometry" not in report.seconds
    assert PackingReport.from_dict(json.loads(json.dumps(timed.to_dict()))) == timed
    assert "seconds" not in timed.metrics()  # what a packing row keeps beside its timings
    shown = {q.key: q.text for q in packing_rows(report)}
    assert shown["count"] == "3" and shown["overlaps"] == "0" and shown["engine"] == packing.engine
    assert "Packing of 3 spheres" in packing._repr_html_() and "Coordination number" in packing._repr_html_()


def test_objects_show_themselves_in_jupyter_as_escaped_tables() -> None:
    from pipeline import BedSpec
    from pipeline.db import RunStatus, Simulation, Sweep
    from pipeline.runs import SweepRuns

    result = a_result()
    page = result._repr_html_()
    assert page.startswith("<table>") and "Δp/L, core-window fit" in page and "35 Pa/m" in page
    assert "CFD / Ergun (as meshed)" in page
    spec = BedSpec().updated({"name": "<script>alert(1)</script>"})
    shown = spec._repr_html_()
    assert "<script>" not in shown and "&lt;script&gt;" in shown and "D/d" in shown
    run = Simulation(id=7, status=RunStatus.running, stage="mesh", progress=0.4, re_p=1.0, aspect_ratio=5.0,
                     created_by="ana <b>", error=None)
    shown = run._repr_html_()
    assert "Run 7 (ana &lt;b&gt;)" in shown and "40 %" in shown and "mesh" in shown
    sweep = Sweep(id=3, name="Re sweep", parameter="cfd.particle_reynolds", values=[1, 10.0], created_by="")
    assert "1, 10" in sweep._repr_html_() and "cfd.particle_reynolds" in sweep._repr_html_()
    assert "4, 5, 6" in SweepRuns(3, (4, 5, 6))._repr_html_()


def test_panel_lays_the_objects_out_with_the_same_tables() -> None:
    """``pn.panel(obj)`` of a spec or a result is an HTML pane with its ``_repr_html_`` table (a result: what Panel
    does with any object that has one; a spec: its ``__panel__``, not Panel's widgets for a Parameterized), so
    ``pn.Row(spec, result)`` works in an app or a notebook."""
    import panel as pn

    from pipeline import BedSpec

    for obj in (BedSpec(), a_result()):
        pane = pn.panel(obj)
        assert isinstance(pane, pn.pane.HTML), type(pane)
        shown = pane.object if isinstance(pane.object, str) else pane.object._repr_html_()
        assert shown == obj._repr_html_()


def test_runs_frame_is_a_pandas_frame_of_the_recorded_runs() -> None:
    import pandas as pd

    import pipeline
    from pipeline.runs import create_run, open_services

    from pipeline import BedSpec

    services = open_services()
    first = create_run(BedSpec(), services=services)
    second = create_run(BedSpec().updated({"particles.count": 40}), services=services)
    frame = pipeline.runs_frame()
    assert isinstance(frame, pd.DataFrame) and list(frame.index) == [second, first]
    assert list(pipeline.runs_frame(status="queued", limit=1).index) == [second]
