"""Small printing helpers shared by the CLI commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from ..progress import ProgressCallback, no_progress


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON on standard output."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def echo_error(message: str) -> None:
    typer.echo(message, err=True)


def echo_fields(title: str, fields: dict[str, str]) -> None:
    """Print a title and aligned ``label  value`` lines."""
    typer.echo(title)
    width = max((len(k) for k in fields), default=0)
    for label, value in fields.items():
        typer.echo(f"    {label:<{width}}  {value}")


@contextmanager
def progress_bar(label: str, enabled: bool = True) -> Iterator[ProgressCallback]:
    """A rich progress bar on standard error, as a ``progress(fraction, message)`` callback."""
    if not enabled:
        yield no_progress
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[message]}"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=1.0, message="")

        def update(fraction: float, message: str) -> None:
            bar.update(task, completed=fraction, message=message)

        yield update
