"""The 2D plots (viz.plots) and the residual-history parser they read logs with.

Inputs are real: a packing from the native engine, RunResults built with the pipeline's own
correlations and comparisons, a mesh study through the pipeline's Richardson extrapolation, and
(slow) a tiny bed solved by OpenFOAM on two MPI ranks. Figures are checked through their HoloViews
elements (labels, data against the textbook formulas), their Bokeh rendering (log axes, legends) and
their exported files (PNG pixels, SVG XML, self-contained HTML).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import BedSpec, pack
from pipeline.correlations import eisfeld_schnitzlein, ergun, expected_porosity, porosity_correlation
from pipeline.db.queries import RUN_COLUMNS
from pipeline.openfoam.logs import ResidualTracker, residual_history
from pipeline.results.extract import RunResult
from pipeline.results.richardson import richardson
from pipeline.results.validation import BedGeometry, as_meshed, compare
from pipeline.workflow import MeshStudy

ROOT = Path(__file__).resolve().parents[1]
RHO, MU = 998.2, 1.002e-3  # the spec's default fluid (water, 20 °C)
NOMINAL = BedGeometry(particle_diameter=0.005, porosity=0.42, tube_diameter=0.025)
MESHED = as_meshed(NOMINAL, 0.01, 0.435)


@pytest.fixture(scope="module", autouse=True)
def _matplotlib_cache(tmp_path_factory: pytest.TempPathFactory):
    """This module's matplotlib cache in a temporary folder, and the environment restored afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPLCONFIGDIR", str(tmp_path_factory.mktemp("mplconfig")))
        patch.setenv("MPLBACKEND", os.environ.get("MPLBACKEND", "Agg"))
        yield


@pytest.fixture(scope="module")
def hv():
    from viz.plots import _hv

    return _hv()


def elements(obj, hv, kinds=None) -> dict[str, list]:
    """The labelled Curves/Scatters/Areas of a plot, by label (a label may name a curve and its points)."""
    kinds = kinds or [hv.Curve, hv.Scatter, hv.Area]
    found: dict[str, list] = {}
    for element in obj.traverse(lambda e: e, kinds):
        if element.label:
            found.setdefault(element.label, []).append(element)
    return found


def only(found: dict[str, list], label: str, kind):
    matches = [e for e in found[label] if isinstance(e, kind)]
    assert len(matches) == 1, (label, found[label])
    return matches[0]


def xy(element) -> tuple[np.ndarray, np.ndarray]:
    return element.dimension_values(0), element.dimension_values(1)


def make_result(re_p: float, ratio: float = 1.05) -> RunResult:
    """A RunResult as bed_result makes it: dp/dz = ratio × Ergun (as meshed), correlations by the pipeline."""
    u = re_p * MU / (RHO * NOMINAL.particle_diameter)
    dp = ratio * ergun(MESHED.particle_diameter, MESHED.porosity, u, RHO, MU)
    d, eps = MESHED.particle_diameter, MESHED.porosity
    z = np.linspace(-0.01, 0.04, 51)
    p = dp * (0.03 - np.clip(z, 0.0, 0.03)) + 1e-5 * dp * np.sin(z * 2000.0)  # a bed from 0 to 30 mm, wiggly
    return RunResult(
        case_dir="", cells=100_000, iterations=200, converged=True, dp_dz=dp, dp_dz_r_squared=0.999,
        window=(0.005, 0.025), dp_inlet_outlet=float(p[0]), porosity_core=eps, porosity_mesh=eps,
        superficial_velocity=u, re_p=re_p, friction_factor=dp * d * eps**3 / (RHO * u * u * (1 - eps)),
        as_meshed=compare(dp, MESHED, u, RHO, MU, "as meshed"),
        nominal=compare(dp, NOMINAL, u, RHO, MU, "nominal"),
        profile={"z": z.tolist(), "p": p.tolist(), "porosity": [0.44] * len(z)},
    )


