"""``bedflow report RUN_ID|SWEEP_ID``: a self-contained HTML (or PDF) report of a run or a sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .arguments import checked_id
from .output import echo, echo_json
from .remote import TokenOption, UrlOption, client_for


def report_command(
    target: Annotated[int, typer.Argument(help="A run id (or a sweep id with --sweep).", show_default=False)],
    sweep: Annotated[bool, typer.Option("--sweep", help="TARGET is a sweep: report all its runs.")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="html (self-contained) or pdf (printed by "
                                     "headless Chromium).")] = "html",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="The file to write (default: "
                                                "<data>/reports/run-<id>.<format>).")] = None,
    interactive: Annotated[bool, typer.Option("--interactive", help="Embed the interactive 3D packing "
                                              "(vtk.js; large).")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print {\"path\": file} as JSON.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Write a report of a recorded run (or sweep) for papers and lab books, and record it as an artifact."""
    from ..reporting import FORMATS, report

    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r}: choose from {', '.join(FORMATS)}", param_hint="--format")
    checked_id(target, "sweep" if sweep else "run")
    client = client_for(url, token)
    if client is not None and (sweep or fmt != "html" or interactive):
        raise typer.BadParameter("a deployment serves a run's HTML report only (no --sweep, pdf or --interactive)",
                                 param_hint="--url")
    path = client.report(target, out) if client else report(target, sweep=sweep, fmt=fmt, out=out,
                                                            interactive=interactive)
    if json_output:
        echo_json({"path": str(path), "format": fmt, "sweep" if sweep else "run": target})
    else:
        echo(str(path))


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
