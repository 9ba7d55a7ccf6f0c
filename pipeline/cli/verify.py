"""``bedflow verify``: the meshing and solving code against exact solutions (:mod:`pipeline.verification`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from .output import echo_json, progress_bar


def _numbers(text: str | None, kind: type, what: str) -> list:
    if text is None:
        return []
    try:
        return [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"{what} must be comma-separated numbers, got {text!r}") from None


def verify_command(
    cases: Annotated[Optional[list[str]], typer.Argument(
        help="Cases: hagen-poiseuille, sc-array, sphere-in-tube (default: all).", show_default=False)] = None,
    solid_fraction: Annotated[Optional[str], typer.Option(
        "--solid-fraction", help="sc-array solid fractions, comma-separated (Zick & Homsy's: 0.027, 0.064, 0.125, "
        "0.216, 0.343, 0.45, 0.5236; or up to 0.15).")] = None,
    diameter_ratio: Annotated[Optional[str], typer.Option(
        "--diameter-ratio", help="sphere-in-tube ratios d/D, comma-separated, in (0, 1).")] = None,
    resolutions: Annotated[str, typer.Option(
        "--resolutions", help="Background cells per sphere diameter, comma-separated (as "
        "cfd.mesh_cells_per_diameter).")] = "8,12,16",
    surface_refinement: Annotated[Optional[int], typer.Option(
        "--surface-refinement", help="Levels at sphere surfaces (default: a bed's default).")] = None,
    gap_refinement: Annotated[Optional[int], typer.Option(
        "--gap-refinement", help="Further levels in narrow gaps (default: a bed's default).")] = None,
    boundary_layers: Annotated[Optional[int], typer.Option(
        "--boundary-layers", help="Prism layers on sphere surfaces (default: a bed's default).")] = None,
    processes: Annotated[int, typer.Option("--processes", "-n", help="MPI ranks per solve.")] = 1,
    keep: Annotated[Optional[Path], typer.Option("--keep", help="Keep the OpenFOAM cases in this folder.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Mesh and solve cases with exact answers with the packed bed's own code, at several resolutions:
    expected, computed, relative error, cells and seconds per row; observed order and Richardson
    extrapolation (GCI) over three resolutions."""
    from ..cfd.snappy import Refinement
    from ..verification import CASES, check_request, default_refinement, verify

    names = list(cases or CASES)
    parameters = {name: values for name, values in (
        ("sc-array", _numbers(solid_fraction, float, "--solid-fraction")),
        ("sphere-in-tube", _numbers(diameter_ratio, float, "--diameter-ratio"))) if values}
    chosen = _numbers(resolutions, int, "--resolutions")
    base = default_refinement()
    try:
        refinement = Refinement(base.surface_level if surface_refinement is None else surface_refinement,
                                base.gap_level if gap_refinement is None else gap_refinement,
                                base.layers if boundary_layers is None else boundary_layers)
        check_request(names, parameters, chosen)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    with progress_bar("verifying", enabled=not json_output) as progress:
        report = verify(names, parameters, chosen, refinement, processes, keep, progress)
    if json_output:
        echo_json(report.to_dict())
        return
    table = Table(title=f"bedflow verify (surface refinement {refinement.surface_level}, gap refinement "
                        f"{refinement.gap_level}, boundary layers {refinement.layers})")
    rows = report.table()
    for column in rows[0] if rows else []:
        table.add_column(column, justify="left" if column in ("case", "quantity") else "right")
    for row in rows:
        table.add_row(*row.values())
    console = Console(width=None if Console().is_terminal else 120)
    console.print(table)
    for item in report.convergence:
        order = "oscillating" if item.observed_order != item.observed_order else f"{item.observed_order:.2f}"
        console.print(f"{item.case} {item.parameter:g}: observed order {order}, extrapolated {item.extrapolated:.4g} "
                      f"({100 * item.extrapolated_error:+.2f} % from exact), GCI {100 * item.gci_fine:.2f} %")


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_command)
