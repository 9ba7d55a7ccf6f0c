import pytest

from pipeline import units


@pytest.mark.parametrize(
    "spelling, value, si",
    [
        ("mm", 5, 0.005),
        ("cm", 2.5, 0.025),
        ("m", 1, 1.0),
        ("um", 100, 1e-4),
        ("g/cm3", 2.5, 2500.0),
        ("kg/m^3", 998.2, 998.2),
        ("mPa.s", 1.002, 1.002e-3),
        ("cP", 1.0, 1e-3),
        ("Pa*s", 1.8e-5, 1.8e-5),
        ("mm/s", 2, 0.002),
        ("m/s^2", 9.81, 9.81),
        ("min", 1, 60.0),
        ("kPa", 1, 1000.0),
    ],
)
def test_conversion_to_si(spelling, value, si):
    unit = units.lookup(spelling)
    assert unit is not None
    assert unit.to_si(value) == pytest.approx(si, rel=1e-12)


def test_dimensions_distinguish_quantities():
    assert units.lookup("mm").dimension == units.LENGTH
    assert units.lookup("Pa.s").dimension == units.DYNAMIC_VISCOSITY
    assert units.lookup("Pa").dimension == units.PRESSURE
    assert units.lookup("N").dimension == units.FORCE
    assert units.lookup("Pa").dimension != units.lookup("Pa.s").dimension


def test_unknown_spelling_is_none():
    assert units.lookup("furlong") is None
    assert units.lookup("MM") is None  # case matters: mm and Mm would differ


def test_every_canonical_symbol_is_si():
    for dimension, symbol in units.SI_SYMBOL.items():
        assert units.dimension_of(symbol) == dimension
        assert units.lookup(symbol).factor == 1.0
    with pytest.raises(KeyError):
        units.dimension_of("mm")


def test_spellings_for_lists_si_first():
    assert units.spellings_for(units.LENGTH)[0] == "m"
    assert "mm" in units.spellings_for(units.LENGTH)
