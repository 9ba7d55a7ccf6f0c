"""Arguments several commands share: run and sweep ids, checked before anything looks them up."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

import typer

from ..db.models import MAX_ID

_DIGITS = re.compile(r"[0-9]+\Z")


def checked_id(value: int, what: str = "run") -> int:
    """``value`` if a database row can have it as id (1 to :data:`~pipeline.db.models.MAX_ID`), else a usage
    error (exit code 2) that says so: a huge number would overflow the database's integer."""
    if not 1 <= value <= MAX_ID:
        raise typer.BadParameter(f"no {what} {value}: {what} ids go from 1 to {MAX_ID:,}")
    return value


def id_of(text: str, what: str = "run") -> int | None:
    """The id ``text`` spells (ASCII digits only, checked by :func:`checked_id`), or ``None`` if it is no number."""
    return checked_id(int(text), what) if _DIGITS.match(text) else None


def _check(what: str) -> Callable[[int | None], int | None]:
    return lambda value: None if value is None else checked_id(value, what)


RunArgument = Annotated[int, typer.Argument(help="The run id (from `bedflow run`, `bedflow submit` or `bedflow runs`).",
                                            show_default=False, callback=_check("run"))]
#: A ``--sweep`` option (a sweep id), for filters.
SweepOption = Annotated[int | None, typer.Option("--sweep", help="Only runs of this sweep.", callback=_check("sweep"))]
