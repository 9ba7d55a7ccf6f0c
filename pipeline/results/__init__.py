"""Results of a solved case: pressure profiles, gradients, porosity, and their comparison with correlations."""

from .profiles import GradientFit, PlaneProfile, ResultsError, fit_gradient, plane_profile
from .validation import BedGeometry, Comparison, as_meshed, compare

__all__ = [
    "BedGeometry",
    "Comparison",
    "GradientFit",
    "PlaneProfile",
    "ResultsError",
    "as_meshed",
    "compare",
    "fit_gradient",
    "plane_profile",
]
