"""Small printing helpers shared by the CLI commands."""

from __future__ import annotations

import json
from typing import Any

import typer


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
