"""How a result is shown: the rows of "CFD against each correlation", in one order with one set of labels, for
the CLI, the dashboard and the report alike (each only formats these rows its own way: text, a DataFrame, HTML).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..correlations import PRESSURE_DROP_NAMES


@dataclass(frozen=True)
class CorrelationRow:
    """One correlation against the CFD: its Δp/L (Pa/m) and CFD / correlation, for the geometry as meshed and
    the nominal one (NaN where the result has no such value)."""

    key: str
    label: str
    meshed: float
    ratio_meshed: float
    nominal: float
    ratio_nominal: float


def label(key: str) -> str:
    """The name people read for a correlation key (``eisfeld_schnitzlein`` → ``Eisfeld–Schnitzlein``)."""
    return PRESSURE_DROP_NAMES.get(key, key)


def correlation_rows(result: Any) -> list[CorrelationRow]:
    """The correlations a result was compared with (a :class:`~pipeline.results.RunResult` or its dict), in the
    order of :data:`~pipeline.correlations.PRESSURE_DROP_NAMES`, then any others in the result's order."""
    meshed = _comparison(result, "as_meshed")
    nominal = _comparison(result, "nominal")
    found = meshed.get("correlations") or {}
    keys = [k for k in PRESSURE_DROP_NAMES if k in found] + [k for k in found if k not in PRESSURE_DROP_NAMES]
    return [CorrelationRow(key, label(key), _number(found, key), _number(meshed.get("ratios"), key),
                           _number(nominal.get("correlations"), key), _number(nominal.get("ratios"), key))
            for key in keys]


def _comparison(result: Any, name: str) -> Mapping[str, Any]:
    value = result.get(name) if isinstance(result, Mapping) else getattr(result, name, None)
    return value or {}


def _number(values: Mapping[str, Any] | None, key: str) -> float:
    value = (values or {}).get(key)
    return float(value) if value is not None else math.nan
