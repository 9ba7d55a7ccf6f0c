"""Reports of recorded runs and sweeps: one self-contained HTML file (or a PDF of it) for papers and lab books.

``report(run_id)`` writes ``<data>/reports/run-<id>.html`` with the run's spec, provenance, packing, mesh,
residuals, results (against the correlations), fields and timings; pictures are inline PNG ``data:`` URIs and
the stylesheet is inline, so the file travels alone. ``report(sweep_id, sweep=True)`` writes
``sweep-<id>.html``: the swept parameter and values, a table of its runs, the friction-factor chart of the
succeeded runs, the sweep plot and a short summary per run. ``fmt="pdf"`` prints the page with headless
Chromium. What a failed or unfinished run lacks is said in the report instead of failing it.

Recording (``record=True``): a run report is stored as the run's ``report`` artifact; a sweep report is stored
as a ``report`` artifact of each run of the sweep (named ``sweep-<id>.html|pdf``, so it does not replace the
run's own report), since artifacts belong to beds, packings, meshes and runs, not to sweeps.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import BedflowError
from .packing import PackingReport
from .results.extract import RunResult
from .results.validation import BedGeometry
from .results.presentation import ValueRow, correlation_rows, mesh_rows, packing_rows, result_rows

if TYPE_CHECKING:
    from .openfoam import MeshQuality
    from .runs import Services

FORMATS = ("html", "pdf")
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
PDF_TIMEOUT = 180.0  # seconds
PICTURE_SIZE = (1000, 1000)

#: The sections of a run report, in order (each is an element with this id).
RUN_SECTIONS = ("summary", "spec", "provenance", "packing", "mesh", "residuals", "results", "fields", "timings")


class ReportError(BedflowError):
    """A report cannot be written (unknown format, no Chromium, the PDF conversion failed)."""


# -- small HTML helpers --------------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u2009")
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return _e(value)


def _value(key: str, value: Any, unit: str = "", digits: int = 4) -> str:
    """A number in a cell, with its exact value in ``data-key``/``data-value`` (for scripts and tests)."""
    data = f' data-key="{_e(key)}" data-value="{_e(repr(value))}"' if key else ""
    shown = _num(value, digits) + (f"\u00a0{_e(unit)}" if unit and _num(value) != "–" else "")
    return f'<span class="num"{data}>{shown}</span>'


def _table(rows: Iterable[tuple[str, str]], caption: str = "") -> str:
    body = "".join(f"<tr><th scope=\"row\">{label}</th><td>{cell}</td></tr>" for label, cell in rows)
    cap = f"<caption>{caption}</caption>" if caption else ""
    return f'<table class="kv">{cap}<tbody>{body}</tbody></table>'


NBSP = "\u00a0"  # between a number and its unit: never a line break there


def _rows_table(quantities: Iterable[ValueRow], caption: str = "", prefix: str = "") -> str:
    """Quantities as label/value rows, each value with its exact number in ``data-key``/``data-value``."""
    rows = [(_e(q.label), f'<span class="num" data-key="{_e(prefix + q.key)}" data-value="{_e(repr(q.value))}">'
             f"{_e(q.text).replace(' ', NBSP)}</span>") for q in quantities]
    return _table(rows, caption)


def _grid(header: list[str], rows: list[list[str]], caption: str = "", cls: str = "grid") -> str:
    head = "".join(f'<th scope="col">{h}</th>' for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{caption}</caption>" if caption else ""
    return f'<table class="{cls}">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _missing(what: str) -> str:
    return f'<p class="missing">Not available: {_e(what)}.</p>'


def _png_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _figure(path: Path | None, caption: str, number: list[int], name: str = "") -> str:
    if path is None or not Path(path).is_file():
        return _missing(f"figure “{caption}”")
    number[0] += 1
    return (f'<figure class="fig" id="fig-{_e(name or number[0])}"><img src="{_png_uri(path)}" alt="{_e(caption)}">'
            f"<figcaption><b>Figure {number[0]}.</b> {caption}</figcaption></figure>")


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{_e(key)}"><h2>{title}</h2>{body}</section>'


STYLE = """
:root { --ink: #1b1b1b; --muted: #5a5a5a; --rule: #c9c9c9; --accent: #1f4e79; --warn: #8a3a00; }
* { box-sizing: border-box; }
html { font-size: 11pt; }
body { font-family: "Source Serif Pro", "Charter", "Georgia", "DejaVu Serif", serif; color: var(--ink);
       line-height: 1.45; max-width: 52rem; margin: 2rem auto; padding: 0 1.5rem; background: #fff; }
h1, h2, h3 { font-family: "Source Sans Pro", "Helvetica Neue", "DejaVu Sans", Arial, sans-serif;
             color: var(--accent); line-height: 1.2; }
h1 { font-size: 1.8rem; margin-bottom: .2rem; }
h2 { font-size: 1.3rem; border-bottom: 1px solid var(--rule); padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
p.subtitle { color: var(--muted); margin-top: 0; }
nav.toc { font-family: "DejaVu Sans", Arial, sans-serif; font-size: .9rem; color: var(--muted); }
nav.toc a { color: var(--accent); margin-right: .8rem; text-decoration: none; }
table { border-collapse: collapse; margin: .8rem 0 1.2rem; font-size: .92rem; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-style: italic; color: var(--muted); padding-bottom: .3rem; }
th, td { padding: .22rem .7rem; border-bottom: 1px solid #e4e4e4; vertical-align: top; text-align: left; }
thead th { border-bottom: 1.5px solid var(--ink); font-weight: 600; }
table.kv th { font-weight: normal; color: var(--muted); }
table.grid td { text-align: right; }
table.grid td:first-child { text-align: left; }
.num { white-space: nowrap; }
figure.fig { margin: 1.2rem 0; text-align: center; page-break-inside: avoid; break-inside: avoid; }
figure.fig img { max-width: 100%; max-height: 30rem; height: auto; }
img.thumb { max-width: 20rem; height: auto; border: 1px solid var(--rule); display: block; margin: .6rem 0; }
figcaption { font-size: .9rem; color: var(--muted); text-align: left; margin-top: .3rem; }
pre.bed { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .82rem; background: #f6f6f4;
          border: 1px solid #e2e2dc; padding: .7rem .9rem; overflow-x: auto; white-space: pre-wrap; }
p.missing, p.status-bad { color: var(--warn); font-style: italic; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: .3rem; font-family: sans-serif;
         font-size: .85rem; background: #eef3f8; color: var(--accent); }
.badge.failed, .badge.cancelled { background: #fbeee6; color: var(--warn); }
iframe.scene { width: 100%; height: 36rem; border: 1px solid var(--rule); }
footer { margin-top: 3rem; font-size: .8rem; color: var(--muted); border-top: 1px solid var(--rule); }
@page { size: A4; margin: 16mm 15mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; }
  h2 { page-break-after: avoid; break-after: avoid; }
  section { page-break-inside: auto; }
  table { page-break-inside: avoid; break-inside: avoid; }
  nav.toc, iframe.scene { display: none; }
  a { color: inherit; text-decoration: none; }
}
"""


def _page(title: str, subtitle: str, nav: list[tuple[str, str]], body: str) -> str:
    toc = "".join(f'<a href="#{_e(k)}">{_e(t)}</a>' for k, t in nav)
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_e(title)}</title>"
        f"<style>{STYLE}</style></head><body><header><h1>{_e(title)}</h1>"
        f"<p class=\"subtitle\">{subtitle}</p><nav class=\"toc\">{toc}</nav></header>{body}"
        f"<footer><p>Written by bedflow on {_e(stamp)}.</p></footer></body></html>\n"
    )


# -- what a run has ---------------------------------------------------------------------------------------------


def _rows(found: "Services", run_id: int) -> dict[str, Any]:
    """The run and its packing, mesh and sweep rows as plain values (read in one session)."""
    from .db import Mesh, Packing as PackingRow, Simulation, Sweep
    from .db.queries import find
    from .runs import RunNotFound
    from .runs.catalog import packing_report_of, quality_of

    with found.db.session() as session:
        run = find(session, Simulation, run_id)
        if run is None:
            raise RunNotFound(f"no run {run_id} in {found.db!r}")
        mesh = session.get(Mesh, run.mesh_id) if run.mesh_id else None
        packing = session.get(PackingRow, run.packing_id) if run.packing_id else None
        sweep = session.get(Sweep, run.sweep_id) if run.sweep_id else None
        return {
            "run": run,
            "bed": run.bed.name if run.bed is not None else run.spec.get("name", ""),
            "mesh": quality_of(mesh) if mesh else None,
            "resolution": mesh.resolution if mesh else run.resolution,
            "packing": packing_report_of(packing) if packing else None,
            "sweep": {"id": sweep.id, "name": sweep.name, "parameter": sweep.parameter} if sweep else None,
        }


def _try(notes: list[str], what: str, action: Callable[[], Any]) -> Any:
    try:
        return action()
    except Exception as error:  # noqa: BLE001 - a report says what is missing instead of failing
        notes.append(f"{what}: {error}")
        return None


def _run_files(found: "Services", run_id: int, tmp: Path, interactive: bool, notes: list[str]
               ) -> tuple[Path | None, dict[str, Path], Any, str | None]:
    """(local folder, pictures, packing, interactive scene page) of a run; what fails is noted."""

    from .runs import run_folder

    folder = _try(notes, "run files", lambda: run_folder(run_id, services=found))
    pictures: dict[str, Path] = {}
    packing = None
    scene_html = None
    if folder is None:
        return None, pictures, None, None
    from viz import figures

    if folder.packing_file.is_file():
        packing = _try(notes, "packing file", folder.packing)
    if packing is not None:
        pictures.update(_try(notes, "packing pictures",
                             lambda: figures.packing_figures(packing, tmp, PICTURE_SIZE)) or {})
        if interactive:
            def scene() -> str:
                from viz import scene as sc

                plotter = sc.packing_scene(packing, window_size=PICTURE_SIZE,
                                           point_budget=sc.INTERACTIVE_POINT_BUDGET)
                try:
                    return sc.to_html(plotter, tmp / "packing-3d.html").read_text(encoding="utf-8")
                finally:
                    plotter.close()
            scene_html = _try(notes, "interactive packing scene", scene)
    case = folder.case
    if case.is_dir():
        pictures.update(_try(notes, "mesh and field pictures",
                             lambda: figures.case_figures(case, tmp, ("mesh", "fields"), PICTURE_SIZE)) or {})
        pictures.update(_try(notes, "plots", lambda: figures.result_plots(case, tmp)) or {})
    return folder.root, pictures, packing, scene_html


# -- the run report ---------------------------------------------------------------------------------------------


def _spec_section(run: Any, bed: str) -> str:
    from .spec import BedSpec

    spec = run.spec or {}
    rows = [
        ("Bed", _e(bed)),
        ("Column diameter D", _value("column_diameter", run.column_diameter, "m")),
        ("Particle diameter d", _value("particle_diameter", run.particle_diameter, "m")),
        ("Aspect ratio D/d", _value("aspect_ratio", run.aspect_ratio)),
        ("Particles", _value("particle_count", run.particle_count)),
        ("Packing engine", _e(run.engine)),
        ("Flow regime", _e(run.regime)),
        ("Particle Reynolds number Reₚ", _value("re_p", run.re_p)),
        ("Superficial velocity u", _value("superficial_velocity", run.superficial_velocity, "m/s")),
        ("Fluid density ρ", _value("fluid_density", run.fluid_density, "kg/m³")),
        ("Fluid viscosity μ", _value("fluid_viscosity", run.fluid_viscosity, "Pa·s")),
        ("Mesh resolution", _value("resolution", run.resolution) + "\u00a0cells per d"),
        ("Processes", _value("processes", run.processes)),
    ]
    try:
        text = BedSpec.from_dict(spec).to_bed()
    except Exception as error:  # noqa: BLE001
        text = f"# the spec could not be written as .bed text ({error})\n" + json.dumps(spec, indent=2)
    return _section("spec", "Specification", _table(rows, "Summary of the bed and the flow")
                    + f"<h3>The <code>.bed</code> file</h3><pre class=\"bed\">{_e(text)}</pre>")


def _provenance_section(run: Any) -> str:
    p = dict(run.provenance or {})
    if not p:
        return _section("provenance", "Provenance", _missing("provenance (not recorded)"))
    rows = [("bedflow", _e(p.get("bedflow") or "–")), ("OpenFOAM", _e(p.get("openfoam") or "not found")),
            ("Blender (bpy)", _e(p.get("blender") or "not installed")), ("Python", _e(p.get("python") or "–")),
            ("Platform", _e(p.get("platform") or "–")), ("Host", _e(p.get("host") or "–")),
            ("Random seed", _e(p.get("seed") if p.get("seed") is not None else "–")),
            ("Created by", _e(run.created_by or "–")), ("Worker", _e(run.worker or "–")),
            ("Created", _e(run.created_at.isoformat(timespec="seconds") if run.created_at else "–")),
            ("Finished", _e(run.finished_at.isoformat(timespec="seconds") if run.finished_at else "–"))]
    packages = p.get("packages") or {}
    grid = _grid(["Package", "Version"], [[_e(k), _e(v or "not installed")] for k, v in sorted(packages.items())],
                 "Python packages", cls="grid packages") if packages else ""
    return _section("provenance", "Provenance", _table(rows, "Software and machine") + grid)


def _packing_section(report: "PackingReport | None", pictures: dict[str, Path], fig: list[int],
                     scene_html: str | None) -> str:
    if report is None:
        return _section("packing", "Packing", _missing("the packing (the run did not get this far, or its "
                                                        "files are gone)"))
    body = _rows_table(packing_rows(report), "Packing metrics (ε: void fraction, –)", "packing.")
    body += _figure(pictures.get("porosity-profiles"), "Porosity profiles of the packing: radial (against the "
                    "distance from the wall, in particle diameters) and axial (against height, m).", fig,
                    "porosity-profiles")
    body += _figure(pictures.get("packing"), "The packing, cut away and coloured by height (m).", fig, "packing")
    if "packing-porosity" in pictures:
        body += _figure(pictures["packing-porosity"], "The packing coloured by local porosity (–).", fig,
                        "packing-porosity")
    if scene_html:
        body += ('<h3>Interactive 3D packing</h3><iframe class="scene" title="Interactive packing (vtk.js)" '
                 f'sandbox="allow-scripts" srcdoc="{_e(scene_html)}"></iframe>')
    return _section("packing", "Packing", body)


def _mesh_section(quality: "MeshQuality | None", resolution: int | None, pictures: dict[str, Path],
                  fig: list[int]) -> str:
    if quality is None:
        return _section("mesh", "Mesh", _missing("the mesh (the run was not meshed)"))
    body = _rows_table(mesh_rows(quality, resolution), "Mesh size and checkMesh quality", "mesh.")
    body += _figure(pictures.get("mesh"), "The mesh, clipped through the axis; patches coloured.", fig, "mesh")
    return _section("mesh", "Mesh", body)


def _residuals_section(run: Any, result: "RunResult | None", pictures: dict[str, Path], fig: list[int]) -> str:
    if result is None and "residuals" not in pictures:
        return _section("residuals", "Solver residuals", _missing("residuals (the flow was not solved)"))
    rows = [("Iterations", _value("iterations", result.iterations if result else run.iterations)),
            ("Converged", _value("converged", result.converged if result else run.converged))]
    rows += [(f"Final residual of {_e(k)}", _value(f"residual.{k}", v, digits=3))
             for k, v in (result.residuals if result else {}).items()]
    body = _table(rows, "simpleFoam: final initial residuals (–)")
    body += _figure(pictures.get("residuals"), "Initial residuals of simpleFoam against iteration (–, log scale).",
                    fig, "residuals")
    return _section("residuals", "Solver residuals", body)


#: The headline numbers the summary opens a report with (keys of :func:`result_rows`).
SUMMARY_KEYS = ("dp_dz", "dp_dz_uncertainty", "re_p", "porosity_core", "porosity_mesh", "cells", "converged")


def _summary_section(result: "RunResult | None", pictures: dict[str, Path]) -> str:
    """One screen first: Δp/L, the ratio to each correlation, porosity, Reₚ, the mesh and the validation chart."""
    if result is None:
        return _section("summary", "Summary", _missing("a summary (the run has no results yet)"))
    shown = {row.key: row for row in result_rows(result)}
    rows = [shown[key] for key in SUMMARY_KEYS]
    rows += [ValueRow(f"ratio_{row.key}", f"CFD / {row.label} (as meshed)", row.ratio_meshed, digits=3)
             for row in correlation_rows(result)]
    body = "".join(f'<p class="warning">⚠ {html.escape(w)}</p>' for w in result.warnings())
    body += _rows_table(rows, "At a glance (details in the sections below)", "summary.")
    chart = pictures.get("validation")
    if chart is not None and Path(chart).is_file():
        body += (f'<a href="#fig-validation"><img class="thumb" src="{_png_uri(chart)}" '
                 'alt="The validation chart (friction factor against Reₚ), small"></a>')
    return _section("summary", "Summary", body)


def _results_section(result: "RunResult | None", pictures: dict[str, Path], fig: list[int]) -> str:
    if result is None:
        return _section("results", "Results", _missing("results (the run has not been solved and evaluated)"))
    body = "".join(f'<p class="warning">⚠ {html.escape(w)}</p>' for w in result.warnings())
    body += _rows_table(result_rows(result), "CFD results (SI units; gradients positive for a drop)")
    table_rows = [[_e(row.label), _value(f"as_meshed.{row.key}", row.meshed, "Pa/m"),
                   _value(f"ratio_{row.key}", row.ratio_meshed, digits=3),
                   _value(f"nominal.{row.key}", row.nominal, "Pa/m"),
                   _value(f"nominal.ratio_{row.key}", row.ratio_nominal, digits=3)]
                  for row in correlation_rows(result)]

    def geometry(g: "BedGeometry") -> str:
        return (f"d\u00a0=\u00a0{_num(g.particle_diameter)}\u00a0m, ε\u00a0=\u00a0{_num(g.porosity)}, "
                f"D\u00a0=\u00a0{_num(g.tube_diameter)}\u00a0m")

    body += _grid(["Correlation", "Δp/L as meshed", "CFD / corr.", "Δp/L nominal", "CFD / corr. (nominal)"],
                  table_rows, "Correlations for the geometry as meshed (" + geometry(result.as_meshed.geometry)
                  + ") and nominal (" + geometry(result.nominal.geometry) + "); ratios are CFD Δp/L over the "
                  "correlation's (–).", cls="grid correlations")
    body += _figure(pictures.get("validation"), "Validation: the run's friction factor f = Δp d ε³ / [L ρ u² "
                    "(1 − ε)] (–) on the correlations' curves against Reₚ (–), as-meshed geometry.", fig,
                    "validation")
    body += _figure(pictures.get("pressure-profile"), "Area-averaged pressure (Pa) along the bed height (m), with "
                    "the core-window fit.", fig, "pressure-profile")
    return _section("results", "Results", body)


def _fields_section(pictures: dict[str, Path], fig: list[int]) -> str:
    if "velocity" not in pictures and "pressure-field" not in pictures:
        return _section("fields", "Flow fields", _missing("velocity and pressure fields (not solved, or the "
                                                          "fields were not written)"))
    body = _figure(pictures.get("velocity"), "Velocity magnitude |U| (m/s) on sections, with streamlines.", fig,
                   "velocity")
    body += _figure(pictures.get("pressure-field"), "Kinematic pressure p (m²/s², OpenFOAM's p/ρ) on sections.",
                    fig, "pressure-field")
    return _section("fields", "Flow fields", body)


def _timings_section(run: Any, result: "RunResult | None") -> str:
    timings = dict(run.timings or {})
    if not timings:
        return _section("timings", "Timings", _missing("timings (no stage completed)"))
    rows = [(_e(stage), _value(f"timings.{stage}", float(seconds), "s", 3)) for stage, seconds in timings.items()]
    rows.append(("Total", _value("timings.total", float(sum(timings.values())), "s", 3)))
    solver = result.seconds if result else {}
    body = _table(rows, "Wall-clock time per stage")
    if solver:
        body += _table([(_e(k), _value(f"seconds.{k}", float(v), "s", 3)) for k, v in solver.items()],
                       "Within the solve stage")
    return _section("timings", "Timings", body)


def _status_block(run: Any, notes: list[str]) -> str:
    status = run.status.value
    parts = [f'<p>Status: <span class="badge {status}">{_e(status)}</span>'
             f"{' — last completed stage: ' + _e(run.completed_stage) if run.completed_stage else ''}</p>"]
    if status != "succeeded":
        parts.append(f'<p class="status-bad">This run has not succeeded ({_e(status)}): the report shows what '
                     "exists; missing parts are marked.</p>")
    if run.error:
        parts.append(f'<pre class="bed">{_e(run.error[-3000:])}</pre>')
    if notes:
        parts.append('<p class="missing">Missing or failed while writing the report:</p><ul>'
                     + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    return '<div id="status">' + "".join(parts) + "</div>"


def run_html(run_id: int, *, interactive: bool = False, services: "Services | None" = None) -> str:
    """The HTML page of a run report (self-contained)."""
    from .runs import open_services

    found = services or open_services()
    info = _rows(found, run_id)
    run = info["run"]
    notes: list[str] = []
    fig = [0]
    with tempfile.TemporaryDirectory(prefix=f"bedflow-report-{run_id}-") as folder:
        tmp = Path(folder)
        _, pictures, packing, scene_html = _run_files(found, run_id, tmp, interactive, notes)
        result = RunResult.from_dict(run.results) if run.results else None
        packing_report = info["packing"]
        if packing_report is None and packing is not None:
            packing_report = _try(notes, "packing metrics", lambda: PackingReport.of(packing))
        sections = [
            _summary_section(result, pictures),
            _spec_section(run, info["bed"]),
            _provenance_section(run),
            _packing_section(packing_report, pictures, fig, scene_html),
            _mesh_section(info["mesh"] or (result.mesh if result else None), info["resolution"], pictures, fig),
            _residuals_section(run, result, pictures, fig),
            _results_section(result, pictures, fig),
            _fields_section(pictures, fig),
            _timings_section(run, result),
        ]
    sweep = info["sweep"]
    subtitle = (f"Bed “{_e(info['bed'])}” · Reₚ\u00a0=\u00a0{_num(run.re_p)} · D/d\u00a0=\u00a0{_num(run.aspect_ratio)}"
                f" · {_num(run.particle_count)} particles"
                + (f" · sweep {sweep['id']} ({_e(sweep['name'])})" if sweep else ""))
    nav = [(k, k.capitalize()) for k in RUN_SECTIONS]
    return _page(f"bedflow run {run_id}", subtitle, nav, _status_block(run, notes) + "".join(sections))


# -- the sweep report -------------------------------------------------------------------------------------------


def sweep_html(sweep_id: int, *, services: "Services | None" = None) -> tuple[str, list[int]]:
    """The HTML page of a sweep report and the ids of its runs."""
    from .db import Sweep
    from .db.queries import find
    from .runs import RunError, list_runs, open_services

    found = services or open_services()
    with found.db.session() as session:
        row = find(session, Sweep, sweep_id)
        if row is None:
            raise RunError(f"no sweep {sweep_id} in {found.db!r}")
        sweep = {"name": row.name, "parameter": row.parameter, "values": list(row.values or []),
                 "description": row.description}
    runs = sorted(list_runs(sweep=sweep_id, services=found), key=lambda r: r.id)
    notes: list[str] = []
    fig = [0]
    parameter = sweep["parameter"]
    overview = _table([("Name", _e(sweep["name"])), ("Swept parameter", f"<code>{_e(parameter)}</code>"),
                       ("Values", ", ".join(_num(v) for v in sweep["values"]) or "–"),
                       ("Runs", _value("runs", len(runs))),
                       ("Succeeded", _value("succeeded", sum(r.status.value == "succeeded" for r in runs)))],
                      "The sweep")
    if sweep["description"]:
        overview += f"<p>{_e(sweep['description'])}</p>"
    header = ["Run", "Status", _e(parameter), "Reₚ (–)", "u (m/s)", "Cells", "ε (–)", "Δp/L (Pa/m)",
              "CFD / Ergun", "CFD / E–S", "Converged"]
    table = []
    for r in runs:
        value = _spec_value(r.spec, parameter)
        table.append([f'<a href="#run-{r.id}">{r.id}</a>', _e(r.status.value), _value("", value),
                      _value("", r.re_p), _value("", r.superficial_velocity), _value("", r.cells),
                      _value("", r.porosity), _value(f"run-{r.id}.dp_dz", r.dp_dz),
                      _value(f"run-{r.id}.ratio_ergun", r.ratio_ergun, digits=3),
                      _value(f"run-{r.id}.ratio_eisfeld_schnitzlein", r.ratio_eisfeld_schnitzlein, digits=3),
                      _value("", r.converged)])
    results_body = _grid(header, table, "Runs of the sweep", cls="grid sweep-runs") if runs else _missing("runs")
    succeeded = [r for r in runs if r.status.value == "succeeded" and r.results]
    with tempfile.TemporaryDirectory(prefix=f"bedflow-sweep-{sweep_id}-") as folder:
        tmp = Path(folder)
        from viz import plots

        chart = sweep_chart = None
        if succeeded:
            chart = _try(notes, "friction-factor chart", lambda: plots.save(
                plots.friction_chart([RunResult.from_dict(r.results) for r in succeeded]), tmp / "friction.png"))

            def sweep_picture() -> Path:
                from .db import queries

                return plots.save(plots.sweep_plot(queries.to_dataframe(runs), parameter), tmp / "sweep.png")
            sweep_chart = _try(notes, "sweep plot", sweep_picture)
        else:
            notes.append("no succeeded runs: no charts")
        charts = _figure(chart, f"Friction factor f (–) of the {len(succeeded)} succeeded runs on the correlations' "
                         "curves against Reₚ (–), as-meshed geometry of the first run.", fig, "friction")
        if sweep_chart is not None:
            charts += _figure(sweep_chart, f"Δp/L (Pa/m) and CFD / correlation ratio (–) against "
                              f"<code>{_e(parameter)}</code>.", fig, "sweep")
    summaries = "".join(_run_summary(r) for r in runs)
    body = (_section("sweep", "Sweep", overview) + _section("runs", "Results", results_body)
            + _section("charts", "Charts", charts + ("" if not notes else '<ul class="missing">' + "".join(
                f"<li>{_e(n)}</li>" for n in notes) + "</ul>"))
            + _section("summaries", "Runs", summaries or _missing("runs")))
    nav = [("sweep", "Sweep"), ("runs", "Results"), ("charts", "Charts"), ("summaries", "Runs")]
    page = _page(f"bedflow sweep {sweep_id}: {sweep['name']}",
                 f"{len(runs)} runs over <code>{_e(parameter)}</code>", nav, body)
    return page, [r.id for r in runs]


def _spec_value(spec: dict[str, Any], dotted: str) -> Any:
    value: Any = spec
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _run_summary(r: Any) -> str:
    rows = [("Status", _e(r.status.value)), ("Reₚ", _value("", r.re_p)),
            ("Δp/L", _value("", r.dp_dz, "Pa/m")), ("Δp", _value("", r.dp, "Pa")),
            ("Porosity ε", _value("", r.porosity)), ("Cells", _value("", r.cells)),
            ("Iterations", _value("", r.iterations)), ("Converged", _value("", r.converged)),
            ("CFD / Ergun", _value("", r.ratio_ergun, digits=3)),
            ("CFD / Eisfeld–Schnitzlein", _value("", r.ratio_eisfeld_schnitzlein, digits=3))]
    if r.error:
        rows.append(("Error", _e(r.error.strip().splitlines()[-1][:300] if r.error.strip() else "")))
    return (f'<div class="run-summary" id="run-{r.id}"><h3>Run {r.id}</h3>'
            f"{_table(rows)}<p class=\"subtitle\">Full report: <code>bedflow report {r.id}</code></p></div>")


# -- files -------------------------------------------------------------------------------------------------------


def chromium() -> str:
    """The Chromium (or Chrome) executable; :class:`ReportError` if there is none."""
    configured = os.environ.get("BEDFLOW_CHROMIUM")
    for candidate in ((configured,) if configured else ()) + CHROMIUM_CANDIDATES:
        found = shutil.which(candidate) if not os.path.isabs(candidate) else (candidate if os.access(
            candidate, os.X_OK) else None)
        if found:
            return found
    raise ReportError("no Chromium found to print the PDF (install chromium, or set BEDFLOW_CHROMIUM)")


def html_to_pdf(source: Path, target: Path, timeout: float = PDF_TIMEOUT) -> Path:
    """Print an HTML file to PDF with headless Chromium; :class:`ReportError` if that fails."""
    source, target = Path(source).resolve(), Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="bedflow-chromium-") as profile:
        command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                   "--disable-background-networking", "--disable-component-update", "--no-first-run",
                   f"--user-data-dir={profile}", f"--print-to-pdf={target}", source.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as error:
            raise ReportError(f"Chromium did not print {source.name} to PDF within {timeout:g} s") from error
        except OSError as error:
            raise ReportError(f"cannot start Chromium to print the PDF: {error}") from error
    if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0 or \
            not target.read_bytes()[:5] == b"%PDF-":
        tail = "\n".join((done.stderr or done.stdout or "").strip().splitlines()[-8:])
        raise ReportError(f"Chromium failed to print {source.name} to PDF (exit {done.returncode}): {tail}")
    return target


def report(target: int, *, sweep: bool = False, fmt: str = "html", out: str | Path | None = None,
           interactive: bool = False, record: bool = True, services: "Services | None" = None) -> Path:
    """Write the report of run ``target`` (or of sweep ``target`` with ``sweep=True``) and return its path.

    ``fmt``: ``html`` (one self-contained file) or ``pdf`` (that page printed by headless Chromium).
    ``out``: the file (default ``<data>/reports/run-<id>.<fmt>`` or ``sweep-<id>.<fmt>``).
    ``interactive``: embed the vtk.js 3D packing (large; run reports only). ``record``: store the file as a
    ``report`` artifact of the run (of each run of a sweep).
    """
    from .db.records import add_artifacts, upload
    from .runs import open_services

    if fmt not in FORMATS:
        raise ReportError(f"unknown report format {fmt!r}; choose from {', '.join(FORMATS)}")
    found = services or open_services()
    stem = f"{'sweep' if sweep else 'run'}-{int(target)}"
    path = Path(out) if out else found.settings.data_dir / "reports" / f"{stem}.{fmt}"
    if sweep:
        page, owners = sweep_html(int(target), services=found)
    else:
        page, owners = run_html(int(target), interactive=interactive, services=found), [int(target)]
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        path.write_text(page, encoding="utf-8")
    else:
        with tempfile.TemporaryDirectory(prefix="bedflow-report-") as folder:
            source = Path(folder) / f"{stem}.html"
            source.write_text(page, encoding="utf-8")
            html_to_pdf(source, path)
    if record and owners:
        item = upload(found.store, "report", path, name=f"{stem}.{fmt}")
        with found.db.session() as session:
            for owner in owners:
                add_artifacts(session, "simulation", owner, [item])
    return path
