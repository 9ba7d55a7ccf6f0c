"""`PackingReport`: the numbers a researcher reads off a packing, as one typed record (the CLI's ``bedflow pack``,
the packing row of a recorded run and the report's packing section all hold this)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ..correlations import expected_porosity
from ..plain import known_fields
from .model import Packing


@dataclass(frozen=True)
class PackingReport:
    """Metrics of a :class:`~pipeline.packing.Packing` (SI; porosities are void fractions).

    ``porosity`` is the whole bed's, ``porosity_meshed`` the bed's after the contact treatment (what is meshed),
    ``porosity_core`` the bed's away from its ends, ``porosity_correlation`` the bed's by Benyahia & O'Neill for
    its aspect ratio; ``overlaps`` counts pairs overlapping beyond 1e-6 d, ``overlaps_beyond_gap`` those deeper than
    the gap the contact treatment opens (``contact_gap`` × d: shallower ones vanish before meshing, deeper ones
    would be meshed as fused particles), ``seconds`` the time of each step.
    """

    engine: str
    count: int
    aspect_ratio: float | None = None
    bed_height: float | None = None
    porosity: float | None = None
    porosity_meshed: float | None = None
    porosity_core: float | None = None
    porosity_correlation: float | None = None
    overlaps: int | None = None
    overlaps_beyond_gap: int | None = None
    max_overlap: float | None = None
    min_gap: float | None = None
    coordination_number: float | None = None
    settled: bool | None = None
    stop_reason: str | None = None
    simulated_time: float | None = None
    digest: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, packing: Packing) -> "PackingReport":
        """Measure ``packing`` (overlaps, gaps and coordination take a neighbour search: ~0.1 s for 5 000
        spheres)."""
        violations = packing.overlaps()
        return cls(
            engine=packing.engine,
            count=packing.count,
            aspect_ratio=packing.aspect_ratio,
            bed_height=packing.bed_height(),
            porosity=packing.porosity(),
            porosity_meshed=packing.porosity_meshed,
            porosity_core=packing.core_porosity(),
            porosity_correlation=expected_porosity(packing.kind, packing.aspect_ratio),
            overlaps=len(violations),
            overlaps_beyond_gap=sum(depth > packing.contact_gap * packing.diameter for *_, depth in violations),
            max_overlap=max((v[3] for v in violations), default=0.0),
            min_gap=packing.min_gap(),
            coordination_number=packing.coordination_number(),
            settled=packing.settled,
            stop_reason=packing.stop_reason,
            simulated_time=packing.simulated_time,
            seconds=dict(packing.timings),
            digest=packing.digest,
        )

    def with_seconds(self, **seconds: float) -> "PackingReport":
        """This report with more timed steps (e.g. ``geometry=``)."""
        return PackingReport(**{**asdict(self), "seconds": {**self.seconds, **seconds}})

    def metrics(self) -> dict[str, Any]:
        """Everything but the timings (a packing row's ``metrics``)."""
        return {key: value for key, value in asdict(self).items() if key != "seconds"}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PackingReport":
        """A report from :meth:`to_dict` or :meth:`metrics` (keys this version does not know are ignored)."""
        return cls(**known_fields(cls, data))