def runs_frame(results: list[RunResult]) -> pd.DataFrame:
    """Runs as ``pipeline.db.queries.to_dataframe`` lays them out, from RunResults."""
    rows = []
    for k, r in enumerate(results):
        rows.append({"id": k + 1, "bed": "viz", "status": "done", "sweep_id": 1, "regime": "laminar",
                     "particle_diameter": NOMINAL.particle_diameter, "superficial_velocity": r.superficial_velocity,
                     "re_p": r.re_p, "resolution": 12, "cells": r.cells, "porosity": r.porosity_core,
                     "dp_dz": r.dp_dz, "ratio_ergun": r.as_meshed.ratios["ergun"],
                     "ratio_eisfeld_schnitzlein": r.as_meshed.ratios["eisfeld_schnitzlein"]})
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS)).set_index("id")


# --- residual_history ----------------------------------------------------------------------------------

LOG_EXCERPT = """\
/*---------------------------------------------------------------------------*\\
Exec   : simpleFoam -parallel
Time   : 03:23:29
nProcs : 2
Create mesh for time = 0
smoothSolver:  Solving for Ux, Initial residual = 0.77, Final residual = 0.1, No Iterations 1
Starting time loop

Time = 1

smoothSolver:  Solving for Ux, Initial residual = 1, Final residual = 0.0123, No Iterations 3
smoothSolver:  Solving for Uz, Initial residual = 0.5, Final residual = 0.01, No Iterations 2
GAMG:  Solving for p, Initial residual = 1, Final residual = 0.009, No Iterations 12
GAMG:  Solving for p, Initial residual = 0.2, Final residual = 0.002, No Iterations 6
time step continuity errors : sum local = 1e-05, global = 1e-20, cumulative = 1e-20
smoothSolver:  Solving for omega, Initial residual = 0.047, Final residual = 0.003, No Iterations 1
smoothSolver:  Solving for k, Initial residual = 1, Final residual = 0.08, No Iterations 1
ExecutionTime = 0.1 s  ClockTime = 0 s

[1,0]<stdout>:Time = 2
[1,0]<stdout>:
[1,0]<stdout>:smoothSolver:  Solving for Ux, Initial residual = 0.0123, Final residual = 0.0001, No Iterations 3
smoothSolver:  Solving for Uz, Initial residual = 0.02, Final residual = 0.0002, No Iterations 2\r
GAMG:  Solving for p, Initial residual = 0.3, Final residual = 0.003, No Iterations 10
smoothSolver:  Solving for U, Initial residual = (0.1 0.2 0.3), Final residual = (0.01 0.02 0.03), No Iterations 2
smoothSolver:  Solving for omega, Initial residual = 0.03, Final residual = 0.002, No Iterations 1
smoothSolver:  Solving for k, Initial residual = 0.5, Final residual = 0.04, No Iterations 1

Time = 3

smoothSolver:  Solving for Ux, Initial residual = 0.004, Final residual = 0.0001, No Iterations 3
smoothSolver:  Solving for Uz, Initial residual = 0.005, Final res"""


def test_residual_history_keeps_the_first_solve_of_each_field_per_iteration() -> None:
    history = residual_history(LOG_EXCERPT)
    assert history == {
        "Ux": [(1, 1.0), (2, 0.0123), (3, 0.004)],  # the solve before "Time = 1" is not an iteration
        "Uz": [(1, 0.5), (2, 0.02)],  # iteration 3's Uz line is cut off: dropped, not misread
        "p": [(1, 1.0), (2, 0.3)],  # the first p solve, not the non-orthogonal corrector's
        "omega": [(1, 0.047), (2, 0.03)],
        "k": [(1, 1.0), (2, 0.5)],
    }


def test_residual_history_reads_paths_and_text_alike(tmp_path: Path) -> None:
    log = tmp_path / "log.simpleFoam"
    log.write_text(LOG_EXCERPT)
    assert residual_history(log) == residual_history(str(log)) == residual_history(LOG_EXCERPT)
    assert residual_history("no such log") == {}  # a one-line string naming no file is text
    assert residual_history("x" * 5000) == {}  # too long to be a file name: text too


