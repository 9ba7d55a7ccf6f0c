"""``bedflow mesh``, ``bedflow solve`` and ``bedflow run``: the CFD stages from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..dsl import read_bed
from ..packing import ENGINES, with_engine
from ..results.extract import RunResult
from ..results.presentation import correlation_rows, mesh_rows, result_rows
from .output import echo, echo_fields, echo_json, echo_rows, progress_bar

EngineOption = Annotated[
    Optional[str], typer.Option("--engine", "-e", help=f"Packing engine ({', '.join(ENGINES)}); default: the spec's.")
]
OutOption = Annotated[Optional[Path], typer.Option("--out", "-o", help="Run folder (default under the data dir).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the results as one JSON object.")]


def show_result(result: RunResult, json_output: bool) -> None:
    """Print a run result: a summary for people, or the flat JSON keys."""
    summary = result.summary()
    if json_output:
        echo_json(summary)
        return
    rows = correlation_rows(result)
    title = f"run {result.run_id}: solved {result.case_dir}" if result.run_id else f"solved {result.case_dir}"
    echo_rows(title, result_rows(result), {
        "As meshed": ", ".join(f"{r.label} {r.meshed:.3g} Pa/m ({r.ratio_meshed:.2f}x)" for r in rows),
        "Nominal": ", ".join(f"{r.label} {r.nominal:.3g} Pa/m ({r.ratio_nominal:.2f}x)" for r in rows),
        "Seconds": ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()),
    })
    for warning in result.warnings():
        echo(f"warning: {warning}", err=True)


def run_command(
    file: Annotated[Path, typer.Argument(help="The .bed file.", show_default=False)],
    engine: EngineOption = None,
    processes: Annotated[Optional[int], typer.Option("--processes", "-n", help="MPI ranks for the solver.")] = None,
    out: OutOption = None,
    json_output: JsonOption = False,
    study: Annotated[bool, typer.Option("--mesh-study", help="Run three resolutions (n, 4n/3, 2n cells per d) and "
                                        "extrapolate dp/dz (Richardson).")] = False,
) -> None:
    """Pack → geometry → mesh → solve → results, recorded in the run database and store (``--json`` gains
    ``id`` and the run ``folder``); a packing or mesh recorded for the same spec is reused. A mesh study records
    each resolution as a run, grouped in one sweep."""
    from ..runs import mesh_study, run

    spec = read_bed(file)
    if processes is not None:
        spec = spec.updated({"cfd.processes": processes})
    with progress_bar(f"running {spec.name}", enabled=not json_output) as progress:
        if study:
            summary = mesh_study(spec, engine=engine, folder=out, progress=progress).summary()
        else:
            result = run(spec, engine=engine, folder=out, progress=progress)
    if not study:
        show_result(result, json_output)
    elif json_output:
        echo_json(summary)
    else:
        echo_fields("mesh study", {k: str(v) for k, v in summary.items() if k != "seconds"})


def mesh_command(
    file: Annotated[Path, typer.Argument(help="The .bed file.", show_default=False)],
    engine: EngineOption = None,
    out: OutOption = None,
    json_output: JsonOption = False,
) -> None:
    """Pack (or reuse) and mesh a bed with blockMesh + snappyHexMesh; print the mesh quality."""
    from ..folder import RunFolder
    from ..workflow import mesh

    spec = with_engine(read_bed(file), engine)
    folder = RunFolder(out) if out else RunFolder.default(spec)
    with progress_bar(f"meshing {spec.name}", enabled=not json_output) as progress:
        quality = mesh(spec, folder, progress=progress)
    if json_output:
        echo_json({**quality.to_dict(), "case_dir": str(folder.case)})
    else:
        echo_rows(f"meshed {folder.case}", mesh_rows(quality, spec.cfd.mesh_cells_per_diameter))


def solve_command(
    case_dir: Annotated[Path, typer.Argument(help="A case folder written by bedflow mesh.", show_default=False)],
    processes: Annotated[Optional[int], typer.Option("--processes", "-n", help="MPI ranks for the solver.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Solve a meshed case (simpleFoam) and print the pressure drop against the correlations."""
    from ..workflow import solve

    with progress_bar(f"solving {case_dir}", enabled=not json_output) as progress:
        result = solve(case_dir, processes=processes, progress=progress)
    show_result(result, json_output)


def register(app: typer.Typer) -> None:
    app.command("mesh")(mesh_command)
    app.command("solve")(solve_command)
    app.command("run")(run_command)
