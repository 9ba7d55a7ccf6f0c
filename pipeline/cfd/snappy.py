"""snappyHexMesh settings shared by every case that carves particles out of a background mesh.

The packed bed and the verification cases (spheres in a column of unit cells, a sphere in a tube) use this
one dictionary, so what the verification measures is what a bed gets. The surface named ``particles``
(``constant/triSurface/particles.stl``) is refined ``surface_level`` times (each level halves the cell
size at the surface) and, where two surfaces come closer than a few cells, ``gap_level`` times more;
``layers`` prism layers are grown on it (where snappyHexMesh can: not in the narrowest gaps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..openfoam import Raw

#: Cells across a gap below which snappyHexMesh refines it further (``gapLevel``'s first number).
GAP_CELLS = 4


@dataclass(frozen=True)
class Refinement:
    """How finely the particle surfaces are meshed, relative to the background cell."""

    surface_level: int = 0
    gap_level: int = 0
    layers: int = 0  # prism layers grown on the particle surfaces

    def __post_init__(self) -> None:
        for name in ("surface_level", "gap_level", "layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= 4:
                raise ValueError(f"{name} must be an integer from 0 to 4, got {value!r}")

    def surface_cell(self, background: float) -> float:
        """The cell size at a particle's surface."""
        return background / 2**self.surface_level


def snappy_dictionary(location_in_mesh: tuple[float, float, float], cell: float,
                      refinement: Refinement = Refinement()) -> dict[str, Any]:
    """snappyHexMeshDict: carve ``particles.stl`` out of the background (cells of size ``cell``), no layers."""
    level = refinement.surface_level
    regions: dict[str, Any] = {}
    if refinement.gap_level:
        top = level + refinement.gap_level
        regions["particles"] = {"mode": "outside", "levels": [(1e-15, 0)],
                                "gapLevel": (GAP_CELLS, level, top), "gapMode": "outside"}
    return {
        "castellatedMesh": True,
        "snap": True,
        "addLayers": refinement.layers > 0,
        "geometry": {"particles.stl": {"type": "triSurfaceMesh", "name": "particles"}},
        "castellatedMeshControls": {
            "maxLocalCells": 10_000_000,
            "maxGlobalCells": 40_000_000,
            "minRefinementCells": 0,
            "maxLoadUnbalance": 0.1,
            "nCellsBetweenLevels": 3,
            "features": [],
            "refinementSurfaces": {"particles": {"level": (level, level), "patchInfo": {"type": "wall"}}},
            "resolveFeatureAngle": 30,
            "refinementRegions": regions,
            "locationInMesh": location_in_mesh,
            "allowFreeStandingZoneFaces": True,
        },
        "snapControls": {
            "nSmoothPatch": 3,
            "tolerance": 2.0,
            "nSolveIter": 30,
            "nRelaxIter": 5,
            # No nFeatureSnapIter: spheres have no feature edges, and with it snappyHexMesh repeats the whole
            # morph that many times (10 passes cost 5x the snap of one, and moved K by 0.03 % in bedflow verify).
        },
        "addLayersControls": {
            "relativeSizes": True,
            "layers": {"particles": {"nSurfaceLayers": refinement.layers}} if refinement.layers else {},
            "expansionRatio": 1.2,
            "finalLayerThickness": 0.5,
            # Layers thinner than a quarter cell are not grown at all: left to the quality checks, the thin
            # ones near contacts fail the face-weight check one by one (14 to 21 extrusion passes over the
            # whole mesh on a bed; 6 with 0.25, more faces extruded, Δp/L +0.3 %).
            "minThickness": 0.25,
            "nGrow": 0,
            "featureAngle": 60,
            "nRelaxIter": 3,
            "nSmoothSurfaceNormals": 1,
            "nSmoothNormals": 3,
            "nSmoothThickness": 10,
            "maxFaceThicknessRatio": 0.5,
            "maxThicknessToMedialRatio": 0.3,
            "minMedialAxisAngle": 90,
            "nBufferCellsNoExtrude": 0,
            "nLayerIter": 50,
        },
        "meshQualityControls": {
            "#includeEtc": Raw('"caseDicts/meshQualityDict"'),
            "minVol": 1e-6 * refinement.surface_cell(cell) ** 3,  # the etc default (1e-13 m³) is a cell of 46 µm
            "maxBoundarySkewness": 4,  # checkMesh fails a mesh above 4 (the etc default lets snappy go to 20)
            "nSmoothScale": 4,
            "errorReduction": 0.75,
            "relaxed": {"maxNonOrtho": 75},
        },
        "mergeTolerance": 1e-6,
    }
