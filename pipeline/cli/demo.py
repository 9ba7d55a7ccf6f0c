"""``bedflow demo``: the main job end to end on the embedded defaults.

Validates a shipped example bed, packs it with the native packer, writes its
geometry, meshes the void and solves the flow (OpenFOAM), and prints the
pressure gradient against the correlations. The run is recorded in the
database and its artifacts in the store; its pictures and an HTML report are written last.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ..presets import load_preset, preset_names
from ..settings import Settings
from .cfd import show_result
from .output import echo, echo_fields, progress_bar
from .packing import pack_and_show

STAGES = ("pack", "run")


def demo(
    preset: Annotated[str, typer.Option("--preset", "-p", help="Example bed to run: " + ", ".join(preset_names()) + ".")] = "small_spheres",
    until: Annotated[str, typer.Option("--until", help="Stop after this stage: pack or run (the whole chain).")] = "run",
) -> None:
    """Run the demo study on the embedded defaults (SQLite, local store, local queue)."""
    if until not in STAGES:
        raise typer.BadParameter(f"choose one of {', '.join(STAGES)}", param_hint="--until")
    settings = Settings.from_env()
    echo_fields("settings", settings.describe())
    spec = load_preset(preset)
    echo_fields(f"bed {spec.name}: {spec.description}", spec.summary())
    echo("")
    from ..runs import run
    from ..folder import RunFolder

    folder = RunFolder.default(spec, settings)
    pack_and_show(spec, folder.packing_dir)  # the run below reuses this packing
    if until == "pack":
        return

    echo("")
    with progress_bar(f"meshing and solving {spec.name}") as progress:
        result = run(spec, folder=folder, progress=progress)
    show_result(result, json_output=False)
    from viz.figures import render_run

    echo("")
    with progress_bar("drawing the packing, mesh, fields and plots") as progress:
        progress(0.0, "rendering")
        figures = render_run(result.run_id)  # type: ignore[arg-type]
        progress(1.0, f"{len(figures)} pictures")
    echo_fields(f"pictures of run {result.run_id}", {name: str(path) for name, path in figures.items()})
    from ..reporting import report

    with progress_bar("writing the report") as progress:
        progress(0.0, "report")
        page = report(result.run_id)  # type: ignore[arg-type]
        progress(1.0, page.name)
    echo(f"report: {page}")
    echo(f"\nrecorded as run {result.run_id}: `bedflow show {result.run_id}`, `bedflow artifacts "
         f"{result.run_id}`, `bedflow runs`")


def register(app: typer.Typer) -> None:
    app.command()(demo)
