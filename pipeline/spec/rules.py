"""Cross-field rules of a bed specification.

Each rule names the fields it reads; a rule is skipped when one of those fields
already failed its own check, so a user sees the root problem, not its echoes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import Problem
from .sections import ParticlesSection

if TYPE_CHECKING:
    from .bedspec import BedSpec

#: Densest solid fraction any random packing of equal particles reaches (porosity 0.26 is the
#: ordered close packing of spheres; random beds stay well above it).
MAX_SOLID_FRACTION = 0.74
#: The most particles a bed may hold, however it is specified: the upper bound of ``particles.count``.
MAX_PARTICLES = int(ParticlesSection.param.count.bounds[1])


@dataclass(frozen=True)
class Rule:
    """A check over several fields: ``check`` yields ``(path, message)`` pairs."""

    reads: tuple[str, ...]
    check: Callable[["BedSpec"], Iterator[tuple[str, str]]]


def _m(value: float) -> str:
    """A length (m) as the messages show lengths: in mm, as the `.bed` text and the form do."""
    return f"{value * 1e3:.6g} mm"


def _particle_fits(spec: "BedSpec") -> Iterator[tuple[str, str]]:
    p, bed = spec.particles, spec.bed
    size = p.circumscribed_diameter()
    if p.kind == "sphere":
        if size >= bed.diameter:
            yield "particles.diameter", f"must be < bed.diameter ({_m(bed.diameter)})"
    elif size >= bed.diameter:
        yield (
            "particles.diameter",
            f"a {p.kind} of this size spans {_m(size)}; it must be < bed.diameter ({_m(bed.diameter)})",
        )
    if size >= bed.height:
        yield "particles.diameter", f"particle size {_m(size)} must be < bed.height ({_m(bed.height)})"
    free = (bed.diameter - size) / 2.0
    if size < bed.diameter and bed.clearance >= free:
        yield "bed.clearance", f"must be < {_m(free)} (half the free width between particle and wall)"


def _exactly_one(section: str, first: str, second: str) -> Rule:
    def check(spec: "BedSpec") -> Iterator[tuple[str, str]]:
        values = getattr(spec, section)
        a, b = getattr(values, first), getattr(values, second)
        if a is None and b is None:
            yield f"{section}.{first}", f"set {first} or {second}"
        elif a is not None and b is not None:
            yield f"{section}.{first}", f"set {first} or {second}, not both"

    return Rule((f"{section}.{first}", f"{section}.{second}"), check)


def _count_fits(spec: "BedSpec") -> Iterator[tuple[str, str]]:
    p, bed = spec.particles, spec.bed
    if p.count is None:
        return
    capacity = int(MAX_SOLID_FRACTION * bed.volume() / p.volume())
    if p.count > capacity:
        fraction = p.count * p.volume() / bed.volume()
        yield (
            "particles.count",
            f"{p.count} particles fill {fraction:.2f} of the bed volume; at most {capacity} fit "
            f"(porosity can't go below {1 - MAX_SOLID_FRACTION:.2f})",
        )


def implied_count(spec: "BedSpec") -> float:
    """The particles ``particles.target_porosity`` fills the column with: (1 − ε) × bed volume / particle volume."""
    p = spec.particles
    return (1.0 - p.target_porosity) * spec.bed.volume() / p.volume()


def _implied_count_fits(spec: "BedSpec") -> Iterator[tuple[str, str]]:
    if spec.particles.target_porosity is None:
        return
    implied = implied_count(spec)
    if implied > MAX_PARTICLES:
        yield (
            "particles.target_porosity",
            f"{spec.particles.target_porosity:g} fills this bed with about {implied:.3g} particles; at most "
            f"{MAX_PARTICLES} (the bound of particles.count): use larger particles or a smaller bed",
        )


def _lid_thickness(spec: "BedSpec") -> Iterator[tuple[str, str]]:
    for end in ("top", "bottom"):
        kind = getattr(spec.lids, f"{end}_type")
        if kind != "none" and getattr(spec.lids, f"{end}_thickness") <= 0:
            yield f"lids.{end}_thickness", f"must be > 0 m for a {kind} lid"


def _packing_tolerances(spec: "BedSpec") -> Iterator[tuple[str, str]]:
    d = spec.particles.diameter
    if spec.packing.collision_margin >= d / 2:
        yield "packing.collision_margin", f"must be < half the particle diameter ({_m(d / 2)})"
    if spec.export.merge_distance >= d / 100:
        yield "export.merge_distance", f"must be < 1% of the particle diameter ({_m(d / 100)})"


def _engine_supports_kind(spec: "BedSpec") -> Iterator[tuple[str, str]]:
    if spec.packing.method == "native" and spec.particles.kind != "sphere":
        yield (
            "packing.method",
            f"the native packer packs spheres only; use rigid_body for {spec.particles.kind} particles",
        )


def _treatment_supports_kind(spec: "BedSpec") -> Iterator[tuple[str, str]]:
    if spec.packing.contact_treatment not in ("gap", "auto") and spec.particles.kind != "sphere":
        yield ("packing.contact_treatment",
               f"{spec.packing.contact_treatment} finds contacts between spheres only; use gap for "
               f"{spec.particles.kind} particles")


RULES: list[Rule] = [
    Rule(("particles.kind", "particles.diameter", "particles.length", "bed.diameter", "bed.height",
          "bed.clearance"), _particle_fits),
    _exactly_one("particles", "count", "target_porosity"),
    _exactly_one("cfd", "inlet_velocity", "particle_reynolds"),
    Rule(("particles.kind", "particles.diameter", "particles.length", "particles.count", "bed.diameter",
          "bed.height"), _count_fits),
    Rule(("particles.kind", "particles.diameter", "particles.length", "particles.target_porosity", "bed.diameter",
          "bed.height"), _implied_count_fits),
    Rule(("lids.top_type", "lids.top_thickness", "lids.bottom_type", "lids.bottom_thickness"), _lid_thickness),
    Rule(("particles.diameter", "packing.collision_margin", "export.merge_distance"), _packing_tolerances),
    Rule(("packing.method", "particles.kind"), _engine_supports_kind),
    Rule(("packing.contact_treatment", "particles.kind"), _treatment_supports_kind),
]


def check_rules(spec: "BedSpec", skip: set[str] = frozenset()) -> list[Problem]:  # type: ignore[assignment]
    """All cross-field problems of ``spec``, skipping rules that read a path in ``skip``."""
    problems: list[Problem] = []
    for rule in RULES:
        if skip.intersection(rule.reads):
            continue
        problems.extend(Problem(path, message) for path, message in rule.check(spec))
    return problems
