"""Small printing helpers shared by the CLI commands.

Everything the CLI prints goes through them: names, descriptions and messages come from files, the database
and servers, so control and bidi characters in them are shown escaped (:func:`pipeline.text.printable`),
never sent to the terminal, and rich never reads markup in them. JSON stays exact JSON (the same values).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from ..progress import ProgressCallback, no_progress
from ..results.presentation import ValueRow
from ..text import json_printable, printable


def echo(text: str = "", err: bool = False) -> None:
    """Print ``text`` (lines kept; every other control and bidi character shown escaped)."""
    typer.echo(printable(text, multiline=True), err=err)


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON on standard output (C1 and bidi characters as ``\\u`` escapes)."""
    typer.echo(json_printable(json.dumps(data, indent=2, ensure_ascii=False)))


def echo_error(message: str) -> None:
    echo(message, err=True)


def echo_fields(title: str, fields: dict[str, str]) -> None:
    """Print a one-line title and aligned ``label  value`` lines."""
    echo(printable(title))
    width = max((len(k) for k in fields), default=0)
    for label, value in fields.items():
        echo(f"    {label:<{width}}  {value}")


def echo_rows(title: str, quantities: Iterable[ValueRow], more: dict[str, str] | None = None) -> None:
    """Print ``title`` and one aligned line per quantity (its label and value with unit), then ``more``."""
    echo_fields(title, {**{q.label: q.text for q in quantities}, **(more or {})})


@contextmanager
def progress_bar(label: str, enabled: bool = True) -> Iterator[ProgressCallback]:
    """A rich progress bar on standard error, as a ``progress(fraction, message)`` callback."""
    if not enabled:
        yield no_progress
        return
    columns = (
        TextColumn("{task.description}", style="bold", markup=False),  # markup=False: "[x]" in a name is text
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[message]}", markup=False),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(printable(label), total=1.0, message="")

        def update(fraction: float, message: str) -> None:
            bar.update(task, completed=fraction, message=printable(message))

        yield update