def test_residual_history_ends_where_the_tracker_does() -> None:
    clean = "\n".join(line for line in LOG_EXCERPT.splitlines() if "<stdout>" not in line)
    tracker = ResidualTracker(10)
    for line in clean.splitlines():
        tracker(line)
    assert {field: values[-1][1] for field, values in residual_history(clean).items()} == tracker.residuals


def test_residual_history_lets_a_restart_overwrite_its_iterations() -> None:
    first = "Time = 1\nsmoothSolver:  Solving for Ux, Initial residual = 1, Final residual = 0.1, No Iterations 1\n"
    again = "Time = 1\nsmoothSolver:  Solving for Ux, Initial residual = 0.5, Final residual = 0.1, No Iterations 1\n"
    assert residual_history(first + again) == {"Ux": [(1, 0.5)]}


# --- porosity profiles -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def packing():
    return pack(BedSpec.from_dict({"name": "plots", "bed": {"height": 0.06}, "particles": {"count": 200}}))


def test_porosity_profiles_draw_the_packing_against_the_correlation(packing, hv) -> None:
    from viz.plots import porosity_profiles

    layout = porosity_profiles(packing, radial_bins=40, axial_bins=60)
    assert isinstance(layout, hv.Layout) and len(layout) == 2
    radial_panel, axial_panel = layout
    d = packing.diameter  # spheres: the volume-equivalent diameter
    radial = elements(radial_panel, hv)
    x, y = xy(only(radial, "Radial profile", hv.Curve))
    wall, eps = packing.radial_porosity(40)
    np.testing.assert_allclose(x, wall / d)
    np.testing.assert_allclose(y, eps)
    assert x.max() == pytest.approx(packing.container.radius / d, rel=0.05)  # the axis spans the radius
    name = porosity_correlation("sphere").name
    [model] = [label for label in radial if label.startswith(name)]
    expected = expected_porosity("sphere", packing.aspect_ratio)
    np.testing.assert_allclose(xy(only(radial, model, hv.Curve))[1], expected)
    [mean] = [label for label in radial if label.startswith("Bed mean")]
    np.testing.assert_allclose(xy(only(radial, mean, hv.Curve))[1], packing.porosity())

    axial = elements(axial_panel, hv)
    z, eps_z = xy(only(axial, "Axial profile", hv.Curve))
    np.testing.assert_allclose(eps_z, packing.axial_porosity(60)[1])
    assert len(z) == 60 and z.max() * d > packing.bed_height()
    [core] = [label for label in axial if label.startswith("Core")]
    z_core, eps_core = xy(only(axial, core, hv.Curve))
    np.testing.assert_allclose(z_core * d, packing.core_range())
    np.testing.assert_allclose(eps_core, packing.core_porosity())
    assert model in axial
    # Near the wall the bed is open; half a diameter in, it is densest (the packed-bed signature).
    assert y[0] > 0.8 and y[np.argmin(abs(x - 0.5))] < 0.35


# --- residuals ----------------------------------------------------------------------------------------------


def test_residuals_plot_has_one_log_curve_per_field(hv) -> None:
    from viz.plots import residuals_plot

    history = residual_history(LOG_EXCERPT)
    history["Uy"] = [(1, 0.9), (2, 0.0), (3, float("nan"))]  # nothing a log axis can show but (1, 0.9)
    plot = residuals_plot(history, tolerance=1e-5)
    found = elements(plot, hv)
    assert set(found) == {"Ux", "Uz", "p", "omega", "k", "Uy", "Tolerance 1e-05"}
    assert xy(only(found, "Uy", hv.Curve))[1].tolist() == [0.9]
    assert xy(only(found, "Ux", hv.Curve))[0].tolist() == [1, 2, 3]
    figure = hv.render(plot, backend="bokeh")
    assert type(figure.y_scale).__name__ == "LogScale" and type(figure.x_scale).__name__ == "LinearScale"
    assert figure.xaxis[0].axis_label == "Iteration" and "residual" in figure.yaxis[0].axis_label
    assert {item.label["value"] for item in figure.legend[0].items} >= {"Ux", "p", "k", "omega"}
    with pytest.raises(ValueError):
        residuals_plot({})


# --- validation chart -------------------------------------------------------------------------------------

