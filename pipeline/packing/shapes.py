"""Shape geometry shared by the packing engines and metrics.

Orientation quaternions ``(w, x, y, z)`` turn a particle's own frame (cylinder
axis along z, cube edges along the axes) into the column frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .model import Packing, PackingError

if TYPE_CHECKING:
    from ..spec import BedSpec

#: A particle more than this fraction of d outside the wall or below the floor has escaped.
ESCAPE_TOLERANCE = 0.05


def rotation_matrices(quaternions: np.ndarray) -> np.ndarray:
    """``(n, 3, 3)`` rotation matrices of quaternions ``(w, x, y, z)`` (normalised here)."""
    w, x, y, z = (quaternions / np.linalg.norm(quaternions, axis=1, keepdims=True)).T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=-1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=-1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1),
        ],
        axis=-2,
    )


def half_extents(
    kind: str, diameter: float, length: float, orientations: np.ndarray | None, directions: np.ndarray
) -> np.ndarray:
    """How far each particle reaches from its centre along a unit direction (its support function)."""
    if kind == "sphere" or orientations is None:
        return np.full(len(directions), diameter / 2.0)
    local = np.einsum("nji,nj->ni", rotation_matrices(orientations), directions)  # R^T n
    if kind == "cylinder":
        return length / 2.0 * np.abs(local[:, 2]) + diameter / 2.0 * np.hypot(local[:, 0], local[:, 1])
    return diameter / 2.0 * np.abs(local).sum(axis=1)


def extents(packing: Packing) -> dict[str, np.ndarray]:
    """Per particle: lowest and highest z and (nearly exact) largest distance from the column axis (m)."""
    c, n = packing.centres, packing.count
    up = np.tile([0.0, 0.0, 1.0], (n, 1))
    rho = np.hypot(c[:, 0], c[:, 1])
    outward = np.zeros((n, 3))
    outward[:, :2] = np.divide(c[:, :2], rho[:, None], out=np.tile([1.0, 0.0], (n, 1)), where=rho[:, None] > 0)

    def reach(directions: np.ndarray) -> np.ndarray:
        return half_extents(packing.kind, packing.diameter, packing.length, packing.orientations, directions)

    return {"bottom": c[:, 2] - reach(-up), "top": c[:, 2] + reach(up), "radial": rho + reach(outward)}


def particle_count(spec: "BedSpec") -> int:
    """``particles.count``, or the count that fills the column to ``target_porosity``."""
    from ..spec.rules import implied_count

    if spec.particles.count is not None:
        return int(spec.particles.count)
    return max(1, round(implied_count(spec)))


def _where(points: np.ndarray, limit: int = 3) -> str:
    return ", ".join(f"({x * 1e3:.2f}, {y * 1e3:.2f}, {z * 1e3:.2f}) mm" for x, y, z in points[:limit])


def check_contained(packing: Packing, advice: str = "") -> None:
    """Raise :class:`PackingError` if a particle escaped or the bed is taller than the column.

    The second error names how many particles lie fully below the column height:
    the count that fits.
    """
    box, d = packing.container, packing.diameter
    ext = extents(packing)
    outside = np.maximum(ext["radial"] - box.radius, -ext["bottom"])
    escaped = np.flatnonzero(outside > ESCAPE_TOLERANCE * d)
    if escaped.size:
        raise PackingError(
            f"{escaped.size} of {packing.count} particles escaped the container (up to "
            f"{outside[escaped].max() * 1e3:.3g} mm outside the wall or below the floor), e.g. at "
            f"{_where(packing.centres[escaped])}{advice}"
        )
    above = ext["top"] > box.height + 1e-9 * d
    if above.any():
        fit = int(packing.count - above.sum())
        raise PackingError(
            f"{packing.count} particles do not fit below the column height ({box.height * 1e3:g} mm): "
            f"{int(above.sum())} stick out above it (bed top at {ext['top'].max() * 1e3:.3g} mm); "
            f"only {fit} lie fully below it, so set particles.count to at most {fit} or make the column taller"
        )
