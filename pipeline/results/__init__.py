"""Results of a solved case: pressure profiles, gradients, porosity, and their comparison with correlations."""

from .extract import RunResult
from .profiles import GradientFit, PlaneProfile, ResultsError, fit_gradient, plane_profile
from .validation import BedGeometry, Comparison, as_meshed, compare

__all__ = [
    "BedGeometry",
    "Comparison",
    "GradientFit",
    "PlaneProfile",
    "ResultsError",
    "RunResult",
    "as_meshed",
    "compare",
    "fit_gradient",
    "plane_profile",
]