CURVES = ("Ergun", "Eisfeld–Schnitzlein", "KTA")


def test_friction_chart_names_its_curves_and_follows_the_formulas(hv) -> None:
    from viz.plots import friction_chart

    results = [make_result(re_p, ratio) for re_p, ratio in ((0.5, 1.02), (5.0, 1.05), (50.0, 1.12))]
    chart = friction_chart(results)
    found = elements(chart, hv)
    assert set(found) == {*CURVES, "CFD"}
    d, eps, tube = MESHED.particle_diameter, MESHED.porosity, MESHED.tube_diameter
    re, f = xy(only(found, "Ergun", hv.Curve))
    assert re.min() <= 0.1 and re.max() >= 1000  # spans the viscous and the inertial regime
    # Ergun's friction factor is the textbook line 150 (1 - ε)/Re_p + 1.75.
    np.testing.assert_allclose(f, 150 * (1 - eps) / re + 1.75, rtol=1e-10)
    k = np.argmin(abs(re - 10.0))
    u = re[k] * MU / (RHO * d)
    scale = d * eps**3 / (RHO * u * u * (1 - eps))
    assert f[k] == pytest.approx(ergun(d, eps, u, RHO, MU) * scale, rel=1e-10)
    re_es, f_es = xy(only(found, "Eisfeld–Schnitzlein", hv.Curve))
    assert f_es[k] == pytest.approx(eisfeld_schnitzlein(d, eps, u, RHO, MU, tube) * scale, rel=1e-10)
    assert f_es[k] > f[k]  # at D/d = 5 the wall friction wins at low Re_p
    # The CFD points: the runs' friction factors, at Re_p of the as-meshed diameter, ratio × Ergun above it.
    re_cfd, f_cfd = xy(only(found, "CFD", hv.Scatter))
    np.testing.assert_allclose(f_cfd, [r.friction_factor for r in results], rtol=1e-10)
    np.testing.assert_allclose(re_cfd, [r.re_p * d / NOMINAL.particle_diameter for r in results], rtol=1e-10)
    ergun_at_points = np.exp(np.interp(np.log(re_cfd), np.log(re), np.log(f)))
    np.testing.assert_allclose(f_cfd / ergun_at_points, [1.02, 1.05, 1.12], rtol=1e-3)
    assert not chart.traverse(lambda e: e, [hv.ErrorBars])  # no uncertainty known: no error bars
    results[1].dp_dz_uncertainty = 0.04 * results[1].dp_dz  # the fit's 95 % interval, as a run reports it
    (bars,) = friction_chart(results).traverse(lambda e: e, [hv.ErrorBars])
    assert bars.dimension_values(0).tolist() == pytest.approx([re_cfd[1]])
    assert bars.dimension_values(2).tolist() == pytest.approx([0.04 * f_cfd[1]])

    figure = hv.render(chart, backend="bokeh")
    assert type(figure.x_scale).__name__ == "LogScale" and type(figure.y_scale).__name__ == "LogScale"
    assert {item.label["value"] for item in figure.legend[0].items} == {*CURVES, "CFD"}


def test_friction_chart_in_pressure_gradient_and_from_a_dataframe(hv) -> None:
    from viz.plots import friction_chart

    results = [make_result(re_p) for re_p in (1.0, 10.0)]
    chart = friction_chart(runs_frame(results), MESHED, quantity="dp_dz", re_range=(0.5, 200.0))
    found = elements(chart, hv)
    assert set(found) == {*CURVES, "CFD"}
    re, dp = xy(only(found, "KTA", hv.Curve))
    assert (re.min(), re.max()) == pytest.approx((0.5, 200.0))
    from pipeline.correlations import kta

    u = re * MU / (RHO * MESHED.particle_diameter)
    np.testing.assert_allclose(dp, kta(MESHED.particle_diameter, MESHED.porosity, u, RHO, MU), rtol=1e-10)
    np.testing.assert_allclose(xy(only(found, "CFD", hv.Scatter))[1], [r.dp_dz for r in results])
    with pytest.raises(ValueError, match="geometry"):
        friction_chart(runs_frame(results))  # a DataFrame does not say what bed the curves are for


