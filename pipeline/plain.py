"""Typed records to and from plain JSON values: what a stage writes to a file or a database column and reads
back, tolerant of keys a newer or older version added or dropped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def known_fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The items of ``data`` that name a field of the dataclass ``cls`` (others are dropped; fields missing from
    ``data`` take their defaults when ``cls`` is built from the result)."""
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in data.items() if key in names}
