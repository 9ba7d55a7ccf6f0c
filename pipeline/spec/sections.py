"""The sections of a bed specification, one ``param.Parameterized`` class each.

Every field has a unit (SI, via :class:`~pipeline.spec.fields.Quantity`), a
default, bounds and a docstring. These classes are the single declaration of
the specification: the `.bed` language, the canonical JSON form, the CLI
template and the dashboard's widgets are all derived from them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import param

from .fields import Quantity

if TYPE_CHECKING:
    from ..cfd.snappy import Refinement
    from ..contacts import ContactTreatment

FRACTION = {"bounds": (0, 1)}


class Section(param.Parameterized):
    """Base of the specification sections: a named group of fields."""

    #: Section name in the `.bed` language and the JSON form.
    key: str = ""

    def __init__(self, **params: Any) -> None:
        params.setdefault("name", self.key)
        super().__init__(**params)

    @classmethod
    def field_names(cls) -> list[str]:
        """The fields of the section, in declaration order (``name`` is not a field)."""
        return [p for p in cls.param if p != "name"]

    def values(self) -> dict[str, Any]:
        """The section's field values (SI), in declaration order."""
        return {field: getattr(self, field) for field in self.field_names()}


class BedSection(Section):
    """The column: a vertical cylinder whose inner volume holds the particles."""

    key = "bed"

    diameter = Quantity(0.025, unit="m", bounds=(1e-3, 10), doc="Inner diameter D of the column.")
    height = Quantity(
        0.04, unit="m", bounds=(1e-3, 100), doc="Inner height of the cylindrical part, between the lids' inner faces."
    )
    wall_thickness = Quantity(0.002, unit="m", bounds=(0, 1), inclusive_bounds=(False, True), doc="Thickness of the column wall (exported solid wall).")
    clearance = Quantity(
        0.0, unit="m", bounds=(0, 1), doc="Gap kept between particles and the wall while packing (0: they may touch)."
    )
    material = param.String("glass", doc="Wall material, for the record (free text, one line).")
    roughness = Quantity(0.0, unit="m", bounds=(0, 0.1), doc="Wall roughness height (0: hydraulically smooth).")

    def volume(self) -> float:
        """Inner volume of the cylindrical part (m³)."""
        return math.pi * self.diameter**2 / 4.0 * self.height


LID_TYPES = ["flat", "hemispherical", "none"]


class LidsSection(Section):
    """The bottom and top closures of the column."""

    key = "lids"

    top_type = param.Selector(default="flat", objects=LID_TYPES, doc="Shape of the top lid.")
    bottom_type = param.Selector(default="flat", objects=LID_TYPES, doc="Shape of the bottom lid.")
    top_thickness = Quantity(0.003, unit="m", bounds=(0, 1), doc="Thickness of the top lid.")
    bottom_thickness = Quantity(0.003, unit="m", bounds=(0, 1), doc="Thickness of the bottom lid.")
    seal_clearance = Quantity(0.0, unit="m", bounds=(0, 0.1), doc="Radial gap between a lid and the wall.")


PARTICLE_KINDS = ["sphere", "cylinder", "cube"]


