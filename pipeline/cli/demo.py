"""``bedflow demo``: the main job end to end on the embedded defaults.

Now: read and validate the shipped example bed, pack it with the native packer
and write its geometry. Meshing, CFD, results and pictures join as they land.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ..presets import load_preset, preset_names
from ..settings import Settings
from .output import echo_fields
from .packing import pack_and_show


def demo(
    preset: Annotated[str, typer.Option("--preset", "-p", help="Example bed to run: " + ", ".join(preset_names()) + ".")] = "small_spheres",
) -> None:
    """Run the demo study on the embedded defaults (SQLite, local store, local queue)."""
    settings = Settings.from_env()
    echo_fields("settings", settings.describe())
    spec = load_preset(preset)
    echo_fields(f"bed {spec.name}: {spec.description}", spec.summary())
    typer.echo("")
    pack_and_show(spec, None)


def register(app: typer.Typer) -> None:
    app.command()(demo)
