"""``bedflow pack``: pack a bed, write the packing file and its geometry, report the metrics."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..dsl import read_bed
from ..packing import ENGINES, pack_to_folder, packing_digest, with_engine
from ..settings import Settings
from ..spec import BedSpec
from ..text import file_name
from ..results.presentation import packing_rows
from .output import echo_json, echo_rows, progress_bar


def default_packing_dir(settings: Settings, name: str, digest: str) -> Path:
    """Where a packing of a bed lives by default: ``<data>/packings/<name>-<digest12>``."""
    return settings.data_dir / "packings" / file_name(name, f"-{digest[:12]}")


def pack_and_show(spec: BedSpec, out: Path | None, json_output: bool = False) -> dict[str, Any]:
    """Pack ``spec`` into ``out`` (default: under the data dir) with a progress bar, and print the report."""
    folder = out or default_packing_dir(Settings.from_env(), spec.name, packing_digest(spec))
    started = time.perf_counter()
    with progress_bar(f"packing {spec.name}", enabled=not json_output) as progress:
        packed = pack_to_folder(spec, folder, progress=progress)
    report = packed.as_json()
    report["seconds"]["command"] = time.perf_counter() - started
    if json_output:
        echo_json(report)
        return report
    title = f"packed {spec.name} with {packed.report.engine} -> {folder}"
    echo_rows(title, packing_rows(packed.report), {
        "Contact treatment": spec.contact_treatment().describe(),
        "Seconds": ", ".join(f"{k} {v:.2f}" for k, v in report["seconds"].items()),
        "Files": ", ".join(sorted(path.name for path in packed.files.values())),
    })
    return report


def pack_command(
    file: Annotated[Path, typer.Argument(help="The .bed file.", show_default=False)],
    engine: Annotated[
        Optional[str], typer.Option("--engine", "-e", help=f"Packing engine ({', '.join(ENGINES)}); default: the spec's.")
    ] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default under the data dir).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the results as one JSON object.")] = False,
) -> None:
    """Pack the particles of a bed; write packing.npz and the export formats of the spec."""
    pack_and_show(with_engine(read_bed(file), engine), out, json_output)


def register(app: typer.Typer) -> None:
    app.command("pack")(pack_command)