class ParticlesSection(Section):
    """The particles poured into the column (one size and shape per bed)."""

    key = "particles"

    kind = param.Selector(default="sphere", objects=PARTICLE_KINDS, doc="Particle shape.")
    diameter = Quantity(
        0.005, unit="m", bounds=(1e-5, 1), doc="Particle diameter d (sphere diameter, cylinder diameter or cube edge)."
    )
    length = Quantity(0.005, unit="m", bounds=(1e-5, 1), doc="Cylinder length (used for cylinders only).")
    count = param.Integer(
        90, bounds=(1, 10_000_000), allow_None=True, doc="Number of particles; set this or target_porosity."
    )
    target_porosity = param.Number(
        None,
        bounds=(0.26, 1),
        inclusive_bounds=(True, False),
        allow_None=True,
        doc="Bed porosity to fill to instead of a count (no random packing is denser than 0.26).",
    )
    density = Quantity(2500.0, unit="kg/m3", bounds=(1, 30000), doc="Particle material density (sets masses).")
    restitution = param.Number(0.3, **FRACTION, doc="Coefficient of restitution of particle contacts.")
    friction = param.Number(0.5, bounds=(0, 10), doc="Coulomb friction coefficient.")
    rolling_friction = param.Number(0.001, bounds=(0, 1), doc="Rolling friction coefficient.")
    linear_damping = param.Number(0.1, **FRACTION, doc="Fraction of linear velocity lost per second.")
    angular_damping = param.Number(0.1, **FRACTION, doc="Fraction of angular velocity lost per second.")
    seed = param.Integer(42, bounds=(0, 2**32 - 1), doc="Random seed: the same seed gives the same packing.")

    def volume(self) -> float:
        """Volume of one particle (m³)."""
        d = self.diameter
        if self.kind == "sphere":
            return math.pi * d**3 / 6.0
        if self.kind == "cylinder":
            return math.pi * d**2 / 4.0 * self.length
        return d**3

    def circumscribed_diameter(self) -> float:
        """Diameter of the smallest sphere enclosing one particle (it fits the tube in any orientation)."""
        d = self.diameter
        if self.kind == "sphere":
            return d
        if self.kind == "cylinder":
            return math.hypot(d, self.length)
        return d * math.sqrt(3.0)

    def equivalent_diameter(self) -> float:
        """Diameter of the sphere of equal volume (m)."""
        return (6.0 * self.volume() / math.pi) ** (1.0 / 3.0)


PACKING_METHODS = ["native", "rigid_body"]


class PackingSection(Section):
    """How the particles are packed."""

    key = "packing"

    method = param.Selector(
        default="native",
        objects=PACKING_METHODS,
        doc="Packing engine: native (fast, spheres) or rigid_body (Blender physics).",
    )
    gravity = Quantity(9.81, unit="m/s2", bounds=(0, 100), inclusive_bounds=(False, True), magnitude=True,
                       doc="Gravitational acceleration, acting downward (-z): 9.81 and -9.81 m/s2 are the same.")
    substeps = param.Integer(20, bounds=(1, 1000), doc="Physics substeps per frame (rigid body).")
    iterations = param.Integer(20, bounds=(1, 1000), doc="Constraint solver iterations per step (rigid body).")
    damping = param.Number(
        0.1, **FRACTION, doc="Extra velocity damping once all particles are released; speeds up settling."
    )
    rest_velocity = Quantity(
        0.005, unit="m/s", bounds=(0, 10), inclusive_bounds=(False, True), doc="Settled when every particle is slower than this."
    )
    max_time = Quantity(
        10.0, unit="s", bounds=(0, 600), inclusive_bounds=(False, True), doc="Simulated time limit of the packing."
    )
    collision_margin = Quantity(
        0.0, unit="m", bounds=(0, 0.1), doc="Collision margin (keep 0: a margin inflates small particles)."
    )
    contact_gap = param.Number(
        0.01,
        bounds=(0, 0.1),
        doc="The gap treatment's size: fraction of the particle diameter every particle shrinks by before meshing.",
    )
    contact_treatment = param.Selector(
        default="auto", objects=["auto", "gap", "bridge", "cap"],
        doc="How point contacts are removed before meshing: gap (every particle shrinks by contact_gap), "
        "bridge (a cylinder of contact_size d joins touching spheres, and spheres to the wall) or cap "
        "(touching spheres flattened, faces contact_size d apart); auto: bridge for spheres, gap otherwise.")
    contact_size = param.Number(
        None, allow_None=True, bounds=(0.001, 0.5),
        doc="Bridge diameter or distance between capped faces, as a fraction of d (unset: 0.2 for bridge, "
        "0.02 for cap; the gap treatment's size is contact_gap).")

    def treatment(self, particle_kind: str) -> "ContactTreatment":
        """The contact treatment these settings ask for particles of ``particle_kind``, with its size."""
        from ..contacts import ContactTreatment

        return ContactTreatment.of(self.contact_treatment, self.contact_gap, self.contact_size, particle_kind)


