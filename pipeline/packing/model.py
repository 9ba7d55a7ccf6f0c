"""`Packing`: particles in a column, as produced by a packing engine.

Frame: SI units, the column axis is the z axis through the origin, and z = 0 is
the inner face of the bottom lid. Particle ``i`` has its centre at
``centres[i]``; non-spheres also have an orientation quaternion ``(w, x, y, z)``
that turns the particle's own frame (cylinder axis along z, cube edges along the
axes) into the column frame.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BedflowError

if TYPE_CHECKING:
    from ..contacts import ContactTreatment
    from ..spec import BedSpec

PACKING_SECTIONS = ("bed", "lids", "particles", "packing")
FILE_FORMAT = "bedflow.packing/1"


class PackingError(BedflowError):
    """A packing that cannot be made or read (too many particles, escaped particles, bad file)."""


def packing_digest(spec: "BedSpec") -> str:
    """The digest that identifies a packing: the spec's column, lids, particles and packing sections."""
    return spec.digest(*PACKING_SECTIONS)


def contact_fields(spec: "BedSpec") -> dict[str, Any]:
    """The :class:`Packing` fields that say how the spec's contacts are removed before meshing."""
    treatment = spec.contact_treatment()
    return {"contact_gap": treatment.shrink, "contact_treatment": treatment.kind,
            "contact_size": 0.0 if treatment.kind == "gap" else treatment.size}


@dataclass(frozen=True)
class Container:
    """The column the particles sit in (all SI)."""

    diameter: float
    height: float
    wall_thickness: float
    clearance: float
    bottom_type: str
    top_type: str
    bottom_thickness: float
    top_thickness: float

    @property
    def radius(self) -> float:
        return self.diameter / 2.0

    @classmethod
    def from_spec(cls, spec: "BedSpec") -> "Container":
        bed, lids = spec.bed, spec.lids
        return cls(
            diameter=bed.diameter,
            height=bed.height,
            wall_thickness=bed.wall_thickness,
            clearance=bed.clearance,
            bottom_type=lids.bottom_type,
            top_type=lids.top_type,
            bottom_thickness=lids.bottom_thickness,
            top_thickness=lids.top_thickness,
        )


