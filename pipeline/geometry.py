"""Watertight geometry of a packing, for meshing (STL) and viewing (OBJ, glTF/GLB).

Solids, each its own closed surface and, in STL, its own file (binary STL has no
solid names, so the file name is the name):

=============== ==========================================================================
``particles``   every particle, after the contact treatment (:mod:`pipeline.contacts`): shrunk by
                ``contact_gap`` × d so no two surfaces touch, or joined by bridges, or capped
``wall``        ``surface``: the closed inner envelope of the column (radius D/2, height H);
                ``solid``: the tube wall of ``wall_thickness``; ``none``: left out
``lid_bottom``  the bottom lid (flat disc or hemispherical shell) under z = 0, unless ``none``
``lid_top``     the top lid above z = H, unless ``none``
=============== ==========================================================================

Point contacts cannot be meshed. The gap treatment (the default) turns each sphere
of diameter d into one of d(1 − g), which raises the porosity (reported as
``porosity_meshed`` next to the nominal one); bridges and caps keep the particles'
size and change the solid only at contacts. The spheres are icospheres holding the shrunk sphere's volume
(:func:`sphere_surface`); cylinders are polygonal prisms, slightly smaller (their
volume over the exact shape's is ``tessellation_volume_ratio``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import trimesh
from manifold3d import Manifold

from .contacts import to_trimesh, treated_particles, window_porosity
from .errors import BedflowError
from .packing.shapes import rotation_matrices
from .packing.model import Packing

UNIT_FACTORS = {"m": 1.0, "cm": 100.0, "mm": 1000.0}
VIEW_FORMATS = ("obj", "gltf", "glb")


class GeometryError(BedflowError):
    """Geometry that is not watertight, or particles that still intersect after the contact gap."""


@dataclass
class Geometry:
    """The solids of a packing (SI, z = 0 at the bottom lid's inner face)."""

    solids: dict[str, trimesh.Trimesh]
    contact_gap: float
    treatment: str = ""  # the contact treatment in words
    tessellation_volume_ratio: float = 1.0
    particle_template: trimesh.Trimesh | None = None

    def check(self) -> dict[str, bool]:
        """Watertightness of each solid; raise :class:`GeometryError` if one is open or inconsistent.

        The particles are rigid copies of one template that do not intersect (checked
        against the contact gap when the geometry is built), so they are closed exactly
        when the template is: checking it instead of the million-face union is the same
        proof at a thousandth of the cost.
        """
        report = {}
        for name, mesh in self.solids.items():
            if name == "particles" and self.particle_template is not None:
                template = self.particle_template
                if len(mesh.faces) % len(template.faces):
                    raise GeometryError("particle mesh is not made of whole copies of its template")
                mesh = template
            ok = bool(mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0)
            report[name] = ok
            if not ok:
                raise GeometryError(
                    f"solid '{name}' is not a closed, consistently oriented surface "
                    f"(watertight={mesh.is_watertight}, winding={mesh.is_winding_consistent}, volume={mesh.volume:g})"
                )
        return report


def sphere_surface(radius: float, subdivisions: int = 3, centre: tuple[float, float, float] = (0.0, 0.0, 0.0)
                   ) -> trimesh.Trimesh:
    """A sphere as the particles' icosphere, the one surface every case meshes.

    The icosphere is scaled to the sphere's volume (its vertices sit 0.29 % of the radius outside the sphere
    at 3 subdivisions): one inscribed in the sphere holds 0.86 % less solid, which ``bedflow verify``
    measured as a drag too low by 2-3 % at solid fractions of 0.125-0.45.
    """
    mesh = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    mesh.apply_scale((4.0 / 3.0 * math.pi * radius**3 / mesh.volume) ** (1.0 / 3.0))
    mesh.apply_translation(centre)
    return mesh


def _template(packing: Packing, shrink: float, subdivisions: int) -> tuple[trimesh.Trimesh, float]:
    """One particle's mesh in its own frame, shrunk; and its volume over the exact shape's."""
    cut = shrink * packing.diameter
    if packing.kind == "sphere":
        radius = (packing.diameter - cut) / 2.0
        mesh = sphere_surface(radius, subdivisions)
        exact = 4.0 / 3.0 * math.pi * radius**3
    elif packing.kind == "cylinder":
        radius, length = (packing.diameter - cut) / 2.0, packing.length - cut
        mesh = trimesh.creation.cylinder(radius=radius, height=length, sections=8 * 2 ** subdivisions)
        exact = math.pi * radius**2 * length
    else:
        edge = packing.diameter - cut
        mesh = trimesh.creation.box(extents=(edge, edge, edge))
        exact = edge**3
    return mesh, float(mesh.volume / exact)


def particle_mesh(packing: Packing, shrink: float | None = None,
                  subdivisions: int = 3) -> tuple[trimesh.Trimesh, trimesh.Trimesh, float]:
    """All particles as one mesh instanced from one template: (mesh, template, tessellation volume ratio)."""
    shrink = packing.contact_gap if shrink is None else shrink
    template, ratio = _template(packing, shrink, subdivisions)
    vertices = np.asarray(template.vertices)
    if packing.orientations is not None:
        placed = np.einsum("nij,vj->nvi", rotation_matrices(packing.orientations), vertices)
    else:
        placed = np.broadcast_to(vertices, (packing.count, *vertices.shape))
    placed = placed + packing.centres[:, None, :]
    faces = template.faces[None, :, :] + (np.arange(packing.count) * len(vertices))[:, None, None]
    mesh = trimesh.Trimesh(placed.reshape(-1, 3), faces.reshape(-1, 3), process=False)
    return mesh, template, ratio


def treated_particle_mesh(packing: Packing, subdivisions: int = 3
                          ) -> tuple[trimesh.Trimesh, trimesh.Trimesh | None, float]:
    """The particles as they are meshed, after the packing's contact treatment (:mod:`pipeline.contacts`):
    (mesh, the template when the mesh is rigid copies of one, tessellation volume ratio)."""
    treatment = packing.treatment()
    if treatment.kind == "gap":
        return particle_mesh(packing, treatment.shrink, subdivisions)
    solid, ratio = treated_solid(packing, subdivisions)
    return to_trimesh(solid), None, ratio


def treated_solid(packing: Packing, subdivisions: int = 3) -> tuple[Manifold, float]:
    """The particles after their bridges or caps as one evaluated solid, and the tessellation volume ratio.

    The union is the costly part of a treated packing (100 s for 5 000 spheres with 15 000 bridges): it is
    made once per packing object and setting, and reused by its porosity and its geometry."""
    key = (packing.treatment(), subdivisions, packing.centres.tobytes())
    cached = getattr(packing, "_treated_solid", None)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    template, ratio = _template(packing, 0.0, subdivisions)
    solid = treated_particles(packing, packing.treatment(), template)
    solid.to_mesh()  # evaluate now (manifold is lazy), once
    packing._treated_solid = (key, solid, ratio)  # type: ignore[attr-defined]
    return solid, ratio


def porosity_as_meshed(packing: Packing, z_range: tuple[float, float]) -> float:
    """The porosity between two heights of the particles as they are meshed: exact spheres shrunk by the gap,
    or the faceted solid with its bridges or caps."""
    treatment = packing.treatment()
    if treatment.kind == "gap":
        return packing.porosity(z_range, shrink=treatment.shrink)
    return window_porosity(treated_solid(packing)[0], packing.container.radius, *z_range)


def _disc(radius: float, z0: float, z1: float, segments: int) -> Manifold:
    return Manifold.cylinder(z1 - z0, radius, radius, segments).translate((0.0, 0.0, z0))


def _lid(kind: str, radius: float, thickness: float, at_top: bool, height: float, segments: int) -> Manifold | None:
    if kind == "none":
        return None
    outer = radius + thickness
    if kind == "flat":
        return _disc(outer, height, height + thickness, segments) if at_top else _disc(outer, -thickness, 0.0, segments)
    shell = Manifold.sphere(outer, segments) - Manifold.sphere(radius, segments)
    half = _disc(2 * outer, 0.0, 2 * outer, segments) if at_top else _disc(2 * outer, -2 * outer, 0.0, segments)
    dome = shell ^ half
    return dome.translate((0.0, 0.0, height)) if at_top else dome


def container_solids(packing: Packing, wall_mode: str = "surface", segments: int = 96) -> dict[str, trimesh.Trimesh]:
    """The wall and lids of the packing's container as closed meshes (SI)."""
    c = packing.container
    solids: dict[str, Manifold | None] = {}
    if wall_mode == "surface":
        solids["wall"] = _disc(c.radius, 0.0, c.height, segments)
    elif wall_mode == "solid":
        tube = _disc(c.radius + c.wall_thickness, 0.0, c.height, segments) - _disc(c.radius, -1.0, c.height + 1.0, segments)
        solids["wall"] = tube
    solids["lid_bottom"] = _lid(c.bottom_type, c.radius, c.bottom_thickness, False, c.height, segments)
    solids["lid_top"] = _lid(c.top_type, c.radius, c.top_thickness, True, c.height, segments)
    return {name: to_trimesh(solid) for name, solid in solids.items() if solid is not None}


def build_geometry(packing: Packing, wall_mode: str = "surface", subdivisions: int = 3) -> Geometry:
    """Particles (after the contact treatment) and container as separate closed solids."""
    treatment = packing.treatment()
    if treatment.kind == "gap":
        _check_gap(packing, subdivisions)
    particles, template, ratio = treated_particle_mesh(packing, subdivisions)
    solids = {"particles": particles, **container_solids(packing, wall_mode)}
    return Geometry(solids=solids, contact_gap=treatment.shrink, tessellation_volume_ratio=ratio,
                    particle_template=template, treatment=treatment.describe())


def _check_gap(packing: Packing, subdivisions: int) -> None:
    """Raise :class:`GeometryError` when shrinking by the contact gap leaves particles intersecting."""
    gap = packing.contact_gap
    pairs_gap = packing.min_gap()
    if pairs_gap < -gap * packing.diameter * 0.999:
        raise GeometryError(
            f"particles overlap by {-pairs_gap / packing.diameter:.3g} d, more than the contact gap ({gap:g} d): "
            "they would still intersect after shrinking"
        )
    if packing.kind == "sphere":  # the volume-true icosphere's vertices reach a little beyond its sphere
        template, _ = _template(packing, gap, subdivisions)
        reach = 2.0 * float(np.linalg.norm(template.vertices, axis=1).max()) - packing.diameter
        if pairs_gap < reach:
            raise GeometryError(
                f"particles come within {pairs_gap / packing.diameter:.3g} d of each other or the wall: their "
                f"faceted surfaces would touch after the contact gap ({gap:g} d); raise packing.contact_gap to "
                f"at least {gap + (reach - pairs_gap) / packing.diameter + 1e-3:.3f}")


@dataclass
class GeometryFiles:
    """What :func:`write_geometry` wrote."""

    files: dict[str, Path] = field(default_factory=dict)  # "stl:particles", "obj", "glb", ...
    watertight: dict[str, bool] = field(default_factory=dict)
    manifest: Path | None = None


def write_geometry(
    packing: Packing,
    out_dir: str | Path,
    formats: tuple[str, ...] | list[str] = ("stl",),
    units: str = "m",
    scale: float = 1.0,
    wall_mode: str = "surface",
    manifold_check: bool = True,
    subdivisions: int = 3,
) -> GeometryFiles:
    """Write the packing's geometry in ``formats`` (stl, obj, gltf, glb, blend) into ``out_dir``.

    STL: one binary file per solid (``particles.stl``, ``wall.stl``, ...). OBJ and
    glTF/GLB: one file with every solid as a named object. ``blend`` is written by
    Blender in a child process. A ``geometry.json`` manifest lists the files,
    units, face counts and watertightness.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if units not in UNIT_FACTORS:
        raise GeometryError(f"unknown export unit {units!r}; use one of {', '.join(UNIT_FACTORS)}")
    geometry = build_geometry(packing, wall_mode, subdivisions)
    result = GeometryFiles(watertight=geometry.check() if manifold_check else {})
    factor = UNIT_FACTORS[units] * scale
    solids = {name: mesh.copy().apply_scale(factor) if factor != 1.0 else mesh for name, mesh in geometry.solids.items()}
    if "stl" in formats:
        for name, mesh in solids.items():
            path = out / f"{name}.stl"
            mesh.export(path, file_type="stl")
            result.files[f"stl:{name}"] = path
    view = [f for f in formats if f in VIEW_FORMATS]
    if view:
        scene = trimesh.Scene()
        for name, mesh in solids.items():
            scene.add_geometry(mesh, node_name=name, geom_name=name)
        for fmt in view:
            path = out / f"packing.{fmt}"
            scene.export(path, file_type=fmt)
            result.files[fmt] = path
    if "blend" in formats:
        from .packing.blender import write_blender_exports

        result.files.update(write_blender_exports(packing, out, ["blend"]))
    manifest = {
        "units": units,
        "scale": scale,
        "contact_gap": geometry.contact_gap,
        "contact_treatment": geometry.treatment,
        "tessellation_volume_ratio": geometry.tessellation_volume_ratio,
        "solids": {name: {"faces": int(len(m.faces)), "volume_m3": float(m.volume)} for name, m in geometry.solids.items()},
        "watertight": result.watertight,
        "files": {key: path.name for key, path in result.files.items()},
    }
    result.manifest = out / "geometry.json"
    result.manifest.write_text(json.dumps(manifest, indent=2))
    return result
