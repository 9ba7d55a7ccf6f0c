"""Results of a solved case: pressure profiles, gradients, porosity, and their comparison with correlations."""

from .profiles import GradientFit, PlaneProfile, ResultsError, fit_gradient, plane_profile

__all__ = ["GradientFit", "PlaneProfile", "ResultsError", "fit_gradient", "plane_profile"]