def test_friction_chart_refuses_a_fluid_the_runs_were_not_solved_with() -> None:
    from viz.plots import friction_chart

    with pytest.raises(ValueError, match="viscosity"):
        friction_chart([make_result(5.0)], density=1.2, viscosity=1.8e-5)  # air: Re_p says water


# --- sweeps, mesh studies, pressure profiles ----------------------------------------------------------------


def test_sweep_plot_shows_gradients_and_ratios_against_the_swept_parameter(hv) -> None:
    from viz.plots import sweep_plot

    results = [make_result(re_p, ratio) for re_p, ratio in ((20.0, 1.1), (0.5, 1.0), (5.0, 1.05), (2.0, 1.03))]
    frame = runs_frame(results)
    frame.loc[len(frame) + 1, ["status", "re_p"]] = ["failed", 100.0]  # a failed run has no result
    layout = sweep_plot(frame, "cfd.particle_reynolds")
    left, right = (elements(panel, hv) for panel in layout)
    x, dp = xy(only(left, "CFD", hv.Curve))
    assert x.tolist() == [0.5, 2.0, 5.0, 20.0]  # sorted, the failed run left out
    _, ergun_dp = xy(only(left, "Ergun", hv.Curve))
    np.testing.assert_allclose(dp / ergun_dp, [1.0, 1.03, 1.05, 1.1])
    np.testing.assert_allclose(xy(only(right, "CFD / Ergun", hv.Curve))[1], [1.0, 1.03, 1.05, 1.1])
    assert "CFD / Eisfeld–Schnitzlein" in right and "CFD = correlation" in right
    figure = hv.render(layout, backend="bokeh")
    scales = [type(child[0].x_scale).__name__ for child in figure.children]
    assert scales == ["LogScale", "LogScale"]  # Re_p spans 0.5-20
    with pytest.raises(ValueError, match="no column"):
        sweep_plot(frame, "bed.roughness")


def test_validation_plot_shows_each_ratio_with_the_study_uncertainty(hv, tmp_path) -> None:
    from viz.plots import save, validation_plot

    summary = [{"bed": "dd5", "aspect_ratio": 5.0, "reynolds": 1.0, "uncertainty": 0.05,
                "ratios": {"ergun": 1.3, "eisfeld_schnitzlein": 0.8, "carman": 1.1, "beetstra": 1.0}},
               {"bed": "dd10", "aspect_ratio": 10.0, "reynolds": 20.0, "uncertainty": math.nan,
                "ratios": {"ergun": 1.2, "eisfeld_schnitzlein": 0.9, "carman": 1.0, "beetstra": 0.95}}]
    plot = validation_plot(summary)
    found = elements(plot, hv)
    _, ratios = xy(only(found, "dd5, D/d 5, Reₚ 1", hv.Scatter))
    assert ratios.tolist() == [1.3, 0.8, 1.1, 1.0]
    bars = plot.traverse(lambda e: e.dimension_values(2).tolist(), [hv.ErrorBars])
    assert bars[0] == pytest.approx([0.065, 0.04, 0.055, 0.05]) and bars[1] == [0.0] * 4  # no uncertainty: none
    assert "CFD = correlation" in found
    assert save(plot, tmp_path / "validation.png").stat().st_size > 10_000


