"""Writer of the `.bed` language: the inverse of :func:`pipeline.dsl.parse_bed`.

Values are written in their display unit (lengths in mm: ``diameter = 25 mm;``)
with the shortest text that reads back to the same float, else in SI, so
``parse_bed(format_bed(spec)) == spec`` holds exactly.
"""

from __future__ import annotations

import json
import re
import textwrap
from typing import TYPE_CHECKING, Any

import param

from ..spec import FORMAT, describe, unit_of
from ..spec.fields import display_unit, from_display, to_display

if TYPE_CHECKING:
    from ..spec import BedSpec

_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INDENT = "    "


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def format_value(parameter: param.Parameter, value: Any) -> str:
    """The `.bed` text of one field value, with its unit (its display unit where that reads back exactly)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        unit = unit_of(parameter)
        if display_unit(parameter) != unit:
            shown = to_display(parameter, value)
            if from_display(parameter, shown) == value:  # reads back exactly: else written as stored, in SI
                text = f"{shown:g}" if float(f"{shown:g}") == shown else repr(shown)
                return f"{text} {display_unit(parameter)}"
        return f"{value!r} {unit}" if unit else repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_string(str(item)) for item in value) + "]"
    if isinstance(parameter, param.Selector) and _BARE.match(value) and value not in ("true", "false"):
        return value
    return _string(value)


def _comment(text: str, indent: str) -> list[str]:
    return [f"{indent}// {line}" for line in textwrap.wrap(text, width=96 - len(indent), break_long_words=False)]


def format_bed(spec: "BedSpec", comments: bool = False) -> str:
    """Render ``spec`` as `.bed` text; ``comments`` documents every section and key."""
    lines: list[str] = [f"// bedflow bed specification ({FORMAT}); lengths in mm, values stored in SI."]
    if comments:
        lines += [
            "// Syntax: section { key = value unit; }  with // and /* */ comments.",
            "// Units may be any known spelling (5 mm, 1.8e-5 Pa.s, 998 kg/m3); values are stored in SI.",
        ]
    lines.append(f"name = {_string(spec.name)};")
    lines.append(f"description = {_string(spec.description)};")
    for key, section in spec.sections().items():
        lines.append("")
        if comments and type(section).__doc__:
            lines += _comment(" ".join(type(section).__doc__.split()), "")
        lines.append(f"{key} {{")
        for field, value in section.values().items():
            parameter = section.param[field]
            if comments:
                lines += _comment(describe(parameter), _INDENT)
            lines.append(f"{_INDENT}{field} = {format_value(parameter, value)};")
        lines.append("}")
    return "\n".join(lines) + "\n"
