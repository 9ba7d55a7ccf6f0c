import math

import pytest

from pipeline.results.richardson import richardson
from pipeline.results import ResultsError


@pytest.mark.parametrize("order", [1.0, 2.0, 1.5])
def test_recovers_a_known_power_law(order):
    exact, c = 10.0, 3.0
    sizes = (0.5, 0.31, 0.2)  # non-constant refinement ratio, unsorted
    values = tuple(exact + c * h**order for h in sizes)
    result = richardson(sizes, values)
    assert result.order == pytest.approx(order, rel=1e-6)
    assert result.value == pytest.approx(exact, rel=1e-9)
    assert result.monotonic
    assert result.relative_error_fine == pytest.approx(c * 0.2**order / exact, rel=1e-6)


def test_rising_values_like_a_bed_under_refinement():
    # dp rising 3-5 % per refinement (d/12, d/16, d/24) extrapolates above the finest value
    sizes = (1 / 12, 1 / 16, 1 / 24)
    values = (100.0, 104.0, 107.5)
    result = richardson(sizes, values)
    assert result.value > 107.5 and result.order > 0


def test_oscillation_is_flagged_and_bad_sizes_refused():
    oscillating = richardson((1.0, 0.5, 0.25), (1.0, 1.2, 1.1))
    assert not oscillating.monotonic and math.isnan(oscillating.order)
    assert oscillating.value == 1.1  # the finest value, with half the range as uncertainty
    assert oscillating.relative_error_fine == pytest.approx(0.1 / 1.1)
    with pytest.raises(ResultsError):
        richardson((0.1, 0.1, 0.2), (1.0, 2.0, 3.0))
    assert math.isinf(richardson((0.1, 0.2, 0.3), (1.0, 1.0, 1.0)).order)