def test_mesh_independence_shows_the_extrapolation_and_its_band(hv) -> None:
    from viz.plots import mesh_independence

    resolutions = [6, 8, 12]
    values = [31.0, 28.9, 27.8]
    results = [make_result(5.0) for _ in resolutions]
    for result, cells, value in zip(results, (40_000, 90_000, 300_000), values):
        result.cells, result.dp_dz = cells, value
    d = NOMINAL.particle_diameter
    study = MeshStudy(resolutions, results, richardson(tuple(d / n for n in resolutions), tuple(values)))
    summary = study.summary()
    plot = mesh_independence(study)
    found = elements(plot, hv)
    cells, dp = xy(only(found, "CFD", hv.Curve))
    assert cells.tolist() == [40_000, 90_000, 300_000] and dp.tolist() == values
    [level] = [label for label in found if label.startswith("Richardson")]
    np.testing.assert_allclose(xy(only(found, level, hv.Curve))[1], summary["dp_dz_extrapolated"])
    assert summary["dp_dz_extrapolated"] < 27.8  # monotonic convergence from above
    [band] = [label for label in found if label.startswith("GCI")]
    area = only(found, band, hv.Area)
    gci = summary["gci_fine"]
    np.testing.assert_allclose(area.dimension_values(1), 27.8 * (1 - gci))
    np.testing.assert_allclose(area.dimension_values(2), 27.8 * (1 + gci))
    texts = plot.traverse(lambda e: e.dimension_values(2).tolist(), [hv.Labels])
    assert texts == [["6/d", "8/d", "12/d"]]
    figure = hv.render(plot, backend="bokeh")
    assert type(figure.x_scale).__name__ == "LogScale"


def test_pressure_profile_plot_marks_the_core_window_and_its_fit(hv) -> None:
    from viz.plots import pressure_profile_plot

    result = make_result(5.0)
    plot = pressure_profile_plot(result)
    found = elements(plot, hv)
    z, p = xy(only(found, "Plane average", hv.Curve))
    np.testing.assert_allclose(z, np.array(result.profile["z"]) * 1e3)  # mm
    np.testing.assert_allclose(p, result.profile["p"])
    [fit] = [label for label in found if label.startswith("Core fit")]
    z_fit, p_fit = xy(only(found, fit, hv.Curve))
    np.testing.assert_allclose(z_fit, np.array(result.window) * 1e3)
    assert (p_fit[0] - p_fit[1]) / (result.window[1] - result.window[0]) == pytest.approx(result.dp_dz)
    inside = (np.array(result.profile["z"]) >= 0.005) & (np.array(result.profile["z"]) <= 0.025)
    assert np.interp(15.0, z_fit, p_fit) == pytest.approx(np.interp(15.0, z, p), rel=0.01)  # on the data
    [span] = plot.traverse(lambda e: e, [hv.VSpan])
    assert (span.data[0], span.data[1]) == pytest.approx((5.0, 25.0))
    assert inside.sum() > 3


# --- export ------------------------------------------------------------------------------------------------


def _figures():
    from viz import plots

    results = [make_result(re_p) for re_p in (1.0, 5.0, 20.0)]
    return {
        "friction": lambda: plots.friction_chart(results),
        "sweep": lambda: plots.sweep_plot(runs_frame(results), "re_p"),
        "residuals": lambda: plots.residuals_plot(LOG_EXCERPT),
    }


@pytest.mark.parametrize("name", ["friction", "sweep", "residuals"])
def test_png_export_is_a_drawn_image(name: str, tmp_path: Path) -> None:
    import matplotlib.image
    import matplotlib.pyplot as plt

    from viz.plots import save

    figures_before = set(plt.get_fignums())
    path = save(_figures()[name](), tmp_path / f"{name}.png")
    image = matplotlib.image.imread(path)[..., :3]
    height, width = image.shape[:2]
    assert width >= 800 and height >= 500  # 200 dpi
    grey = image.mean(axis=2)
    assert grey.std() > 0.05  # not blank
    assert 0.01 < (grey < 0.9).mean() < 0.5  # ink, but mostly paper
    assert set(plt.get_fignums()) == figures_before  # no figure left open


def test_svg_export_is_xml(tmp_path: Path) -> None:
    from viz.plots import save

    path = save(_figures()["friction"](), tmp_path / "nested" / "chart.svg")
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 20


def test_html_export_is_self_contained(tmp_path: Path) -> None:
    from viz.plots import save

    path = save(_figures()["friction"](), tmp_path / "chart.html")
    html = path.read_text(encoding="utf-8")
    assert not re.findall(r"<script[^>]*\bsrc=", html), "scripts must be inline"
    assert not re.findall(r"<link[^>]*href=[\"']?(?:https?:)?//", html), "no external stylesheet or icon"
    assert "Bokeh" in html and len(html) > 500_000  # BokehJS itself is in the file
    assert "Ergun" in html and "KTA" in html


