"""Property tests: generated specs round-trip; mutated files fail only with bedflow's own errors."""

from __future__ import annotations

import param
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import BedSpec, BedSyntaxError, BedValidationError, parse_bed
from pipeline.presets import preset_names, preset_path
from pipeline.spec import SECTION_CLASSES

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _value_strategy(parameter: param.Parameter) -> st.SearchStrategy:
    if isinstance(parameter, param.Boolean):
        return st.booleans()
    if isinstance(parameter, param.Integer):
        low, high = parameter.bounds
        return st.integers(min_value=low, max_value=min(high, low + 1000))
    if isinstance(parameter, param.Number):
        low, high = parameter.bounds
        low_incl, high_incl = parameter.inclusive_bounds
        low = 0.0 if low is None else low
        high = (low + 1.0) * 10 if high is None else high
        return st.floats(
            min_value=low, max_value=high, exclude_min=not low_incl, exclude_max=not high_incl,
            allow_nan=False, allow_infinity=False,
        )
    if isinstance(parameter, param.ListSelector):
        return st.lists(st.sampled_from(parameter.objects), unique=True)
    if isinstance(parameter, param.Selector):
        return st.sampled_from(parameter.objects)
    return _safe_text(30)


# Characters a name may hold (pipeline.text): no control, bidi, separator or surrogate characters. Drawing
# only these keeps the filter below for the cross-field rules; unsafe names are refused in test_dsl.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_SAFE = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters=_BIDI)


def _safe_text(max_size: int, *, multiline: bool = False) -> st.SearchStrategy[str]:
    alphabet = st.one_of(_SAFE, st.sampled_from("\n\t")) if multiline else _SAFE
    return st.text(alphabet=alphabet, max_size=max_size)


@st.composite
def specs(draw: st.DrawFn) -> BedSpec:
    """Valid specs: random field values, kept only if they satisfy the cross-field rules."""
    data: dict = {"name": draw(_safe_text(20)), "description": draw(_safe_text(40, multiline=True))}
    for key, cls in SECTION_CLASSES.items():
        fields = cls.field_names()
        chosen = draw(st.lists(st.sampled_from(fields), unique=True, max_size=4))
        data[key] = {f: draw(_value_strategy(cls.param[f])) for f in chosen}
    try:
        return BedSpec.from_dict(data)
    except BedValidationError:
        from hypothesis import assume

        assume(False)
        raise


@FAST
@given(specs())
def test_generated_specs_round_trip_through_bed_text(spec: BedSpec):
    text = spec.to_bed()
    again = parse_bed(text)
    assert again == spec
    assert again.digest() == spec.digest()
    assert parse_bed(spec.to_bed(comments=True)) == spec


@FAST
@given(specs())
def test_generated_specs_round_trip_through_json(spec: BedSpec):
    assert BedSpec.from_json(spec.to_json()) == spec


SOURCES = [preset_path(name).read_text() for name in preset_names()]
PIECES = list(";{}[]=,\"/*\n 0.5e-3mm kg/m3 none true -+.") + ["//", "/*", "*/", "1e999", "bed", "count", "µ", "\t"]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)))
        if action == "insert":
            text = text[:pos] + piece + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 8)) :]
        else:
            text = text[:pos] + piece + text[pos + len(piece) :]
    return text


@settings(max_examples=400, deadline=None)
@given(mutated())
def test_mutated_files_parse_or_raise_bedflow_errors(text: str):
    try:
        spec = parse_bed(text, filename="mutant.bed")
    except BedSyntaxError as exc:
        assert exc.line >= 1 and exc.column >= 1
        assert str(exc).startswith("mutant.bed:")
    except BedValidationError as exc:
        assert exc.problems
    else:
        assert parse_bed(spec.to_bed()) == spec
