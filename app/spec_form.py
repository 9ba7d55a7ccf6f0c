"""Widgets generated from the :class:`~pipeline.BedSpec` param declarations (no field is written by hand).

Every section field of :data:`pipeline.spec.sections.SECTION_CLASSES` gets one widget chosen by its
``param`` type: numbers → ``FloatInput`` / ``IntInput`` whose ``start`` / ``end`` are the field's bounds
(an exclusive bound becomes the next representable value inside it), selectors → ``Select``, list
selectors → ``MultiChoice``, booleans → ``Checkbox``, strings → ``TextInput``. A
:class:`~pipeline.spec.fields.Quantity` is shown in its display unit, named in its label (lengths in mm:
``diameter (mm)``, as the `.bed` text writes them); the form converts at its edge, so :meth:`SpecForm.values`,
:meth:`SpecForm.show` and the change callbacks speak SI. Tooltips come from
:func:`~pipeline.spec.fields.describe` (doc, unit, bounds).

Each widget has a stable CSS class for browser tests: ``bf-field-<section>-<field>`` (``bf-field-name``
and ``bf-field-description`` for the metadata).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import panel as pn
import param

from pipeline.spec import BedSpec
from pipeline.spec.fields import describe, display_unit, from_display, to_display
from pipeline.spec.sections import SECTION_CLASSES

#: The metadata fields of a spec (not in a section), in form order.
METADATA_FIELDS = ("name", "description")

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def css_class(path: str) -> str:
    """The CSS class of the widget of a field path: ``particles.count`` → ``bf-field-particles-count``."""
    return "bf-field-" + path.replace(".", "-")


def parameter_of(path: str) -> param.Parameter:
    """The ``param`` declaration of a field path (``name``, ``description`` or ``section.field``)."""
    return BedSpec.parameter(path)


def field_paths() -> list[str]:
    """Every path the form edits: the metadata, then every section field in declaration order."""
    return [*METADATA_FIELDS, *BedSpec.field_paths()]


def is_numeric(parameter: param.Parameter) -> bool:
    return isinstance(parameter, param.Number) and not isinstance(parameter, param.Boolean)


def numeric_paths() -> list[str]:
    """Field paths of numeric fields (what a sweep can vary)."""
    return [path for path in BedSpec.field_paths() if is_numeric(parameter_of(path))]


def label(path: str, parameter: param.Parameter | None = None) -> str:
    """The widget label of a field: its name and, for a quantity, its display unit (``diameter (mm)``)."""
    parameter = parameter or parameter_of(path)
    field = path.rpartition(".")[2]
    unit = display_unit(parameter)
    text = f"{field} ({unit})" if unit else field
    if path in METADATA_FIELDS:
        text = field.capitalize()
    return text


def tooltip(parameter: param.Parameter) -> str:
    """The tooltip of a field (doc, unit, bounds or choices), escaped for Panel's Markdown rendering."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", describe(parameter))


def widget_limits(parameter: param.Parameter) -> tuple[float | int | None, float | int | None]:
    """``(start, end)`` of a numeric widget: the field's bounds in its display unit, moved inside where they are
    exclusive."""
    low, high = (to_display(parameter, bound) for bound in getattr(parameter, "bounds", None) or (None, None))
    low_incl, high_incl = getattr(parameter, "inclusive_bounds", (True, True))
    if isinstance(parameter, param.Integer):
        start = None if low is None else (math.ceil(low) if low_incl else math.floor(low) + 1)
        end = None if high is None else (math.floor(high) if high_incl else math.ceil(high) - 1)
        return start, end
    start = None if low is None else (float(low) if low_incl else math.nextafter(float(low), math.inf))
    end = None if high is None else (float(high) if high_incl else math.nextafter(float(high), -math.inf))
    return start, end


def widget_step(parameter: param.Parameter) -> float | int:
    """Arrow-key step of a numeric widget: a tenth of the default's order of magnitude (in the display unit)."""
    if isinstance(parameter, param.Integer):
        return 1
    default = to_display(parameter, parameter.default)
    if isinstance(default, (int, float)) and default:
        return 10.0 ** (math.floor(math.log10(abs(default))) - 1)
    high = to_display(parameter, (getattr(parameter, "bounds", None) or (None, None))[1])
    if isinstance(high, (int, float)) and high > 0 and math.isfinite(high):
        return 10.0 ** (math.floor(math.log10(high)) - 2)
    return 0.1