@dataclass
class Packing:
    """A packed bed: container, particles (centres, orientations) and how it was made."""

    container: Container
    kind: str
    diameter: float
    length: float
    centres: np.ndarray
    orientations: np.ndarray | None = None
    engine: str = ""
    digest: str = ""
    seed: int = 0
    contact_gap: float = 0.0  # the uniform shrink (fraction of d) of the gap treatment; 0 for bridges and caps
    contact_treatment: str = "gap"
    contact_size: float = 0.0  # the bridge diameter or cap distance (fraction of d); the gap's is contact_gap
    settled: bool = True
    stop_reason: str = "settled"
    simulated_time: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.centres = np.ascontiguousarray(self.centres, dtype=np.float64).reshape(-1, 3)
        if self.orientations is not None:
            self.orientations = np.ascontiguousarray(self.orientations, dtype=np.float64).reshape(-1, 4)
            if len(self.orientations) != len(self.centres):
                raise PackingError("orientations and centres differ in length")
        elif self.kind != "sphere":
            raise PackingError(f"{self.kind} particles need orientations")

    # -- sizes ------------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return len(self.centres)

    @property
    def radius(self) -> float:
        """Particle radius d/2 (m)."""
        return self.diameter / 2.0

    def particle_volume(self, shrink: float = 0.0) -> float:
        """Volume of one particle (m³), every dimension reduced by ``shrink`` × d."""
        d = self.diameter * (1.0 - shrink)
        if self.kind == "sphere":
            return math.pi * d**3 / 6.0
        if self.kind == "cylinder":
            return math.pi * d**2 / 4.0 * (self.length - shrink * self.diameter)
        return d**3

    @property
    def bounding_radius(self) -> float:
        """Radius of the sphere enclosing one particle (m)."""
        if self.kind == "sphere":
            return self.radius
        if self.kind == "cylinder":
            return 0.5 * math.hypot(self.diameter, self.length)
        return 0.5 * self.diameter * math.sqrt(3.0)

    @property
    def aspect_ratio(self) -> float:
        """D/d with d the volume-equivalent sphere diameter."""
        return self.container.diameter / (6.0 * self.particle_volume() / math.pi) ** (1.0 / 3.0)

    # -- metrics (see pipeline.packing.metrics) -------------------------------------------------
    def bed_height(self) -> float:
        from .metrics import bed_height

        return bed_height(self)

    def porosity(self, z_range: tuple[float, float] | None = None, shrink: float = 0.0) -> float:
        """Porosity of the bed region (default ``[0, bed_height]``), exact for spheres."""
        from .metrics import porosity

        return porosity(self, z_range, shrink)

    def treatment(self) -> "ContactTreatment":
        """How contacts are removed before meshing (:mod:`pipeline.contacts`)."""
        from ..contacts import ContactTreatment

        return ContactTreatment.of(self.contact_treatment, self.contact_gap, self.contact_size)

    @property
    def porosity_meshed(self) -> float:
        """Porosity of the bed region after the contact treatment (what is meshed)."""
        from ..geometry import porosity_as_meshed

        return porosity_as_meshed(self, (0.0, self.bed_height()))

    def core_range(self) -> tuple[float, float]:
        """The bed without its end layers: one particle size above the bottom, one below the top.

        A bed under three particle sizes tall has no such core; its middle half is used instead.
        """
        size = 2.0 * self.bounding_radius
        top = self.bed_height()
        if top - 2.0 * size < size:
            return (0.25 * top, 0.75 * top)
        return (size, top - size)

    def core_porosity(self, shrink: float = 0.0) -> float:
        """Porosity away from the bottom and the ragged top (wall effect only)."""
        return self.porosity(self.core_range(), shrink)

    def radial_porosity(self, bins: int = 40, z_range: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Porosity against distance from the wall: ``(wall_distance_centres, porosity)``."""
        from .metrics import radial_porosity

        return radial_porosity(self, bins, z_range)

    def axial_porosity(self, bins: int = 50) -> tuple[np.ndarray, np.ndarray]:
        """Porosity of horizontal slices: ``(z_centres, porosity)``."""
        from .metrics import axial_porosity

        return axial_porosity(self, bins)

    def min_gap(self) -> float:
        """Smallest surface gap between two particles or a particle and the container (negative: overlap)."""
        from .metrics import min_gap

        return min_gap(self)

    def overlaps(self, tolerance: float | None = None) -> list[tuple[str, int, int, float]]:
        """Violations deeper than ``tolerance`` (default 1e-6 d): ``(kind, i, j, depth)``."""
        from .metrics import overlaps

        return overlaps(self, tolerance)

    def _repr_html_(self) -> str:
        from ..results.presentation import html_table, packing_rows
        from .report import PackingReport

        return html_table(f"Packing of {self.count} {self.kind}s", packing_rows(PackingReport.of(self)))

    def coordination_number(self, tolerance: float = 0.01) -> float:
        """Mean number of particle neighbours whose surfaces are within ``tolerance`` × d."""
        from .metrics import coordination_number

        return coordination_number(self, tolerance)

    # -- persistence --------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        return {
            "format": FILE_FORMAT,
            "container": asdict(self.container),
            "kind": self.kind,
            "diameter": self.diameter,
            "length": self.length,
            "engine": self.engine,
            "digest": self.digest,
            "seed": self.seed,
            "contact_gap": self.contact_gap,
            "contact_treatment": self.contact_treatment,
            "contact_size": self.contact_size,
            "settled": self.settled,
            "stop_reason": self.stop_reason,
            "simulated_time": self.simulated_time,
            "timings": self.timings,
            "spec": self.spec,
        }

    def save(self, path: str | Path) -> Path:
        """Write a compact ``.npz`` (arrays + JSON metadata) and return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"centres": self.centres}
        if self.orientations is not None:
            arrays["orientations"] = self.orientations
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, metadata=np.array(json.dumps(self.metadata())), **arrays)
        tmp.replace(path)  # atomic: a crash never leaves half a packing behind
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Packing":
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                meta = json.loads(str(data["metadata"]))
                centres = data["centres"]
                orientations = data["orientations"] if "orientations" in data.files else None
        except (OSError, ValueError, KeyError) as exc:
            raise PackingError(f"{path}: not a bedflow packing file ({exc})") from None
        if meta.get("format") != FILE_FORMAT:
            raise PackingError(f"{path}: unsupported packing format {meta.get('format')!r}")
        return cls(
            container=Container(**meta["container"]),
            kind=meta["kind"],
            diameter=meta["diameter"],
            length=meta["length"],
            centres=centres,
            orientations=orientations,
            engine=meta["engine"],
            digest=meta["digest"],
            seed=meta["seed"],
            contact_gap=meta["contact_gap"],
            contact_treatment=meta.get("contact_treatment", "gap"),
            contact_size=meta.get("contact_size", 0.0),
            settled=meta["settled"],
            stop_reason=meta["stop_reason"],
            simulated_time=meta["simulated_time"],
            timings=meta["timings"],
            spec=meta["spec"],
        )
