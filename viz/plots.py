"""HoloViews plots of packings, solver residuals and results: the 2D figures of bedflow.

Every function takes what :mod:`pipeline` produces (a :class:`~pipeline.packing.Packing`, a
:class:`~pipeline.results.extract.RunResult`, a runs DataFrame from
:func:`pipeline.db.queries.to_dataframe`, a mesh-study summary, a residual history) and returns a
HoloViews object styled for both backends: Bokeh for interactive use (dashboard, notebooks) and
matplotlib for static figures in reports (:func:`save` writes ``.png``/``.svg`` with matplotlib,
``.html`` with Bokeh). The numbers drawn are computed by :mod:`pipeline`: porosity profiles by the
packing, correlations by :mod:`pipeline.correlations`; this module only converts them to the axes
of a chart (particle diameters, the friction factor).

HoloViews and its backends are imported on first use. When no backend is loaded yet, Bokeh is
(``hv.extension("bokeh")``); matplotlib's options are registered alongside without becoming the
current backend. Matplotlib keeps its cache in ``<data dir>/cache/matplotlib`` unless
``MPLCONFIGDIR`` is set, and draws with Agg when there is no display.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from pipeline.correlations import PRESSURE_DROP_NAMES, expected_porosity, porosity_correlation, pressure_gradients
from pipeline.openfoam.logs import residual_history
from pipeline.results.validation import BedGeometry
from pipeline.settings import Settings
from pipeline.spec.sections import CfdSection

if TYPE_CHECKING:
    import holoviews as hv
    import pandas as pd

    from pipeline.packing import Packing
    from pipeline.results.extract import RunResult
    from pipeline.workflow import MeshStudy

__all__ = [
    "CORRELATION_LABELS",
    "SWEEP_COLUMNS",
    "friction_chart",
    "friction_factor",
    "mesh_independence",
    "porosity_profiles",
    "pressure_profile_plot",
    "residuals_plot",
    "save",
    "sweep_plot",
    "validation_plot",
]

#: Legend names of the pressure-drop correlations (keys of :func:`pipeline.correlations.pressure_gradients`).
CORRELATION_LABELS = PRESSURE_DROP_NAMES
CFD_LABEL = "CFD"

# Okabe–Ito colours (distinguishable with colour-vision deficiency, and in greyscale by dash).
BLACK, ORANGE, SKY, GREEN, BLUE, VERMILLION, PURPLE, GREY = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#8C8C8C")
CYCLE = (BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, BLACK)
_CORRELATION_STYLE = {"ergun": (BLUE, "solid"), "eisfeld_schnitzlein": (VERMILLION, "dashed"),
                      "kta": (GREEN, "dashdot"), "carman": (PURPLE, "dotted"), "beetstra": (ORANGE, "dashed")}
_MPL_DASH = {"solid": "-", "dashed": "--", "dashdot": "-.", "dotted": ":"}
_BOKEH_DASH = {"solid": "solid", "dashed": "dashed", "dashdot": "dotdash", "dotted": "dotted"}

# Panel sizes: Bokeh in screen pixels, matplotlib in inches (a single journal column is ~3.5 in).
WIDTH, HEIGHT = 560, 400
FIG_INCHES = (5.0, 3.6)
_FONTSIZE = {"bokeh": {"xlabel": "12pt", "ylabel": "12pt", "ticks": "10pt", "legend": "10pt", "title": "12pt"},
             "matplotlib": {"xlabel": 11, "ylabel": 11, "ticks": 9, "legend": 8, "title": 11}}

Label = str | tuple[str, str]
"""An axis label: one text, or (Bokeh text, matplotlib mathtext) when the latter typesets better."""

# -- HoloViews, loaded on first use ----------------------------------------------------------------


def _configure_matplotlib() -> None:
    """Cache in the data dir and draw headless, unless the user chose otherwise (before matplotlib loads)."""
    if "MPLCONFIGDIR" not in os.environ:
        cache = Settings.from_env().data_dir / "cache" / "matplotlib"
        cache.mkdir(parents=True, exist_ok=True)
        os.environ["MPLCONFIGDIR"] = str(cache)
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not display and "matplotlib" not in sys.modules:
        os.environ.setdefault("MPLBACKEND", "Agg")


@functools.cache
def _hv() -> Any:  # the holoviews module
    """The ``holoviews`` module with the Bokeh and matplotlib plotting backends registered."""
    _configure_matplotlib()
    import holoviews as hv

    if not hv.Store.renderers:
        hv.extension("bokeh", logo=False)
    import holoviews.plotting.bokeh  # noqa: F401  (registers options; keeps the current backend)
    import holoviews.plotting.mpl  # noqa: F401

    return hv


# -- shared styling ----------------------------------------------------------------------------------


def _line(element: Any, color: str, dash: str = "solid", width: float = 2.0) -> Any:
    """A line in ``color`` and ``dash`` (solid, dashed, dashdot, dotted) on both backends."""
    return element.opts(color=color, line_width=width, line_dash=_BOKEH_DASH[dash], backend="bokeh").opts(
        color=color, linewidth=width * 0.75, linestyle=_MPL_DASH[dash], backend="matplotlib")


def _markers(element: Any, color: str, size: float = 8.0) -> Any:
    """Filled circles with a dark edge on both backends."""
    return element.opts(color=color, size=size, line_color=BLACK, backend="bokeh").opts(
        color=color, s=size * 5, edgecolors=BLACK, linewidth=0.6, backend="matplotlib")


def _band(element: Any, color: str, alpha: float = 0.2) -> Any:
    """A filled area (``hv.Area``, ``hv.VSpan``) without an outline."""
    # matplotlib: spans default to a cycled ``color``, areas to face and edge colours; override what is there.
    if type(element).__name__ == "VSpan":
        fill: dict[str, Any] = {"color": color, "facecolor": None}
    else:
        fill = {"facecolor": color, "edgecolor": "none", "show_legend": True}
    return element.opts(color=color, alpha=alpha, line_alpha=0, backend="bokeh").opts(
        alpha=alpha, linewidth=0, backend="matplotlib", **fill)


def _mpl_aspect(logx: bool, logy: bool) -> float:
    """The ``aspect`` that gives matplotlib panels :data:`FIG_INCHES`' width/height ratio.

    HoloViews 1.23 measures a log axis in natural logs where matplotlib uses decades, which stretches a
    panel with exactly one log axis by ln 10; this compensates.
    """
    return FIG_INCHES[0] / FIG_INCHES[1] * math.log(10.0) ** (int(logx) - int(logy))


def _no_minor_labels(plot: Any, element: Any) -> None:
    """matplotlib hook: no labels on minor ticks (a log axis spanning less than a decade crowds them)."""
    from matplotlib.ticker import NullFormatter

    axis = plot.handles["axis"]
    axis.xaxis.set_minor_formatter(NullFormatter())
    axis.yaxis.set_minor_formatter(NullFormatter())


def _frame(overlay: Any, xlabel: Label, ylabel: Label, *, logx: bool = False, logy: bool = False,
           legend: str | None = None, title: str = "", ylim: tuple[float, float] | None = None,
           xlim: tuple[float, float] | None = None, xticks: Any = None) -> Any:
    """Axes, sizes, fonts and legend of one panel, for both backends.

    ``legend`` places the legend (``top_right``, ``bottom_left``...); by default Bokeh's goes top right
    and matplotlib's where it hides least (``best``).
    """
    common: dict[str, Any] = {"logx": logx, "logy": logy, "title": title, "padding": 0.05}
    for name, value in (("xlim", xlim), ("ylim", ylim), ("xticks", xticks)):
        if value is not None:
            common[name] = value

    def text(label: Label, backend: str) -> str:
        return label if isinstance(label, str) else label[backend == "matplotlib"]

    return overlay.opts(
        width=WIDTH, height=HEIGHT, legend_position=legend or "top_right", fontsize=_FONTSIZE["bokeh"],
        toolbar="right", xlabel=text(xlabel, "bokeh"), ylabel=text(ylabel, "bokeh"), backend="bokeh", **common,
    ).opts(
        fig_inches=FIG_INCHES, aspect=_mpl_aspect(logx, logy), legend_position=legend or "best",
        hooks=[_no_minor_labels], fontsize=_FONTSIZE["matplotlib"], xlabel=text(xlabel, "matplotlib"),
        ylabel=text(ylabel, "matplotlib"), legend_opts={"framealpha": 0.9, "edgecolor": "#CCCCCC"},
        backend="matplotlib", **common,
    )


def _panels(*overlays: Any, title: str = "") -> Any:
    """Panels side by side under one title, each keeping its own axes and legend."""
    hv = _hv()
    layout = hv.Layout(list(overlays)).cols(len(overlays))
    return layout.opts(shared_axes=False, title=title, backend="bokeh").opts(
        fig_inches=FIG_INCHES[0], sublabel_format="({alpha})", hspace=0.35, title=title,
        fontsize={"title": _FONTSIZE["matplotlib"]["title"] + 1}, backend="matplotlib")


def _level(value: float, x0: float, x1: float, label: str, color: str, dash: str) -> Any:
    """A labelled horizontal line from x0 to x1 (a two-point curve, so it appears in the legend)."""
    hv = _hv()
    return _line(hv.Curve(([x0, x1], [value, value]), label=label), color, dash, width=1.6)


def _series(x: Sequence[float], y: Sequence[float], label: str, color: str, kdims: Any, vdims: Any,
            dash: str = "solid") -> Any:
    """Measured points joined by a thin line, one legend entry (line and marker)."""
    hv = _hv()
    data = (np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    curve = _line(hv.Curve(data, kdims, vdims, label=label), color, dash, width=1.2).opts(
        marker="o", ms=6, backend="matplotlib")  # matplotlib: the curve's own markers, so the legend shows them
    points = _markers(hv.Scatter(data, kdims, vdims, label=label), color).opts(visible=False, backend="matplotlib")
    return curve * points


def _decades(low: float, high: float) -> tuple[float, float]:
    """The power-of-ten interval around [low, high] (for log axes)."""
    return 10.0 ** math.floor(math.log10(low)), 10.0 ** math.ceil(math.log10(high))


def _spans_decade(values: np.ndarray) -> bool:
    """Whether positive ``values`` span a factor of ten or more (then a log axis reads better)."""
    values = values[np.isfinite(values)]
    return bool(len(values) and values.min() > 0 and values.max() / values.min() >= 10.0)


# -- packing -----------------------------------------------------------------------------------------

POROSITY: Label = ("Porosity ε (–)", "Porosity $\\varepsilon$ (–)")


def porosity_profiles(packing: Packing, radial_bins: int | None = None, axial_bins: int | None = None) -> hv.Layout:
    """Radial and axial porosity of a packing, next to the correlation's mean porosity for its D/d.

    Left: porosity of coaxial shells against the wall distance (R − r)/d over the bed region, with the
    bed's mean porosity. Right: porosity of horizontal slices against the height z/d, with the core
    porosity drawn across the core window (:meth:`Packing.core_range`). ``d`` is the volume-equivalent
    sphere diameter (the particle diameter for spheres). Default bins: 16 per d radially (at least
    40) and 8 per d axially (at least 50). Returns an ``hv.Layout`` of two overlays.
    """
    hv = _hv()
    d = packing.container.diameter / packing.aspect_ratio
    radius = packing.container.radius
    wall, radial = packing.radial_porosity(radial_bins or max(40, math.ceil(16 * radius / d)))
    top = float((packing.centres[:, 2] + packing.bounding_radius).max())
    z, axial = packing.axial_porosity(axial_bins or max(50, math.ceil(8 * top / d)))
    correlation = porosity_correlation(packing.kind)
    expected = expected_porosity(packing.kind, packing.aspect_ratio)
    model = f"{correlation.name}: ε = {expected:.3f}"
    mean, core, (z0, z1) = packing.porosity(), packing.core_porosity(), packing.core_range()

    x_wall = hv.Dimension("wall_distance", label="Wall distance (R − r)/d")
    x_height = hv.Dimension("height", label="Height z/d")
    eps = hv.Dimension("porosity", label="Porosity ε")
    left = hv.Overlay([
        _line(hv.Curve((wall / d, radial), x_wall, eps, label="Radial profile"), BLACK, width=1.6),
        _level(expected, 0.0, radius / d, model, VERMILLION, "dashed"),
        _level(mean, 0.0, radius / d, f"Bed mean: ε = {mean:.3f}", BLUE, "dashdot"),
    ])
    right = hv.Overlay([
        _band(hv.VSpan(z0 / d, z1 / d), GREY, 0.15),
        _line(hv.Curve((z / d, axial), x_height, eps, label="Axial profile"), BLACK, width=1.6),
        _level(expected, 0.0, top / d, model, VERMILLION, "dashed"),
        _level(core, z0 / d, z1 / d, f"Core (shaded): ε = {core:.3f}", BLUE, "dashdot"),
    ])
    ylim = (0.0, 1.05)
    return _panels(
        _frame(left, ("Wall distance (R − r)/d", "Wall distance $(R - r)/d$"), POROSITY, ylim=ylim,
               xlim=(0.0, radius / d), legend="top_right", title="Radial porosity"),
        _frame(right, ("Height z/d", "Height $z/d$"), POROSITY, ylim=ylim, xlim=(0.0, top / d),
               legend="bottom_right", title="Axial porosity"),
        title=f"{packing.count} {packing.kind}s, D/d = {packing.aspect_ratio:.2f}",
    )


# -- solver ------------------------------------------------------------------------------------------


def residuals_plot(history: Mapping[str, Sequence[tuple[int, float]]] | str | Path,
                   tolerance: float | None = None) -> hv.Overlay:
    """Initial residual against iteration, one curve per field, on a log axis.

    ``history`` is :func:`pipeline.openfoam.logs.residual_history`'s result (or a log, parsed with it).
    ``tolerance`` draws the convergence criterion (``cfd.convergence``) as a horizontal line. Zero and
    non-finite residuals, which a log axis cannot show, are left out.
    """
    hv = _hv()
    if isinstance(history, (str, Path)):
        history = residual_history(history)
    iteration = hv.Dimension("iteration", label="Iteration")
    residual = hv.Dimension("residual", label="Initial residual")
    curves = []
    last = 1
    for k, (field, points) in enumerate(history.items()):
        data = np.array([(i, r) for i, r in points if np.isfinite(r) and r > 0], dtype=float).reshape(-1, 2)
        last = max(last, int(data[:, 0].max())) if len(data) else last
        dash = "solid" if k < len(CYCLE) else "dashed"
        curves.append(_line(hv.Curve(data, iteration, residual, label=field), CYCLE[k % len(CYCLE)], dash, 1.4))
    if tolerance is not None:
        curves.append(_level(tolerance, 1, last, f"Tolerance {tolerance:g}", GREY, "dotted"))
    if not curves:
        raise ValueError("no residuals to plot: the history is empty")
    return _frame(hv.Overlay(curves), "Iteration", "Initial residual", logy=True)


# -- validation chart ---------------------------------------------------------------------------------

ChartQuantity = Literal["friction_factor", "dp_dz"]
_QUANTITY_LABELS: dict[str, Label] = {
    "friction_factor": ("Friction factor f = Δp d ε³ / [L ρ u² (1 − ε)]",
                        "Friction factor $f = \\Delta p\\, d\\, \\varepsilon^3 / [L \\rho u^2 (1 - \\varepsilon)]$"),
    "dp_dz": ("Pressure gradient Δp/L (Pa/m)", "Pressure gradient $\\Delta p / L$ (Pa/m)"),
}
RE_P: Label = ("Reₚ = ρ u d / μ", "$Re_p = \\rho u d / \\mu$")


def friction_factor(dp_dz: Any, velocity: Any, geometry: BedGeometry, density: float) -> Any:
    """:func:`pipeline.correlations.friction_factor` for a bed geometry (as ``RunResult.friction_factor``)."""
    from pipeline.correlations import friction_factor as f

    return f(dp_dz, geometry.particle_diameter, geometry.porosity, velocity, density)


def _cfd_points(points: Iterable[RunResult] | pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                       np.ndarray, BedGeometry | None]:
    """(u, dp/dz, its uncertainty (NaN where unknown), ν from Reₚ) of each solved run, and the first run's
    as-meshed geometry (RunResults)."""
    import pandas as pd

    if isinstance(points, pd.DataFrame):
        frame = points.dropna(subset=["dp_dz", "superficial_velocity", "re_p"])
        u, dp = frame["superficial_velocity"].to_numpy(float), frame["dp_dz"].to_numpy(float)
        d = frame["particle_diameter"].to_numpy(float) if "particle_diameter" in frame else np.full(len(u), np.nan)
        spread = (frame["dp_dz_uncertainty"].to_numpy(float) if "dp_dz_uncertainty" in frame
                  else np.full(len(u), np.nan))
        return u, dp, spread, u * d / frame["re_p"].to_numpy(float), None
    results = list(points)
    u = np.array([r.superficial_velocity for r in results], dtype=float)
    dp = np.array([r.dp_dz for r in results], dtype=float)
    spread = np.array([r.dp_dz_uncertainty for r in results], dtype=float)
    d = np.array([r.nominal.geometry.particle_diameter for r in results], dtype=float)
    nu = u * d / np.array([r.re_p for r in results], dtype=float)
    geometry = results[0].as_meshed.geometry if results else None
    return u, dp, spread, nu, geometry


def friction_chart(points: Iterable[RunResult] | pd.DataFrame, geometry: BedGeometry | None = None, *,
                   quantity: ChartQuantity = "friction_factor", density: float | None = None,
                   viscosity: float | None = None, re_range: tuple[float, float] | None = None,
                   correlations: Sequence[str] = ("ergun", "eisfeld_schnitzlein", "kta")) -> hv.Overlay:
    """The packed-bed validation chart: CFD points on the correlations' curves against Reₚ, log–log.

    ``quantity`` is ``"friction_factor"`` (the default: Ergun's f, see :func:`friction_factor`; it is
    independent of the fluid, so runs at different velocities and fluids of one bed share the curves)
    or ``"dp_dz"`` (the pressure gradient in Pa/m, for one fluid). The curves, labelled
    :data:`CORRELATION_LABELS` (``"Ergun"``, ``"Eisfeld–Schnitzlein"``, ``"KTA"``), are
    :func:`pipeline.correlations.pressure_gradients` for ``geometry`` (d, ε, D) over ``re_range``
    (default: the points' range widened to whole decades, at least 0.1–1000). The CFD points
    (``"CFD"``) come from :class:`RunResult`s or from a runs DataFrame (columns ``re_p``,
    ``superficial_velocity``, ``dp_dz``, optionally ``particle_diameter`` and ``dp_dz_uncertainty``), each
    with its fit's 95 % interval as an error bar where known.

    ``geometry`` defaults to the first result's as-meshed geometry (what was solved; required for a
    DataFrame). Everything is evaluated for that geometry, so a point's distance to a curve is the CFD /
    correlation ratio: each point sits at Reₚ = u d/ν with the geometry's d (as meshed, ~1 % below the
    nominal d of the run's own Reₚ). The fluid (``density``, ``viscosity``) defaults to the spec's
    default fluid; a point whose Reₚ shows another kinematic viscosity raises ``ValueError``.
    """
    hv = _hv()
    u, dp, spread, nu, found = _cfd_points(points)
    geometry = geometry or found
    if geometry is None:
        raise ValueError("friction_chart needs the bed's geometry (BedGeometry) to draw the correlations")
    rho = CfdSection.param.fluid_density.default if density is None else density
    mu = CfdSection.param.fluid_dynamic_viscosity.default if viscosity is None else viscosity
    mismatch = np.isfinite(nu) & (np.abs(nu * rho / mu - 1.0) > 1e-3)
    if mismatch.any():
        raise ValueError(f"the runs were solved with ν = {nu[mismatch][0]:.4g} m²/s, not the chart's fluid "
                         f"(ρ = {rho:g} kg/m³, μ = {mu:g} Pa s): pass their density= and viscosity=")
    d = geometry.particle_diameter
    re_cfd = rho * u * d / mu

    def y_of(velocity: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        return friction_factor(gradient, velocity, geometry, rho) if quantity == "friction_factor" else gradient

    if re_range is None:
        finite = re_cfd[np.isfinite(re_cfd) & (re_cfd > 0)]
        low, high = _decades(finite.min() / 1.5, finite.max() * 1.5) if len(finite) else (1.0, 1.0)
        re_range = (min(0.1, low), max(1000.0, high))
    re = np.geomspace(*re_range, 200)
    velocity = re * mu / (rho * d)
    gradients = pressure_gradients(d, geometry.porosity, velocity, rho, mu, geometry.tube_diameter)
    x = hv.Dimension("re_p", label="Re_p")
    y = hv.Dimension(quantity, label="f" if quantity == "friction_factor" else "Δp/L")
    elements = []
    for name in correlations:
        color, dash = _CORRELATION_STYLE[name]
        curve = hv.Curve((re, y_of(velocity, gradients[name])), x, y, label=CORRELATION_LABELS[name])
        elements.append(_line(curve, color, dash))
    known = np.isfinite(spread)
    if known.any():  # the fit's 95 % interval of each run's dp/dz (dp_dz_uncertainty)
        elements.append(hv.ErrorBars((re_cfd[known], y_of(u[known], dp[known]), y_of(u[known], spread[known])),
                                     x, [y, "uncertainty"]).opts(color=BLACK))
    elements.append(_markers(hv.Scatter((re_cfd, y_of(u, dp)), x, y, label=CFD_LABEL), BLACK, size=9))
    title = f"D/d = {geometry.tube_diameter / d:.2f}, ε = {geometry.porosity:.3f}"
    legend = "top_right" if quantity == "friction_factor" else "top_left"  # where the curves are not
    return _frame(hv.Overlay(elements), RE_P, _QUANTITY_LABELS[quantity], logx=True, logy=True, title=title,
                  xlim=re_range, legend=legend)


# -- sweeps and mesh studies ---------------------------------------------------------------------------

#: Runs-DataFrame column of a swept spec field (``Sweep.parameter``), where they differ.
SWEEP_COLUMNS = {"cfd.particle_reynolds": "re_p", "cfd.inlet_velocity": "superficial_velocity",
                 "cfd.mesh_cells_per_diameter": "resolution", "particles.count": "particle_count",
                 "particles.diameter": "particle_diameter"}
_COLUMN_LABELS: dict[str, Label] = {
    "re_p": RE_P,
    "superficial_velocity": ("Superficial velocity u (m/s)", "Superficial velocity $u$ (m/s)"),
    "resolution": "Cells per particle diameter",
    "particle_count": "Particles",
    "particle_diameter": ("Particle diameter d (m)", "Particle diameter $d$ (m)"),
    "aspect_ratio": ("D/d", "$D/d$"),
    "cells": "Cells",
    "porosity": POROSITY,
}
DP_DZ: Label = _QUANTITY_LABELS["dp_dz"]


def sweep_plot(frame: pd.DataFrame, parameter: str) -> hv.Layout:
    """A sweep's results against the varied parameter: dp/dz (left) and CFD / correlation (right).

    ``frame`` holds the sweep's runs (:func:`pipeline.db.queries.to_dataframe`); runs without a
    result are left out. ``parameter`` is a column or the swept spec field (``cfd.particle_reynolds``
    → ``re_p``, see :data:`SWEEP_COLUMNS`). Left: CFD dp/dz with the Ergun and, when recorded,
    Eisfeld–Schnitzlein values (dp/dz / ratio, i.e. as the runs evaluated them). Right: the ratios,
    with 1 marked. Axes are logarithmic when the values span a decade. Returns an ``hv.Layout``.
    """
    hv = _hv()
    column = SWEEP_COLUMNS.get(parameter, parameter)
    if column not in frame.columns:
        raise ValueError(f"no column {column!r} in the runs; columns: {', '.join(map(str, frame.columns))}")
    done = frame.dropna(subset=[column, "dp_dz"]).sort_values(column)
    if done.empty:
        raise ValueError("no finished runs to plot (every dp_dz is missing)")
    x = done[column].to_numpy(float)
    dp = done["dp_dz"].to_numpy(float)
    xdim = hv.Dimension(column, label=column)
    ratios = [(name, done[f"ratio_{name}"].to_numpy(float)) for name in ("ergun", "eisfeld_schnitzlein")
              if f"ratio_{name}" in done and done[f"ratio_{name}"].notna().any()]
    left = [_series(x, dp, CFD_LABEL, BLACK, xdim, "dp_dz")]
    right = [_level(1.0, x.min(), x.max(), "CFD = correlation", GREY, "dotted")]
    for name, ratio in ratios:
        color, dash = _CORRELATION_STYLE[name]
        left.append(_line(hv.Curve((x, dp / ratio), xdim, "dp_dz", label=CORRELATION_LABELS[name]), color, dash))
        right.append(_series(x, ratio, f"CFD / {CORRELATION_LABELS[name]}", color, xdim, "ratio", dash))
    xlabel = _COLUMN_LABELS.get(column, parameter)
    logx = _spans_decade(x)
    return _panels(
        _frame(hv.Overlay(left), xlabel, DP_DZ, logx=logx, logy=_spans_decade(dp)),
        _frame(hv.Overlay(right), xlabel, "CFD / correlation (–)", logx=logx),
    )


def _count(n: float) -> str:
    """A cell count for a tick: 45k, 1.2M."""
    return f"{n / 1e6:.3g}M" if n >= 1e6 else f"{n / 1e3:.3g}k" if n >= 1e3 else f"{n:.0f}"


def mesh_independence(summary: Mapping[str, Any] | MeshStudy) -> hv.Overlay:
    """dp/dz against the cell count (log axis) of a mesh study, with the Richardson extrapolation.

    ``summary`` is :meth:`pipeline.workflow.MeshStudy.summary` (or the ``MeshStudy``, or its
    ``study.json`` loaded). The band is Roache's GCI of the finest mesh: finest dp/dz ± GCI_fine ×
    |dp/dz|, the 95 % interval for the mesh-independent value, which contains the extrapolation when
    the convergence is monotonic. Each point is marked with its resolution (cells per d); the x ticks
    are the meshes' cell counts.
    """
    hv = _hv()
    if hasattr(summary, "summary"):
        summary = summary.summary()
    order = np.argsort(np.asarray(summary["cells"], dtype=float))
    cells = np.asarray(summary["cells"], dtype=float)[order]
    dp = np.asarray(summary["dp_dz"], dtype=float)[order]
    resolutions = np.asarray(summary["resolutions"])[order]
    extrapolated, gci = float(summary["dp_dz_extrapolated"]), float(summary["gci_fine"])
    fine = dp[-1]
    low, high = fine - gci * abs(fine), fine + gci * abs(fine)
    x0, x1 = cells.min() / 1.6, cells.max() * 1.6
    span = max(dp.max(), high, extrapolated) - min(dp.min(), low, extrapolated) or abs(fine) or 1.0
    xdim, ydim = hv.Dimension("cells", label="Cells"), hv.Dimension("dp_dz", label="Δp/L")
    labels = hv.Labels((cells * 1.06, dp + 0.03 * span, [f"{n}/d" for n in resolutions]), [xdim, ydim],
                       "resolution")
    overlay = hv.Overlay([
        _band(hv.Area(([x0, x1], [low, low], [high, high]), xdim, [ydim, "upper"],
                      label=f"GCI of the finest mesh: ± {100 * gci:.2g} %"), BLUE, 0.15),
        _level(extrapolated, x0, x1, f"Richardson extrapolation: {extrapolated:.4g} Pa/m", BLUE, "dashed"),
        _series(cells, dp, CFD_LABEL, BLACK, xdim, ydim),
        labels.opts(text_font_size="10pt", text_color="#444444", text_align="left", text_baseline="bottom",
                    backend="bokeh").opts(fontsize=8, color="#444444", horizontalalignment="left",
                                          verticalalignment="bottom", backend="matplotlib"),
    ])
    ylim = (min(dp.min(), low, extrapolated) - 0.3 * span, max(dp.max(), high, extrapolated) + 0.3 * span)
    return _frame(overlay, "Cells", DP_DZ, logx=True, xlim=(x0, x1), ylim=ylim,
                  xticks=[(c, _count(c)) for c in cells])


def validation_plot(summary: Sequence[Mapping[str, Any]],
                    correlations: Sequence[str] = ("ergun", "eisfeld_schnitzlein", "carman", "beetstra")
                    ) -> hv.Overlay:
    """The validation study (:func:`pipeline.study.summarize`): CFD / correlation for each bed and Reₚ, with the
    study's combined uncertainty (seed scatter and GCI) as error bars; 1 is marked. One column of points per
    correlation, the beds and Reₚ side by side within it."""
    hv = _hv()
    xdim, ydim = hv.Dimension("case", label="Correlation"), hv.Dimension("ratio", label="CFD / correlation")
    elements: list[Any] = []
    width = max(len(summary), 1)
    for k, entry in enumerate(summary):
        x = np.arange(len(correlations)) + (k - (width - 1) / 2) * 0.6 / width
        ratio = np.array([entry["ratios"].get(name, np.nan) for name in correlations], dtype=float)
        error = ratio * (entry["uncertainty"] if math.isfinite(entry["uncertainty"]) else 0.0)
        label = f"{entry['bed']}, D/d {entry['aspect_ratio']:.3g}, Reₚ {entry['reynolds']:g}"
        color = CYCLE[k % len(CYCLE)]
        elements.append(hv.ErrorBars((x, ratio, error), xdim, [ydim, "error"]).opts(color=color))
        elements.append(_markers(hv.Scatter((x, ratio), xdim, ydim, label=label), color))
    elements.append(_level(1.0, -0.5, len(correlations) - 0.5, "CFD = correlation", GREY, "dotted"))
    ticks = [(i, PRESSURE_DROP_NAMES[name]) for i, name in enumerate(correlations)]
    return _frame(hv.Overlay(elements), "Correlation", "CFD / correlation", xlim=(-0.5, len(correlations) - 0.5),
                  xticks=ticks)


# -- results ---------------------------------------------------------------------------------------------


def pressure_profile_plot(result: RunResult) -> hv.Overlay:
    """Area-averaged pressure along the bed axis, with the core window and its straight-line fit.

    From ``result.profile`` (planes ``z`` in m, pressure ``p`` in Pa). The window is shaded; the fit
    is drawn with the slope −dp/dz the result reports, through the mean of the window's planes (where a
    least-squares line passes).
    """
    hv = _hv()
    z = np.asarray(result.profile["z"], dtype=float)
    p = np.asarray(result.profile["p"], dtype=float)
    z0, z1 = result.window
    inside = (z >= z0) & (z <= z1)
    mm = 1e3
    zdim = hv.Dimension("z", label="Height z")
    pdim = hv.Dimension("p", label="Pressure")
    elements = [_band(hv.VSpan(z0 * mm, z1 * mm), GREY, 0.15),
                _line(hv.Curve((z * mm, p), zdim, pdim, label="Plane average"), BLACK, width=1.6)]
    if inside.any():
        zc, pc = z[inside].mean(), p[inside].mean()
        fit = pc - result.dp_dz * (np.array([z0, z1]) - zc)
        label = f"Core fit (shaded): Δp/L = {result.dp_dz:.4g} Pa/m"
        elements.append(_line(hv.Curve((np.array([z0, z1]) * mm, fit), zdim, pdim, label=label), VERMILLION,
                              "dashed"))
    low, high = float(p.min()), float(p.max())
    room = (high - low) or abs(high) or 1.0
    return _frame(hv.Overlay(elements), ("Height z (mm)", "Height $z$ (mm)"),
                  ("Area-averaged pressure p̄ (Pa)", "Area-averaged pressure $\\bar{p}$ (Pa)"),
                  ylim=(low - 0.05 * room, high + 0.3 * room), legend="top_right")  # room above for the legend


# -- export -------------------------------------------------------------------------------------------------


def _write_html(hv: Any, obj: Any, path: Path) -> None:
    """A self-contained Bokeh page: BokehJS inline and nothing to fetch.

    Bokeh lists the external scripts of every model class imported, Panel's too (by relative or CDN
    URL), which a file opened on its own cannot load; a plot made of Bokeh's own models needs none of
    them, so they are left out. A plot with other models is saved by Panel (larger, inline too).
    """
    from bokeh.embed import file_html
    from bokeh.resources import Resources

    model = hv.render(obj, backend="bokeh")
    if any(not type(m).__view_module__.startswith("bokeh") for m in model.references()):
        hv.save(obj, path, backend="bokeh", resources="inline", title=path.stem)
        return

    class BokehOnly(Resources):
        def clone(self, *, components: Any = None) -> "BokehOnly":
            return BokehOnly(mode=self.mode, components=components or list(self.components))

        def _collect_external_resources(self, resource_attr: Any) -> list[str]:
            return []

    path.write_text(file_html(model, BokehOnly(mode="inline"), title=path.stem), encoding="utf-8")


def save(obj: hv.core.Dimensioned, path: str | Path, dpi: int = 200) -> Path:
    """Write a plot: ``.png``/``.svg`` with matplotlib (static, for reports; ``dpi`` for PNG), ``.html``
    with Bokeh (interactive, its JavaScript inline so the file is self-contained). Returns the path."""
    hv = _hv()
    path = Path(path)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".png", ".svg"):
        hv.save(obj, path, backend="matplotlib", fmt=suffix[1:], dpi=dpi)
    elif suffix == ".html":
        _write_html(hv, obj, path)
    else:
        raise ValueError(f"cannot save a plot as {path.name}: use .png, .svg or .html")
    return path
