"""Rendering for bedflow: PyVista scenes and HoloViews plots of packings, meshes, fields and results.

Every function here draws objects produced by :mod:`pipeline`; none computes science of its own.
"""
