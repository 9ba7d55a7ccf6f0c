"""Packing metrics: porosity (overall, radial, axial), gaps, overlaps, coordination.

Spheres are handled exactly where a closed form exists (slab volumes of
spheres); other shapes by quasi-Monte-Carlo volume integration with
analytic inside/signed-distance tests in each particle's own frame.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import qmc

from .shapes import extents, rotation_matrices

if TYPE_CHECKING:
    from .model import Packing

ZRange = tuple[float, float]

#: Quasi-random sample points used for one porosity integral of non-spheres.
SAMPLES = 400_000


# -- geometry helpers ------------------------------------------------------------------------
def _half_extents(packing: "Packing", shrink: float) -> tuple[float, float]:
    """(radial half-size, axial half-size) of one particle in its own frame, after ``shrink``."""
    cut = shrink * packing.diameter / 2.0
    if packing.kind == "cylinder":
        return packing.radius - cut, packing.length / 2.0 - cut
    return packing.radius - cut, packing.radius - cut  # cube: half edge in every direction


def signed_distance_local(local: np.ndarray, kind: str, radial: float, axial: float) -> np.ndarray:
    """Signed distance of points in a particle's frame to its surface (negative inside)."""
    if kind == "sphere":
        return np.linalg.norm(local, axis=-1) - radial
    if kind == "cylinder":
        d = np.stack([np.hypot(local[..., 0], local[..., 1]) - radial, np.abs(local[..., 2]) - axial], axis=-1)
    else:
        d = np.abs(local) - radial
    outside = np.linalg.norm(np.maximum(d, 0.0), axis=-1)
    inside = np.minimum(d.max(axis=-1), 0.0)
    return outside + inside


def inside_mask(packing: "Packing", points: np.ndarray, shrink: float = 0.0, tree: cKDTree | None = None) -> np.ndarray:
    """Which ``points`` (M, 3) lie inside a particle (shrunk by ``shrink`` × d)."""
    tree = tree or cKDTree(packing.centres)
    if packing.kind == "sphere":
        r = packing.radius * (1.0 - shrink)
        dist, _ = tree.query(points, k=1, distance_upper_bound=r, workers=-1)
        return dist < r
    radial, axial = _half_extents(packing, shrink)
    bound = math.hypot(radial, axial) if packing.kind == "cylinder" else radial * math.sqrt(3.0)
    k = min(8, packing.count)
    dist, idx = tree.query(points, k=k, distance_upper_bound=bound, workers=-1)
    dist, idx = dist.reshape(len(points), k), idx.reshape(len(points), k)
    found = np.isfinite(dist)
    safe = np.where(found, idx, 0)
    rot = rotation_matrices(packing.orientations)  # type: ignore[arg-type]
    offset = points[:, None, :] - packing.centres[safe]
    local = np.einsum("mkji,mkj->mki", rot[safe], offset)  # R^T (p - c)
    inside = signed_distance_local(local, packing.kind, radial, axial) < 0.0
    return np.any(inside & found, axis=1)


# -- heights and porosity ---------------------------------------------------------------------
def bed_height(packing: "Packing") -> float:
    """Mean height of the bed's free surface (m).

    The cross-section is divided into square cells of one particle size; in each
    cell the highest particle top is taken, and the tops are averaged, which is
    what a ruler laid on the ragged surface reads.
    """
    if packing.count == 0:
        return 0.0
    size = 2.0 * packing.bounding_radius
    tops = packing.centres[:, 2] + packing.bounding_radius
    cells = np.floor(packing.centres[:, :2] / size).astype(np.int64)
    keys = cells[:, 0] * 1_000_003 + cells[:, 1]
    order = np.lexsort((tops, keys))
    keys, tops = keys[order], tops[order]
    last_of_cell = np.r_[keys[1:] != keys[:-1], True]
    return float(tops[last_of_cell].mean())


def _sphere_slab_volumes(centres_z: np.ndarray, radius: float, z0: float, z1: float) -> np.ndarray:
    """Volume of each sphere (radius ``radius``, centre heights ``centres_z``) between z0 and z1."""
    t0 = np.clip(z0 - centres_z, -radius, radius)
    t1 = np.clip(z1 - centres_z, -radius, radius)

    def primitive(t: np.ndarray) -> np.ndarray:
        return math.pi * (radius * radius * t - t**3 / 3.0)

    return primitive(t1) - primitive(t0)


