"""Parameter types of the bed specification and the checks shared by every front end.

A field of a :class:`~pipeline.spec.BedSpec` section is an ordinary ``param``
parameter; dimensional ones are :class:`Quantity`, which adds the SI unit. The
dashboard reads ``unit``, ``bounds`` and ``doc`` from the same objects that the
`.bed` parser and the JSON loader check values against, so no field is declared
twice.
"""

from __future__ import annotations

import math
from typing import Any

import param

from ..text import check_text
from ..units import DIMENSIONLESS, Dimension, dimension_of, lookup


class Quantity(param.Number):
    """A real number with a physical unit; the value is always stored in SI.

    ``unit`` is the canonical SI symbol (``"m"``, ``"Pa.s"``, ...). A ``magnitude`` field's direction is fixed
    (gravity acts downward), so a negative value (``gravity = -9.81 m/s2``, as Blender and most people write it)
    is read as its magnitude.
    """

    __slots__ = ["unit", "magnitude"]

    _slot_defaults = dict(param.Number._slot_defaults, unit=None, magnitude=False)

    def __init__(self, default: Any = param.Undefined, *, unit: Any = param.Undefined,
                 magnitude: Any = param.Undefined, **params: Any) -> None:
        super().__init__(default=default, **params)
        self.unit = unit
        self.magnitude = magnitude


#: The longest value of a one-line text field (characters): the spec's name, a wall material, ...
LINE_LENGTH = 200


class Text(param.String):
    """Free text of more than one line (a description): at most ``max_length`` characters, none of them
    unsafe (:func:`pipeline.text.check_text`); newlines and tabs only where ``multiline``.

    A plain ``param.String`` field is one line of at most :data:`LINE_LENGTH` characters (``param`` keeps
    a Parameterized's ``name`` a plain String, so that is the default rule of every text field)."""

    __slots__ = ["max_length", "multiline"]

    _slot_defaults = dict(param.String._slot_defaults, max_length=LINE_LENGTH, multiline=False)

    def __init__(self, default: Any = param.Undefined, *, max_length: Any = param.Undefined,
                 multiline: Any = param.Undefined, **params: Any) -> None:
        super().__init__(default=default, **params)
        self.max_length = max_length
        self.multiline = multiline


def unit_of(parameter: param.Parameter) -> str | None:
    """The SI unit symbol of a field, or ``None`` for a dimensionless one."""
    return getattr(parameter, "unit", None)


#: The unit a quantity of each SI unit is shown and written in (the `.bed` text, the dashboard's form, messages):
#: a packed bed's lengths are millimetres. Values stay SI inside; a unit not listed is shown as it is.
DISPLAY_UNITS: dict[str, str] = {"m": "mm"}


def display_unit(parameter: param.Parameter) -> str | None:
    """The unit a field's value is shown in (``mm`` for a length), or ``None`` for a dimensionless one."""
    unit = unit_of(parameter)
    return DISPLAY_UNITS.get(unit, unit) if unit else None


def to_display(parameter: param.Parameter, value: float) -> float:
    """``value`` (SI) in the field's display unit: the shortest decimal that converts back to exactly ``value``
    (``0.025`` m → ``25.0`` mm), else the plain quotient. Non-quantities and SI display units: ``value``."""
    unit = lookup(display_unit(parameter) or "")
    if unit is None or unit.factor == 1.0 or not _is_number(value) or not math.isfinite(value):
        return value
    value = float(value)
    shown = float(f"{value / unit.factor:.12g}")
    return shown if unit.to_si(shown) == value else value / unit.factor


def from_display(parameter: param.Parameter, value: Any) -> Any:
    """A value typed in the field's display unit, in SI (the inverse of :func:`to_display`; ``None`` stays)."""
    unit = lookup(display_unit(parameter) or "")
    if unit is None or unit.factor == 1.0 or not isinstance(value, (int, float)) or isinstance(value, bool):
        return value
    return unit.to_si(float(value))


def dimension(parameter: param.Parameter) -> Dimension:
    """The physical dimension of a field (dimensionless for non-quantities)."""
    return dimension_of(unit_of(parameter)) if unit_of(parameter) else DIMENSIONLESS


def _fmt(value: float, parameter: param.Parameter, with_unit: bool = True) -> str:
    """A value (SI) as a user reads it: in the field's display unit, with the unit unless ``with_unit`` is off."""
    shown = to_display(parameter, value)
    text = str(shown) if isinstance(shown, int) else f"{shown:g}"
    unit = display_unit(parameter) if with_unit else None
    return f"{text} {unit}" if unit else text


