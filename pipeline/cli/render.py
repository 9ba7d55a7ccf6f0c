"""``bedflow render RUN_ID|PACKING_FILE``: pictures of a run (packing, mesh, fields, plots) or of a packing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .arguments import id_of
from .output import echo, echo_json


def render_command(
    target: Annotated[str, typer.Argument(help="A run id, or a packing file (packing.npz).", show_default=False)],
    what: Annotated[Optional[list[str]], typer.Option("--what", "-w", help="packing, mesh, fields or plots "
                                                      "(repeatable; default: all).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for the pictures.")] = None,
    html: Annotated[bool, typer.Option("--html", help="Also write interactive, self-contained HTML.")] = False,
    size: Annotated[int, typer.Option("--size", help="Picture size in pixels (square).")] = 1200,
    json_output: Annotated[bool, typer.Option("--json", help="Print {name: file} as JSON.")] = False,
) -> None:
    """Render pictures (PNG; --html adds interactive pages) of a recorded run or of a packing file."""
    from viz.figures import WHATS, render_packing_file, render_run

    from ..runs import RunError

    path = Path(target)
    chosen = what or list(WHATS)
    bad = [w for w in chosen if w not in WHATS]
    if bad:
        raise typer.BadParameter(f"{', '.join(bad)}: choose from {', '.join(WHATS)}", param_hint="--what")
    if path.is_file():
        files = render_packing_file(path, out, (size, size), html)
    elif (run_id := id_of(target)) is not None:
        files = render_run(run_id, chosen, out, (size, size), html)
    else:
        raise RunError(f"{target!r} is neither a run id nor a packing file")
    if json_output:
        echo_json({name: str(file) for name, file in files.items()})
    else:
        for name, file in files.items():
            echo(f"{name:<20} {file}")


def register(app: typer.Typer) -> None:
    app.command("render")(render_command)