EXPORT_FORMATS = ["stl", "obj", "gltf", "glb", "blend"]


class ExportSection(Section):
    """Geometry files written from the packing."""

    key = "export"

    formats = param.ListSelector(default=["stl"], objects=EXPORT_FORMATS, doc="Geometry formats to write.")
    units = param.Selector(default="m", objects=["m", "cm", "mm"], doc="Length unit of exported files.")
    scale = param.Number(1.0, bounds=(1e-6, 1e6), doc="Extra scale factor applied on export.")
    wall_mode = param.Selector(
        default="surface",
        objects=["surface", "solid", "none"],
        doc="Wall export: inner surface, solid tube of wall_thickness, or none.",
    )
    fluid_mode = param.Selector(
        default="none", objects=["none", "domain"], doc="Also export the fluid domain surface (domain) or not."
    )
    manifold_check = param.Boolean(True, doc="Fail if an exported surface is not watertight and manifold.")
    merge_distance = Quantity(1e-6, unit="m", bounds=(0, 1e-3), doc="Vertices closer than this are merged.")


CFD_REGIMES = ["laminar", "rans_komega_sst"]


class CfdSection(Section):
    """The flow problem solved through the bed."""

    key = "cfd"

    regime = param.Selector(default="laminar", objects=CFD_REGIMES, doc="Flow model.")
    inlet_velocity = Quantity(
        None, unit="m/s", allow_None=True, bounds=(0, 100), inclusive_bounds=(False, True),
        doc="Superficial inlet velocity; set this or particle_reynolds.",
    )
    particle_reynolds = param.Number(
        5.0, allow_None=True, bounds=(0, 1e6), inclusive_bounds=(False, True), doc="Particle Reynolds number rho*u*d/mu; set this or inlet_velocity."
    )
    fluid_density = Quantity(998.2, unit="kg/m3", bounds=(1e-3, 30000), doc="Fluid density (default: water, 20 °C).")
    fluid_dynamic_viscosity = Quantity(
        1.002e-3, unit="Pa.s", bounds=(1e-7, 1e4), doc="Fluid dynamic viscosity (default: water, 20 °C)."
    )
    max_iterations = param.Integer(2000, bounds=(1, 1_000_000), doc="Maximum solver iterations.")
    convergence = param.Number(
        1e-5, bounds=(0, 1), inclusive_bounds=(False, False), doc="Residual below which the solve has converged."
    )
    mesh_cells_per_diameter = param.Integer(
        12, bounds=(4, 64), doc="Mesh cells across one particle diameter near the particles."
    )
    surface_refinement = param.Integer(
        1, bounds=(0, 4), doc="Times the cells at particle surfaces are halved below d/mesh_cells_per_diameter "
        "(bedflow verify measures what each level buys; the default is the verified setting).")
    gap_refinement = param.Integer(
        0, bounds=(0, 4), doc="Further halvings where particles come closer than a few cells (narrow gaps "
        "near contacts), on top of surface_refinement.")
    boundary_layers = param.Integer(
        2, bounds=(0, 5), doc="Prism layers grown on the particle surfaces (resolve the wall shear; left out "
        "where a gap is too narrow).")
    processes = param.Integer(1, bounds=(1, 256), doc="MPI ranks for the solver (1: serial).")
    write_fields = param.Boolean(True, doc="Write the flow fields (VTK) for visualisation.")

    def refinement(self) -> "Refinement":
        """The snappyHexMesh refinement of particle surfaces these settings ask for."""
        from ..cfd.snappy import Refinement

        return Refinement(self.surface_refinement, self.gap_refinement, self.boundary_layers)


SECTION_CLASSES: dict[str, type[Section]] = {
    cls.key: cls
    for cls in (BedSection, LidsSection, ParticlesSection, PackingSection, ExportSection, CfdSection)
}

#: Pairs of fields of which exactly one is set; setting one clears the other.
EXCLUSIVE_PAIRS: list[tuple[str, str, str]] = [
    ("particles", "count", "target_porosity"),
    ("cfd", "inlet_velocity", "particle_reynolds"),
]