def bounds_text(parameter: param.Parameter) -> str:
    """Human-readable bounds of a numeric field, e.g. ``> 0 m`` or ``0 to 1``."""
    bounds = getattr(parameter, "bounds", None)
    if not bounds:
        return ""
    low, high = bounds
    low_incl, high_incl = getattr(parameter, "inclusive_bounds", (True, True))
    if low is not None and high is not None:
        if low_incl and high_incl:
            return f"{_fmt(low, parameter, False)} to {_fmt(high, parameter)}"
        left = "≥" if low_incl else ">"
        right = "≤" if high_incl else "<"
        return f"{left} {_fmt(low, parameter)} and {right} {_fmt(high, parameter)}"
    if low is not None:
        return f"{'≥' if low_incl else '>'} {_fmt(low, parameter)}"
    if high is not None:
        return f"{'≤' if high_incl else '<'} {_fmt(high, parameter)}"
    return ""


def _check_bounds(parameter: param.Parameter, value: float) -> None:
    bounds = getattr(parameter, "bounds", None)
    if not bounds:
        return
    low, high = bounds
    low_incl, high_incl = getattr(parameter, "inclusive_bounds", (True, True))
    too_low = low is not None and (value < low or (value == low and not low_incl))
    too_high = high is not None and (value > high or (value == high and not high_incl))
    if too_low or too_high:
        if low is not None and high is not None and low_incl and high_incl:
            expected = f"between {_fmt(low, parameter, False)} and {_fmt(high, parameter)}"
        else:
            expected = bounds_text(parameter)
        raise ValueError(f"must be {expected}, got {_fmt(value, parameter)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def coerce(parameter: param.Parameter, value: Any) -> Any:
    """Check ``value`` (already in SI) against a field and return its canonical form.

    Numbers become ``float`` (``int`` for integer fields) so that equal specs
    serialise identically. Raises :class:`ValueError` with a message meant for a
    user (no field path: the caller adds it).
    """
    if value is None:
        if parameter.allow_None:
            return None
        raise ValueError("a value is required (none is not allowed here)")
    if isinstance(parameter, param.Boolean):
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, got {value!r}")
        return value
    if isinstance(parameter, param.Integer):
        if not _is_number(value) or not math.isfinite(value) or value != int(value):
            raise ValueError(f"must be a whole number, got {value!r}")
        value = int(value)
        _check_bounds(parameter, value)
        return value
    if isinstance(parameter, param.Number):
        if not _is_number(value):
            raise ValueError(f"must be a number, got {value!r}")
        value = float(value) + 0.0  # + 0.0 folds -0.0 into 0.0: equal specs, equal digests
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value!r}")
        if getattr(parameter, "magnitude", False):
            value = abs(value)
        _check_bounds(parameter, value)
        return value
    if isinstance(parameter, param.ListSelector):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"must be a list of {choices_text(parameter)}, got {value!r}")
        items = list(value)
        for item in items:
            if item not in parameter.objects:
                raise ValueError(f"{item!r} is not one of {choices_text(parameter)}")
        if len(set(items)) != len(items):
            raise ValueError("lists an entry twice")
        return items
    if isinstance(parameter, param.Selector):
        if not isinstance(value, str) or value not in parameter.objects:
            raise ValueError(f"must be one of {choices_text(parameter)}, got {value!r}")
        return value
    if isinstance(parameter, param.String):
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {value!r}")
        if isinstance(parameter, Text):
            return check_text(value, max_length=parameter.max_length, multiline=parameter.multiline)
        return check_text(value, max_length=LINE_LENGTH)
    raise TypeError(f"unsupported field type {type(parameter).__name__}")  # programming error


def choices_text(parameter: param.Parameter) -> str:
    return ", ".join(str(o) for o in parameter.objects)


def describe(parameter: param.Parameter) -> str:
    """One line documenting a field: its doc, then unit and bounds or choices in brackets."""
    doc = " ".join((parameter.doc or "").split())
    if isinstance(parameter, param.ListSelector):
        details = f"any of {choices_text(parameter)}"
    elif isinstance(parameter, param.Selector):
        details = f"one of {choices_text(parameter)}"
    else:
        details = bounds_text(parameter) or display_unit(parameter) or ""
        unit = display_unit(parameter)
        if unit and unit not in details:
            details = f"{unit}, {details}"
    if parameter.allow_None:
        details = f"{details}, or none" if details else "or none"
    return f"{doc} [{details}]" if details else doc
