"""How many cells a packed bed's mesh will have, estimated from its spec before anything is packed or meshed.

The estimate (:func:`estimated_cells`) follows how the mesh is built (:mod:`pipeline.cfd.bed`):

* **background**: the fluid of the domain (the tube from ``ENTRANCE`` d below the bed to ``EXIT`` d above it,
  less the particles' volume) in cells of h = d / ``cfd.mesh_cells_per_diameter``. The bed's height comes from
  its count and the mean porosity Benyahia & O'Neill give for its D/d (or from ``target_porosity``: the column);
* **each surface level** halves the cells in a band of :data:`BAND_CELLS` cells (of the coarser level) around the
  particle surfaces (at most the fluid between the particles), each cell becoming 8;
* **prism layers** add :data:`LAYER_SHARE` × layers cells per face of the finest surface cells on the particles
  (snappyHexMesh grows them on most faces but not all, and the layers take the space of cells already there).

``gap_refinement`` levels are counted as further surface levels: an upper bound (snappyHexMesh refines only the
narrow gaps of that band), not measured.

The two constants were fitted (least squares of the log ratio) to every bed mesh the README reports (spheres of
5 mm; ratio = estimate / measured cells):

=========================================================== ========= =========== =====
mesh                                                        measured  estimated   ratio
=========================================================== ========= =========== =====
demo bed (90, D/d 5), d/12, unrefined                       267 k     267 k       1.00
demo bed, d/12, one surface level                           577 k     580 k       1.01
demo bed, d/12, one level, two layers (the default)         778 k     697 k       0.90
demo bed, d/16, one level, two layers                       1.61 M    1.40 M      0.87
demo bed, d/10, unrefined (the CI bed)                      148 k     154 k       1.04
demo bed, d/16, unrefined                                   638 k     632 k       0.99
long D/d 5 bed (540), d/10, unrefined                       303 k     337 k       1.11
long D/d 5 bed, d/10, one level                             1.45 M    1.64 M      1.13
long D/d 5 bed, d/10, one level, two layers                 2.18 M    2.13 M      0.98
long D/d 5 bed, d/8, one level, two layers                  1.21 M    1.27 M      1.05
D/d 10 bed (850), d/8, unrefined                            362 k     396 k       1.09
D/d 10 bed (850), d/8, one level, two layers                1.87 M    1.97 M      1.05
D/d 10 bed (1 150), d/8, one level, two layers              2.41 M    2.58 M      1.07
=========================================================== ========= =========== =====

So within −13 % to +13 % of the measured count on these beds (D/d 5–10, d/8–d/16, up to one surface level).
Against meshes made while writing it (the CI bed of tests/test_bed_cfd.py, 90 spheres, which checks the first):
d/10 unrefined, 145.9 k cells, estimate 1.06 ×; d/5 with one level and two layers (coarser than any row above),
56.5 k cells, estimate 1.27 ×. Cylinders and cubes (their own surface area and porosity correlation) and more
than one level are extrapolations.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..correlations import expected_porosity
from .bed import ENTRANCE, EXIT

if TYPE_CHECKING:
    from ..spec import BedSpec

#: Thickness, in cells of the coarser level, of the band around particle surfaces that one surface level refines.
BAND_CELLS = 1.1
#: Prism-layer cells per layer and per face of the finest surface cells on the particles.
LAYER_SHARE = 0.36


def particle_surface(spec: "BedSpec") -> float:
    """The surface area of one particle (m²)."""
    p = spec.particles
    d = p.diameter
    if p.kind == "sphere":
        return math.pi * d * d
    if p.kind == "cylinder":
        return math.pi * d * p.length + math.pi * d * d / 2.0
    return 6.0 * d * d


def estimated_cells(spec: "BedSpec") -> int:
    """The cells a mesh of ``spec`` will have, about (see the module's table for how close it comes)."""
    from ..packing.shapes import particle_count

    p, bed, cfd = spec.particles, spec.bed, spec.cfd
    count = particle_count(spec)
    area = math.pi * bed.diameter**2 / 4.0
    solid = count * p.volume()
    porosity = p.target_porosity if p.target_porosity is not None else \
        expected_porosity(p.kind, bed.diameter / p.equivalent_diameter())
    height = min(bed.height, solid / ((1.0 - porosity) * area))
    fluid = area * (height + (ENTRANCE + EXIT) * p.diameter) - solid
    pores = max(area * height - solid, 0.0)  # the fluid among the particles, where refinement can reach
    surface = count * particle_surface(spec)
    cell = p.diameter / cfd.mesh_cells_per_diameter
    cells = fluid / cell**3
    for _ in range(cfd.surface_refinement + cfd.gap_refinement):
        cells += 7.0 * min(BAND_CELLS * surface * cell, pores) / cell**3
        cell /= 2.0
    cells += LAYER_SHARE * cfd.boundary_layers * surface / cell**2
    return round(cells)
