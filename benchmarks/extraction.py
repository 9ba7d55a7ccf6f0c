"""Benchmark: the pressure profile and the mesh porosity of a big mesh, against the whole-mesh filters.

``pipeline.results.profiles.plane_profile`` cuts the planes in bands, each through only the cells reaching
into it, and integrates a cell field as a sum over polygon areas; ``fluid_volume_fraction`` clips only the
cells crossing the window's planes. The baselines, measured in the same run, are what they did before:
``mesh.slice`` + ``integrate_data`` of the whole mesh per plane, and two clips of the whole mesh.
Mesh: a 1.1 M-cell unstructured cylinder of hexahedra with a linear pressure field; 150 planes (a 15 d long
core window at 10 planes per diameter). Prints the times, their ratios, and that the answers agree.
Run: .venv/bin/python benchmarks/extraction.py
"""

from __future__ import annotations

import time

import numpy as np
import pyvista as pv

from pipeline.results.profiles import fluid_volume_fraction, plane_profile

RADIUS = 0.0125


def cylinder(cells_across: int = 120, cells_along: int = 100) -> pv.UnstructuredGrid:
    h = 2 * RADIUS / cells_across
    grid = pv.ImageData(dimensions=(cells_across + 1, cells_across + 1, cells_along + 1), spacing=(h, h, h),
                        origin=(-RADIUS, -RADIUS, 0.0)).cast_to_unstructured_grid()
    centres = grid.cell_centers().points
    mesh = grid.extract_cells(np.flatnonzero(np.hypot(centres[:, 0], centres[:, 1]) < RADIUS))
    mesh.cell_data["p"] = 3.0 - 50.0 * mesh.cell_centers().points[:, 2]
    return mesh


def whole_mesh_slices(mesh: pv.UnstructuredGrid, z_values: np.ndarray) -> np.ndarray:
    means = []
    for z in z_values:
        integrated = mesh.slice(normal="z", origin=(0.0, 0.0, float(z))).integrate_data()
        means.append(float(integrated["p"][0]) / float(integrated["Area"][0]))
    return np.array(means)


def whole_mesh_porosity(mesh: pv.UnstructuredGrid, z0: float, z1: float) -> float:
    part = mesh.clip(normal="-z", origin=(0.0, 0.0, z0), crinkle=False)
    part = part.clip(normal="z", origin=(0.0, 0.0, z1), crinkle=False)
    volume = part.compute_cell_sizes(length=False, area=False, volume=True).cell_data["Volume"].sum()
    return float(volume) / (np.pi * RADIUS**2 * (z1 - z0))


def timed(function, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - started


def main() -> None:
    mesh = cylinder()
    low, high = mesh.bounds[4], mesh.bounds[5]
    z = np.linspace(low, high, 152)[1:-1]
    baseline, t_baseline = timed(whole_mesh_slices, mesh, z)
    profile, t_now = timed(plane_profile, mesh, "p", z, np.pi * RADIUS**2)
    agree = np.max(np.abs(profile.mean - baseline)) / np.max(np.abs(baseline))
    print(f"mesh {mesh.n_cells:,} cells, {len(z)} planes")
    print(f"pressure profile: baseline (whole-mesh slice + integrate_data per plane) {t_baseline:.2f} s, "
          f"now {t_now:.2f} s: ratio {t_now / t_baseline:.3f}; profiles agree to {agree:.1e}")
    window = (low + 0.2 * (high - low) + 1e-5, high - 0.2 * (high - low) + 1e-5)
    old, t_old = timed(whole_mesh_porosity, mesh, *window)
    new, t_new = timed(fluid_volume_fraction, mesh, *window, np.pi * RADIUS**2)
    print(f"mesh porosity: baseline (two whole-mesh clips) {t_old:.2f} s, now {t_new:.2f} s: ratio "
          f"{t_new / t_old:.3f}; {new:.6f} vs {old:.6f}")

if __name__ == "__main__":
    main()
