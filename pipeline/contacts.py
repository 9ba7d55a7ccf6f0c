"""How point contacts are removed before meshing: a gap, bridges or caps.

Two touching spheres meet at a point, and the fluid around that point is a wedge no finite-volume mesh can
fill. Packed-bed CFD removes the contacts one of three ways (Dixon, Nijemeisland & Stitt 2013; Rebughini,
Cuoci & Maestri 2016), chosen with ``packing.contact_treatment`` and sized with ``packing.contact_size``
(a fraction of the particle diameter d):

========== ===========================================================================================
``gap``    every particle shrinks by ``contact_gap`` × d (the surfaces part everywhere; porosity rises)
``bridge`` a solid cylinder of diameter ``contact_size`` × d joins each touching pair, and each particle
           touching the wall to the wall (the particles keep their size; porosity falls a little)
``cap``    each touching particle is flattened: cut by a plane across the line of contact so the two
           flat faces (or the face and the wall) are ``contact_size`` × d apart
========== ===========================================================================================

``auto`` (the default) is ``bridge`` for spheres and ``gap`` for other shapes (bridges and caps need the
contacts, which are found between spheres only): on the validation beds the gap's shrink raised the solved
porosity by 0.017 and lowered Δp/L by 10–11 % against the packing as packed, where bridges kept the porosity
within 0.002 (README, "How accurate is bedflow?").

Touching means surfaces closer than :data:`NEAR_CONTACT` × d (a packer leaves contacts a hair apart or a
hair overlapping). Bridges and caps act on every such contact; pairs further apart are left as they are.
The treated particles are one closed surface (a union of manifolds), and their porosity is measured on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import trimesh
from manifold3d import Manifold, Mesh, OpType
from scipy.spatial import cKDTree

from .packing.model import Packing

TREATMENTS = ("gap", "bridge", "cap")
#: What ``auto`` means for each particle kind (kinds not named: gap).
AUTO = {"sphere": "bridge"}
#: Surfaces closer than this (fraction of d) are in contact: bridged or capped.
NEAR_CONTACT = 0.01
#: contact_size when the spec leaves it unset: a bridge of 0.2 d; caps 0.02 d apart.
DEFAULT_SIZE = {"bridge": 0.2, "cap": 0.02}
#: Facets around a bridge's circumference.
BRIDGE_SEGMENTS = 16


@dataclass(frozen=True)
class Contacts:
    """The contacts of a packing of spheres: pairs of particle indices, and particles touching the wall."""

    pairs: np.ndarray  # (n, 2) int, i < j
    wall: np.ndarray  # (m,) int


def find_contacts(packing: Packing, tolerance: float = NEAR_CONTACT) -> Contacts:
    """Pairs of spheres, and spheres and the tube wall, whose surfaces are closer than ``tolerance`` × d."""
    if packing.kind != "sphere":
        raise ValueError(f"contacts are found for spheres only, not {packing.kind}")
    reach = packing.diameter * (1.0 + tolerance)
    pairs = cKDTree(packing.centres).query_pairs(reach, output_type="ndarray")
    pairs = np.sort(pairs, axis=1) if len(pairs) else np.empty((0, 2), dtype=int)
    radial = np.hypot(packing.centres[:, 0], packing.centres[:, 1])
    wall_gap = packing.container.radius - radial - packing.radius
    wall = np.flatnonzero(wall_gap < tolerance * packing.diameter)
    return Contacts(pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))], wall)


@dataclass(frozen=True)
class ContactTreatment:
    """One way of removing contacts, with its size (a fraction of d)."""

    kind: str = "gap"
    size: float = 0.01

    def __post_init__(self) -> None:
        if self.kind not in TREATMENTS:
            raise ValueError(f"contact treatment must be one of {', '.join(TREATMENTS)}, got {self.kind!r}")
        if not 0.0 <= self.size <= 0.5 or not math.isfinite(self.size):
            raise ValueError(f"contact size must be a fraction of d from 0 to 0.5, got {self.size!r}")

    @classmethod
    def of(cls, kind: str, gap: float, size: float | None, particle_kind: str = "sphere") -> "ContactTreatment":
        """The treatment named ``kind`` (``auto``: :data:`AUTO` for ``particle_kind``): the gap's size is ``gap``;
        a bridge's or cap's is ``size`` (unset or 0: :data:`DEFAULT_SIZE`)."""
        if kind == "auto":
            kind = AUTO.get(particle_kind, "gap")
        if kind == "gap":
            return cls("gap", gap)
        return cls(kind, size or DEFAULT_SIZE.get(kind, 0.0))

    @property
    def shrink(self) -> float:
        """The fraction of d every particle loses uniformly (the gap treatment's size; 0 otherwise)."""
        return self.size if self.kind == "gap" else 0.0

    def describe(self) -> str:
        """The treatment in words, for reports and logs."""
        return {"gap": f"particles shrunk by {self.size:.1%} of d",
                "bridge": f"bridges of {self.size:.2g} d at contacts",
                "cap": f"caps: flat faces {self.size:.2g} d apart at contacts"}[self.kind]


def treated_particles(packing: Packing, treatment: ContactTreatment, template: trimesh.Trimesh,
                      contacts: Contacts | None = None) -> Manifold:
    """The particles as one closed solid after ``treatment`` (spheres only for bridges and caps).

    ``template`` is one particle's surface (centred, the size of the treated particle). Bridges are unioned
    into the spheres; caps cut each touching sphere by a half-space. The wall bridges reach a tenth of d
    beyond the wall, so the solid crosses it (the mesh's wall then ends where a bridge meets it).
    """
    contacts = contacts or find_contacts(packing)
    base = Manifold(Mesh(vert_properties=np.asarray(template.vertices, dtype=np.float32),
                         tri_verts=np.asarray(template.faces, dtype=np.uint32)))
    centres = packing.centres
    if treatment.kind == "cap":
        return Manifold.batch_boolean([_capped(base, i, packing, contacts, treatment.size)
                                       for i in range(packing.count)], OpType.Add)
    solids = [base.translate(tuple(c)) for c in centres]
    if treatment.kind == "bridge":
        radius = 0.5 * treatment.size * packing.diameter
        for i, j in contacts.pairs:
            solids.append(_rod(centres[i], centres[j], radius))
        for i in contacts.wall:
            outward = np.array([centres[i, 0], centres[i, 1], 0.0])
            outward /= max(float(np.linalg.norm(outward)), 1e-300)
            reach = packing.container.radius - math.hypot(centres[i, 0], centres[i, 1]) + 0.1 * packing.diameter
            solids.append(_rod(centres[i], centres[i] + outward * reach, radius))
    return Manifold.batch_boolean(solids, OpType.Add)


def _rod(start: np.ndarray, end: np.ndarray, radius: float) -> Manifold:
    """A cylinder of ``radius`` from ``start`` to ``end``."""
    axis = np.asarray(end, dtype=float) - np.asarray(start, dtype=float)
    length = float(np.linalg.norm(axis))
    rod = Manifold.cylinder(length, radius, radius, BRIDGE_SEGMENTS)
    z = axis / length
    helper = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    frame = np.column_stack([x, y, z, np.asarray(start, dtype=float)])  # 3 x 4 affine
    return rod.transform(frame.tolist())


def _capped(base: Manifold, i: int, packing: Packing, contacts: Contacts, size: float) -> Manifold:
    """Sphere ``i`` cut flat at each of its contacts, ``size`` × d short of the contact plane's partner."""
    centre = packing.centres[i]
    half_gap = 0.5 * size * packing.diameter
    solid = base
    for a, b in contacts.pairs[(contacts.pairs[:, 0] == i) | (contacts.pairs[:, 1] == i)]:
        other = packing.centres[b if a == i else a]
        towards = other - centre
        distance = float(np.linalg.norm(towards))
        solid = solid.trim_by_plane((-towards / distance).tolist(), -(0.5 * distance - half_gap))
    if i in contacts.wall:
        outward = np.array([centre[0], centre[1], 0.0])
        radial = float(np.linalg.norm(outward))
        if radial > 0:
            solid = solid.trim_by_plane((-outward / radial).tolist(),
                                        -(packing.container.radius - radial - 2.0 * half_gap))
    return solid.translate(tuple(centre))


def to_trimesh(solid: Manifold) -> trimesh.Trimesh:
    """A manifold as a trimesh (vertices in m)."""
    out = solid.to_mesh()
    return trimesh.Trimesh(np.asarray(out.vert_properties)[:, :3], np.asarray(out.tri_verts), process=False)


def window_porosity(solid: Manifold, radius: float, z0: float, z1: float, segments: int = 256) -> float:
    """The void fraction of the tube (``radius``) between ``z0`` and ``z1`` around ``solid``: exact for the
    faceted solid (the tube itself is a ``segments``-gon of the same area as the circle)."""
    scale = math.sqrt(2.0 * math.pi / (segments * math.sin(2.0 * math.pi / segments)))  # polygon area = π r²
    tube = Manifold.cylinder(z1 - z0, radius * scale, radius * scale, segments).translate((0.0, 0.0, z0))
    column = math.pi * radius**2 * (z1 - z0)
    return 1.0 - float((solid ^ tube).volume()) / column