def _default_range(packing: "Packing", z_range: ZRange | None) -> ZRange:
    return z_range if z_range is not None else (0.0, bed_height(packing))


def _qmc(dimensions: int, count: int, seed: int = 0) -> np.ndarray:
    return qmc.Halton(d=dimensions, scramble=True, seed=seed).random(count)


def _cylinder_points(radius: float, z0: float, z1: float, count: int, rho_range: tuple[float, float] | None = None,
                     seed: int = 0) -> np.ndarray:
    """Quasi-random points uniform in volume in a (hollow) cylinder slab."""
    u = _qmc(3, count, seed)
    inner, outer = rho_range if rho_range is not None else (0.0, radius)
    rho = np.sqrt(inner**2 + u[:, 0] * (outer**2 - inner**2))
    theta = 2.0 * math.pi * u[:, 1]
    z = z0 + (z1 - z0) * u[:, 2]
    return np.column_stack([rho * np.cos(theta), rho * np.sin(theta), z])


def porosity(packing: "Packing", z_range: ZRange | None = None, shrink: float = 0.0) -> float:
    """Void fraction of the column between two heights (default: the bed region ``[0, bed_height]``).

    Exact for spheres (sum of sphere–slab volumes); by quasi-Monte-Carlo
    integration (``SAMPLES`` points, error ~1e-3) for other shapes.
    """
    z0, z1 = _default_range(packing, z_range)
    if z1 <= z0:
        raise ValueError(f"empty height range {z0:g}..{z1:g}")
    column = math.pi * packing.container.radius**2 * (z1 - z0)
    if packing.kind == "sphere":
        solid = _sphere_slab_volumes(packing.centres[:, 2], packing.radius * (1.0 - shrink), z0, z1).sum()
        return float(1.0 - solid / column)
    points = _cylinder_points(packing.container.radius, z0, z1, SAMPLES)
    return float(1.0 - inside_mask(packing, points, shrink).mean())