def field_widget(path: str, value: Any, parameter: param.Parameter | None = None) -> pn.widgets.Widget:
    """One widget for the field at ``path``, showing ``value`` (SI) in the field's display unit, chosen by the
    param type."""
    parameter = parameter or parameter_of(path)
    common: dict[str, Any] = {"label": label(path, parameter), "css_classes": [css_class(path)],
                              "sizing_mode": "stretch_width"}
    if isinstance(parameter, param.Boolean):
        return pn.widgets.Checkbox(value=bool(value), **common)
    common["description"] = tooltip(parameter)
    if isinstance(parameter, param.ListSelector):
        return pn.widgets.MultiChoice(options=list(parameter.objects), value=list(value or []), **common)
    if isinstance(parameter, param.Selector):
        return pn.widgets.Select(options=list(parameter.objects), value=value, **common)
    if is_numeric(parameter):
        start, end = widget_limits(parameter)
        cls = pn.widgets.IntInput if isinstance(parameter, param.Integer) else pn.widgets.FloatInput
        placeholder = "none" if parameter.allow_None else ""
        return cls(value=to_display(parameter, value), start=start, end=end, step=widget_step(parameter),
                   placeholder=placeholder, **common)
    if path == "description":
        return pn.widgets.TextAreaInput(value=value or "", auto_grow=True, max_rows=4, **common)
    if isinstance(parameter, param.String):
        return pn.widgets.TextInput(value=value or "", **common)
    raise TypeError(f"no widget for {path} ({type(parameter).__name__})")  # a new param type: add it here


def spec_values(spec: BedSpec) -> dict[str, Any]:
    """``{path: value}`` of every form field of ``spec`` (SI; lists copied)."""
    data = spec.to_dict()
    values: dict[str, Any] = {key: data[key] for key in METADATA_FIELDS}
    for key in SECTION_CLASSES:
        for field, value in data[key].items():
            values[f"{key}.{field}"] = list(value) if isinstance(value, list) else value
    return values


class SpecForm:
    """The widgets of every field of a :class:`BedSpec`, grouped in one card per section.

    ``widgets`` maps field paths to widgets; :meth:`show` puts a spec's values in them (without
    telling :meth:`on_change` listeners); :meth:`on_change` registers ``callback(path, value)`` for
    user edits.
    """

    def __init__(self, spec: BedSpec | None = None, collapsed: tuple[str, ...] = ("lids", "export")) -> None:
        spec = spec or BedSpec()
        values = spec_values(spec)
        self.widgets: dict[str, pn.widgets.Widget] = {path: field_widget(path, values[path]) for path in field_paths()}
        self._callbacks: list[Callable[[str, Any], None]] = []
        self._quiet = False
        for path, widget in self.widgets.items():
            widget.param.watch(lambda event, path=path: self._changed(path, event.new), "value")
        self.cards: dict[str, pn.Card] = {}
        for key, cls in SECTION_CLASSES.items():
            doc = " ".join((cls.__doc__ or "").split())
            items = [self._with_tooltip(f"{key}.{field}") for field in cls.field_names()]
            self.cards[key] = pn.Card(
                pn.pane.Markdown(doc, margin=(0, 10), styles={"color": "#555"}), *items,
                title=key, collapsed=key in collapsed, css_classes=[f"bf-section-{key}"],
                sizing_mode="stretch_width")

    def _with_tooltip(self, path: str) -> pn.viewable.Viewable:
        widget = self.widgets[path]
        if isinstance(widget, pn.widgets.Checkbox):  # a Checkbox has no description: a tooltip icon beside it
            return pn.Row(widget, pn.widgets.TooltipIcon(value=tooltip(parameter_of(path))),
                          sizing_mode="stretch_width")
        return widget

    # -- values --------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The widgets' current values by field path (SI)."""
        return {path: from_display(parameter_of(path), widget.value) for path, widget in self.widgets.items()}

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Changes made inside do not reach :meth:`on_change` listeners."""
        previous, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = previous

    def show(self, values: BedSpec | dict[str, Any]) -> None:
        """Put a spec's (or a ``{path: value}`` mapping's) values into the widgets, quietly."""
        values = spec_values(values) if isinstance(values, BedSpec) else values
        with self.quiet():
            for path, value in values.items():
                widget = self.widgets[path]
                if isinstance(widget, (pn.widgets.TextInput, pn.widgets.TextAreaInput)):
                    value = value or ""
                value = to_display(parameter_of(path), value)
                if widget.value != value:
                    widget.value = value

    def on_change(self, callback: Callable[[str, Any], None]) -> None:
        """Call ``callback(path, value)`` after each edit of a widget (not after :meth:`show`)."""
        self._callbacks.append(callback)

    def _changed(self, path: str, value: Any) -> None:
        if self._quiet:
            return
        value = from_display(parameter_of(path), value)
        for callback in self._callbacks:
            callback(path, value)

    # -- layout --------------------------------------------------------------------------------
    def layout(self) -> pn.Column:
        return pn.Column(self.widgets["name"], self.widgets["description"], *self.cards.values(),
                         sizing_mode="stretch_width")
