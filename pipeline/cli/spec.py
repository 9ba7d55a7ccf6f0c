"""``bedflow validate`` and ``bedflow new``: reading and writing `.bed` files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..dsl import read_bed
from ..errors import BedSyntaxError, BedValidationError
from ..presets import load_preset, preset_names
from ..spec import BedSpec
from .output import echo_error, echo_fields, echo_json


def validate(
    files: Annotated[list[Path], typer.Argument(help="One or more .bed files.", show_default=False)],
    json_output: Annotated[bool, typer.Option("--json", help="Print the canonical JSON form instead.")] = False,
) -> None:
    """Check .bed files; print a summary (or canonical JSON). Exit 2 if any file is invalid."""
    failed = 0
    documents = []
    for path in files:
        try:
            spec = read_bed(path)
        except (BedSyntaxError, BedValidationError) as exc:
            failed += 1
            echo_error(str(exc))
            continue
        if json_output:
            documents.append(spec.to_dict())
        else:
            echo_fields(f"ok {path}: {spec.name}", spec.summary())
    if json_output and documents:
        echo_json(documents[0] if len(files) == 1 else documents)
    if failed:
        raise typer.Exit(2)


def new(
    preset: Annotated[
        Optional[str],
        typer.Option("--preset", "-p", help="Start from a shipped example: " + ", ".join(preset_names()) + "."),
    ] = None,
) -> None:
    """Print a documented .bed template (redirect it to a file: bedflow new > my.bed)."""
    spec = load_preset(preset) if preset else BedSpec(name="my-bed")
    typer.echo(spec.to_bed(comments=True), nl=False)  # to a file: exact


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(new)
