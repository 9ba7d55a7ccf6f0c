"""Write OpenFOAM dictionary files from Python values.

Mapping of Python values to OpenFOAM syntax:

* ``Mapping`` -> ``name { ... }`` sub-dictionary
* ``list``/``tuple`` -> ``( a b c )``
* ``bool`` -> ``true``/``false``; ``int``/``float`` -> exact ``repr`` (finite only)
* ``str`` -> bare word if it is a safe OpenFOAM word, else a quoted string
* :class:`Raw` -> written verbatim (``uniform (0 0 0.01)``, ``#includeEtc "..."``)

A key whose value is ``None`` writes just the key (``key;``). A key starting with
``#`` mapped to a :class:`Raw` writes ``#key value`` without a semicolon
(directives such as ``#includeEtc``).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

INDENT = "    "
LINE_WIDTH = 72
# OpenFOAM words: no whitespace, quotes, ';', braces, '/' (comments) or backslash.
_WORD = re.compile(r"^[A-Za-z_][^\s\"'/;{}\\]*$")
_UNBALANCED = re.compile(r"[()]")


class Raw(str):
    """Text written verbatim into a dictionary (no quoting, no validation)."""


def format_number(value: numbers.Real) -> str:
    """Exact text of a finite number; ``ValueError`` for NaN or infinity."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return repr(int(value))
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"non-finite number {value!r} cannot be written to an OpenFOAM dictionary")
    return repr(number)


def _is_word(text: str) -> bool:
    """A word OpenFOAM reads unquoted: identifier-like, with balanced parentheses."""
    if not _WORD.match(text):
        return False
    depth = 0
    for char in _UNBALANCED.findall(text):
        depth += 1 if char == "(" else -1
        if depth < 0:
            return False
    return depth == 0


def format_string(text: str) -> str:
    """A bare word when safe, otherwise a double-quoted string."""
    if _is_word(text):
        return text
    return quote(text)


def quote(text: str) -> str:
    """``text`` as a double-quoted OpenFOAM string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def format_value(value: Any, depth: int = 0) -> str:
    """Text of a non-dictionary value (number, bool, string, Raw, list)."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Real):
        return format_number(value)
    if isinstance(value, str):
        return format_string(value)
    if isinstance(value, (list, tuple)):
        return _format_list(value, depth)
    raise TypeError(f"cannot write {type(value).__name__} {value!r} to an OpenFOAM dictionary")


def words(*values: Any) -> Raw:
    """Values side by side without brackets, e.g. ``words("uniform", (0, 0, 0.01))``.

    Each value is formatted (and validated) like any other entry.
    """
    return Raw(" ".join(format_value(value) for value in values))


def _format_list(items: list[Any] | tuple[Any, ...], depth: int) -> str:
    """``(a b c)`` on one line when short and flat, else one item per line."""
    if not any(isinstance(item, Mapping) for item in items):
        inline = "(" + " ".join(format_value(item, depth + 1) for item in items) + ")"
        if len(inline) <= LINE_WIDTH:
            return inline
    pad = INDENT * depth
    lines = [f"{pad}{INDENT}{_format_item(item, depth + 1)}\n" for item in items]
    return "\n" + pad + "(\n" + "".join(lines) + pad + ")"


def _format_item(item: Any, depth: int) -> str:
    if isinstance(item, Mapping):
        inner = "".join(_entry_lines(item, depth + 1))
        return "{\n" + inner + INDENT * depth + "}"
    return format_value(item, depth)


def _entry_lines(contents: Mapping[str, Any], depth: int) -> Iterable[str]:
    pad = INDENT * depth
    for key, value in contents.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"dictionary keys must be non-empty strings, got {key!r}")
        name = key if key.startswith("#") or key.startswith('"') else format_string(key)
        if isinstance(value, Mapping):
            yield f"{pad}{name}\n{pad}{{\n"
            yield from _entry_lines(value, depth + 1)
            yield f"{pad}}}\n"
        elif value is None:
            yield f"{pad}{name};\n"
        else:
            text = format_value(value, depth)
            separator = "" if text.startswith("\n") else " "
            end = "" if key.startswith("#") else ";"
            yield f"{pad}{name}{separator}{text}{end}\n"


def render_dictionary(
    contents: Mapping[str, Any], object_name: str, class_name: str = "dictionary", location: str | None = None
) -> str:
    """The text of an OpenFOAM dictionary file: ``FoamFile`` header, then the body."""
    header: dict[str, Any] = {"version": Raw("2.0"), "format": "ascii", "class": class_name}
    if location is not None:
        header["location"] = Raw(quote(location))
    header["object"] = object_name
    lines = [
        "/*--------------------------------*- C++ -*----------------------------------*\\\n",
        "|  Written by bedflow                                                         |\n",
        "\\*---------------------------------------------------------------------------*/\n",
        *_entry_lines({"FoamFile": header}, 0),
        "\n",
        *_entry_lines(contents, 0),
        "\n// ************************************************************************* //\n",
    ]
    return "".join(lines)


def write_dictionary(
    path: Path,
    contents: Mapping[str, Any],
    object_name: str,
    class_name: str = "dictionary",
    location: str | None = None,
) -> Path:
    """Write ``contents`` as an OpenFOAM dictionary file at ``path`` and return it.

    The whole text is rendered (and every number checked finite) before the file
    is opened, so an invalid value never leaves a half-written file.
    """
    text = render_dictionary(contents, object_name, class_name, location)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