def radial_porosity(packing: "Packing", bins: int = 40, z_range: ZRange | None = None,
                    samples_per_bin: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Porosity of coaxial shells against distance from the wall.

    Returns ``(wall_distance, porosity)``: bin centres in m measured from the wall
    inwards, and each shell's void fraction (quasi-Monte-Carlo over the shell).
    The damped oscillation near the wall, with period about one particle
    diameter, is the signature of a packed bed.
    """
    z0, z1 = _default_range(packing, z_range)
    radius = packing.container.radius
    edges = np.linspace(0.0, radius, bins + 1)  # distance from the wall
    tree = cKDTree(packing.centres)
    values = np.empty(bins)
    for b in range(bins):
        rho_range = (radius - edges[b + 1], radius - edges[b])
        points = _cylinder_points(radius, z0, z1, samples_per_bin, rho_range, seed=b)
        values[b] = 1.0 - inside_mask(packing, points, tree=tree).mean()
    return 0.5 * (edges[1:] + edges[:-1]), values


def axial_porosity(packing: "Packing", bins: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Porosity of horizontal slices from the bottom to the top of the highest particle."""
    top = float((packing.centres[:, 2] + packing.bounding_radius).max()) if packing.count else 1.0
    edges = np.linspace(0.0, top, bins + 1)
    values = np.array([porosity(packing, (edges[i], edges[i + 1])) for i in range(bins)])
    return 0.5 * (edges[1:] + edges[:-1]), values


# -- contacts -----------------------------------------------------------------------------------
def _surface_samples(packing: "Packing", count: int = 256) -> np.ndarray:
    """Points on one particle's surface, in its own frame (non-spheres)."""
    radial, axial = _half_extents(packing, 0.0)
    u = _qmc(2, count, seed=1)
    if packing.kind == "cylinder":
        side = int(count * axial / (axial + radial / 2.0))
        theta = 2 * math.pi * u[:side, 0]
        wall = np.column_stack([radial * np.cos(theta), radial * np.sin(theta), axial * (2 * u[:side, 1] - 1)])
        cap_rho = radial * np.sqrt(u[side:, 0])
        cap_theta = 2 * math.pi * u[side:, 1]
        sign = np.where(np.arange(count - side) % 2 == 0, 1.0, -1.0)
        caps = np.column_stack([cap_rho * np.cos(cap_theta), cap_rho * np.sin(cap_theta), sign * axial])
        return np.vstack([wall, caps])
    faces = []
    per_face = count // 6
    for axis in range(3):
        for sign in (-1.0, 1.0):
            uv = radial * (2 * u[:per_face] - 1)
            face = np.insert(uv, axis, sign * radial, axis=1)
            faces.append(face)
    return np.vstack(faces)


def _world_surface(packing: "Packing", indices: np.ndarray, local: np.ndarray) -> np.ndarray:
    rot = rotation_matrices(packing.orientations[indices])  # type: ignore[index]
    return np.einsum("nij,sj->nsi", rot, local) + packing.centres[indices][:, None, :]


def _pair_gaps(packing: "Packing", pairs: np.ndarray) -> np.ndarray:
    """Surface gap of each particle pair (negative: penetration depth)."""
    if len(pairs) == 0:
        return np.empty(0)
    i, j = pairs[:, 0], pairs[:, 1]
    if packing.kind == "sphere":
        return np.linalg.norm(packing.centres[j] - packing.centres[i], axis=1) - packing.diameter
    radial, axial = _half_extents(packing, 0.0)
    local = _surface_samples(packing)
    gaps = np.empty(len(pairs))
    rot = rotation_matrices(packing.orientations)  # type: ignore[arg-type]
    for start in range(0, len(pairs), 2048):
        a, b = i[start : start + 2048], j[start : start + 2048]
        gap = np.full(len(a), np.inf)
        for first, second in ((a, b), (b, a)):  # samples of each particle against the other's shape
            world = _world_surface(packing, first, local)
            rel = np.einsum("nji,nsj->nsi", rot[second], world - packing.centres[second][:, None, :])
            gap = np.minimum(gap, signed_distance_local(rel, packing.kind, radial, axial).min(axis=1))
        gaps[start : start + 2048] = gap
    return gaps


def _candidate_pairs(packing: "Packing", slack: float) -> np.ndarray:
    tree = cKDTree(packing.centres)
    return tree.query_pairs(2.0 * packing.bounding_radius + slack, output_type="ndarray")


def _container_gaps(packing: "Packing") -> dict[str, np.ndarray]:
    """Gap of each particle to the wall, the bottom and the column top (negative: through it)."""
    ext = extents(packing)
    return {"wall": packing.container.radius - ext["radial"], "bottom": ext["bottom"],
            "top": packing.container.height - ext["top"]}


def min_gap(packing: "Packing") -> float:
    """Smallest gap between particles or to the container (m); negative means overlap."""
    gaps = [g.min() for g in _container_gaps(packing).values() if len(g)]
    pair_gaps = _pair_gaps(packing, _candidate_pairs(packing, 0.05 * packing.diameter))
    if len(pair_gaps):
        gaps.append(pair_gaps.min())
    return float(min(gaps)) if gaps else math.inf


def overlaps(packing: "Packing", tolerance: float | None = None) -> list[tuple[str, int, int, float]]:
    """Every violation deeper than ``tolerance`` (default 1e-6 d).

    Returns ``(kind, i, j, depth)`` with kind ``pair`` (particles i and j),
    ``wall``, ``bottom`` or ``top`` (j = -1), depth in m.
    """
    tol = 1e-6 * packing.diameter if tolerance is None else tolerance
    found: list[tuple[str, int, int, float]] = []
    pairs = _candidate_pairs(packing, 0.0)
    for (i, j), gap in zip(pairs, _pair_gaps(packing, pairs)):
        if gap < -tol:
            found.append(("pair", int(i), int(j), float(-gap)))
    for kind, gaps in _container_gaps(packing).items():
        for i in np.nonzero(gaps < -tol)[0]:
            found.append((kind, int(i), -1, float(-gaps[i])))
    return found


def coordination_number(packing: "Packing", tolerance: float = 0.01) -> float:
    """Mean number of particle contacts per particle (surfaces within ``tolerance`` × d)."""
    if packing.count == 0:
        return 0.0
    slack = tolerance * packing.diameter
    pairs = _candidate_pairs(packing, slack)
    contacts = int(np.count_nonzero(_pair_gaps(packing, pairs) <= slack))
    return 2.0 * contacts / packing.count