def test_save_refuses_other_formats(tmp_path: Path) -> None:
    from viz.plots import save

    with pytest.raises(ValueError, match="png"):
        save(_figures()["residuals"](), tmp_path / "plot.pdf")


def test_matplotlib_keeps_its_cache_in_the_data_dir_headless(tmp_path: Path) -> None:
    """In a fresh process without MPLCONFIGDIR or a display: the cache goes to <data>/cache, drawn with Agg."""
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "MPLBACKEND", "DISPLAY",
                                                            "WAYLAND_DISPLAY")}
    env["BEDFLOW_DATA_DIR"] = str(tmp_path / "data")
    code = ("import sys; from viz import plots; "
            "plots.save(plots.residuals_plot({'p': [(1, 1.0), (2, 0.1)]}), sys.argv[1]); "
            "import matplotlib; print(matplotlib.get_configdir()); print(matplotlib.get_backend())")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r.png")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    config, backend = done.stdout.split()[-2:]
    assert Path(config) == tmp_path / "data" / "cache" / "matplotlib" and Path(config).is_dir()
    assert backend.lower() == "agg"
    assert (tmp_path / "r.png").stat().st_size > 10_000


# --- a real solve -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """A tiny bed (20 spheres, D/d = 3) meshed coarsely and solved for 50 iterations on two MPI ranks."""
    from pipeline.workflow import run

    folder = tmp_path_factory.mktemp("tiny-bed")
    spec = BedSpec.from_dict({"name": "viz-tiny", "bed": {"diameter": 0.015, "height": 0.02},
                              "particles": {"count": 20},
                              "cfd": {"mesh_cells_per_diameter": 6, "surface_refinement": 0, "boundary_layers": 0,
                                      "max_iterations": 50, "processes": 2,
                                      "write_fields": False}})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BEDFLOW_DATA_DIR", str(folder / "data"))
        return run(spec, folder=folder / "run")


@pytest.mark.slow
def test_a_real_parallel_log_gives_the_solver_residuals(solved: RunResult, hv, tmp_path: Path) -> None:
    from viz.plots import residuals_plot, save

    log = Path(solved.case_dir) / "log.simpleFoam"
    assert "nProcs : 2" in log.read_text()
    history = residual_history(log)
    assert set(history) == {"Ux", "Uy", "Uz", "p"}
    for field, values in history.items():
        assert [i for i, _ in values] == list(range(1, solved.iterations + 1)), field
        peak = max(residual for _, residual in values)  # transverse U starts small: its flow is zero at first
        assert peak > 0.1 and values[-1][1] < peak * 1e-2, field  # the solve converges
    assert {field: values[-1][1] for field, values in history.items()} == solved.residuals  # what the run kept
    image = save(residuals_plot(history, tolerance=1e-5), tmp_path / "residuals.png")
    assert image.stat().st_size > 10_000


@pytest.mark.slow
def test_a_real_result_on_the_validation_chart_and_its_profile(solved: RunResult, hv, tmp_path: Path) -> None:
    from viz.plots import friction_chart, pressure_profile_plot, save

    found = elements(friction_chart([solved]), hv)
    assert set(found) == {*CURVES, "CFD"}
    (re_cfd,), (f_cfd,) = xy(only(found, "CFD", hv.Scatter))
    assert f_cfd == pytest.approx(solved.friction_factor, rel=1e-9)
    assert re_cfd == pytest.approx(solved.re_p * solved.as_meshed.geometry.particle_diameter
                                   / solved.nominal.geometry.particle_diameter, rel=1e-6)
    re, f = xy(only(found, "Ergun", hv.Curve))
    ergun_there = math.exp(np.interp(math.log(re_cfd), np.log(re), np.log(f)))
    assert f_cfd / ergun_there == pytest.approx(solved.as_meshed.ratios["ergun"], rel=1e-3)
    for plot, name in ((friction_chart([solved]), "chart.png"), (pressure_profile_plot(solved), "profile.svg")):
        assert save(plot, tmp_path / name).stat().st_size > 10_000
