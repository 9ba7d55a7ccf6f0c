"""`BedSpec`: the complete, validated description of one packed-bed study."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import param

from ..errors import BedValidationError, Problem, SourceLocation
from .fields import LINE_LENGTH, Text, coerce
from .rules import check_rules
from .sections import (
    EXCLUSIVE_PAIRS,
    SECTION_CLASSES,
    BedSection,
    CfdSection,
    ExportSection,
    LidsSection,
    PackingSection,
    ParticlesSection,
    Section,
)

if TYPE_CHECKING:
    import panel as pn

    from ..contacts import ContactTreatment

#: Identifies the canonical JSON layout; bump when a field's meaning changes.
FORMAT = "bedflow.bed/1"

SECTIONS: tuple[str, ...] = tuple(SECTION_CLASSES)
METADATA: tuple[str, ...] = ("name", "description")
#: The longest name (characters) and description a spec may have (the database's ``bed.name`` is 200 long).
MAX_NAME_LENGTH = LINE_LENGTH
MAX_DESCRIPTION_LENGTH = 2_000


def suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    """A ``" (did you mean 'x'?)"`` hint, or an empty string."""
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class BedSpec(param.Parameterized):
    """A packed bed: column, lids, particles, packing, export and CFD settings.

    All values are SI. Build one with keyword sections, :meth:`from_dict` (the
    canonical JSON form) or :func:`pipeline.parse_bed` (the `.bed` language);
    every route checks every field and the rules between fields and raises one
    :class:`~pipeline.errors.BedValidationError` listing all problems.
    """

    name = param.String("unnamed", constant=False, doc=f"Short name of the bed, one line of at most "
                        f"{MAX_NAME_LENGTH} characters; runs are grouped by it.")
    description = Text("", max_length=MAX_DESCRIPTION_LENGTH, multiline=True,
                       doc=f"Free-text description of the bed (at most {MAX_DESCRIPTION_LENGTH:,} characters).")
    bed = param.ClassSelector(class_=BedSection, doc="The column.")
    lids = param.ClassSelector(class_=LidsSection, doc="Top and bottom closures.")
    particles = param.ClassSelector(class_=ParticlesSection, doc="The particles.")
    packing = param.ClassSelector(class_=PackingSection, doc="The packing engine and its settings.")
    export = param.ClassSelector(class_=ExportSection, doc="Geometry export.")
    cfd = param.ClassSelector(class_=CfdSection, doc="The flow problem.")

    def __init__(self, **params: Any) -> None:
        for key, cls in SECTION_CLASSES.items():
            if params.get(key) is None:
                params[key] = cls()
        super().__init__(**params)

    # -- access ---------------------------------------------------------------------------
    def sections(self) -> dict[str, Section]:
        """The six sections by key, in canonical order."""
        return {key: getattr(self, key) for key in SECTIONS}

    @staticmethod
    def field_paths() -> list[str]:
        """Every section field as a dotted path (``"particles.diameter"``, ...)."""
        return [f"{key}.{name}" for key, cls in SECTION_CLASSES.items() for name in cls.field_names()]

    @classmethod
    def parameter(cls, path: str) -> param.Parameter:
        """The ``param`` declaration of a field path (``name``, ``description`` or ``section.field``)."""
        if path in METADATA:
            return cls.param[path]
        section, _, field = path.partition(".")
        if section not in SECTION_CLASSES or field not in SECTION_CLASSES[section].field_names():
            raise KeyError(f"unknown field path {path!r}{suggest(path, cls.field_paths())}")
        return SECTION_CLASSES[section].param[field]

    def get(self, path: str) -> Any:
        """The value at a field path such as ``"particles.diameter"`` (:class:`KeyError` if there is none)."""
        section, _, field = path.partition(".")
        if section in METADATA and not field:
            return getattr(self, section)
        if section not in SECTION_CLASSES or field not in SECTION_CLASSES[section].field_names():
            raise KeyError(f"unknown field path {path!r}{suggest(path, self.field_paths())}")
        return getattr(getattr(self, section), field)

    # -- derived quantities ---------------------------------------------------------------
    def superficial_velocity(self) -> float:
        """Superficial (empty-tube) inlet velocity u (m/s), given or from Re_p = rho u d / mu."""
        cfd = self.cfd
        if cfd.inlet_velocity is not None:
            return cfd.inlet_velocity
        return cfd.particle_reynolds * cfd.fluid_dynamic_viscosity / (cfd.fluid_density * self.particles.diameter)

    def particle_reynolds(self) -> float:
        """Particle Reynolds number Re_p = rho u d / mu (d: particle diameter, u: superficial)."""
        cfd = self.cfd
        if cfd.particle_reynolds is not None:
            return cfd.particle_reynolds
        return cfd.fluid_density * cfd.inlet_velocity * self.particles.diameter / cfd.fluid_dynamic_viscosity

    def aspect_ratio(self) -> float:
        """Tube-to-particle diameter ratio D/d (d: volume-equivalent sphere diameter)."""
        return self.bed.diameter / self.particles.equivalent_diameter()

    def contact_treatment(self) -> "ContactTreatment":
        """How this bed's contacts are removed before meshing (``auto`` resolved for its particle kind)."""
        return self.packing.treatment(self.particles.kind)

    def _repr_html_(self) -> str:
        from ..results.presentation import html_table

        return html_table(f"Bed {self.name}", self.summary().items())

    def __panel__(self) -> "pn.viewable.Viewable":
        """The same table in Panel (``pn.panel(spec)``, ``pn.Row(spec, ...)``). Without it Panel would show a
        BedSpec, a ``param.Parameterized``, as editable widgets of its raw fields, which edit no copy anyone reads
        (the dashboard's form is :class:`app.spec_form.SpecForm`)."""
        import panel as pn

        return pn.pane.HTML(self._repr_html_(), name=self.name)

    def summary(self) -> dict[str, str]:
        """A few human-readable lines describing the bed (CLI, dashboard, reports)."""
        bed, p, cfd = self.bed, self.particles, self.cfd
        shape = f"{p.kind}s, d = {p.diameter * 1e3:g} mm"
        if p.kind == "cylinder":
            shape += f", L = {p.length * 1e3:g} mm"
        fill = f"{p.count} {shape}" if p.count is not None else f"{shape}, filled to porosity {p.target_porosity:g}"
        return {
            "column": f"D = {bed.diameter * 1e3:g} mm, H = {bed.height * 1e3:g} mm, "
            f"lids {self.lids.bottom_type} (bottom) / {self.lids.top_type} (top)",
            "particles": f"{fill} (D/d = {self.aspect_ratio():.2f})",
            "packing": f"{self.packing.method}, contacts: {self.contact_treatment().describe()}",
            "flow": f"{cfd.regime}, Re_p = {self.particle_reynolds():.3g}, u = {self.superficial_velocity():.3g} m/s, "
            f"rho = {cfd.fluid_density:g} kg/m3, mu = {cfd.fluid_dynamic_viscosity:.4g} Pa.s",
            "digest": self.digest()[:12],
        }

    # -- canonical form -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-ready form: every field, SI units, declaration order."""
        data: dict[str, Any] = {"format": FORMAT, "name": self.name, "description": self.description}
        for key, section in self.sections().items():
            data[key] = {field: _plain(value) for field, value in section.values().items()}
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, locations: Mapping[str, SourceLocation] | None = None, rules: bool = True
    ) -> "BedSpec":
        """Build and validate a spec from its (possibly partial) canonical form.

        Missing fields take their defaults; of an exclusive pair (``count`` /
        ``target_porosity``, ``inlet_velocity`` / ``particle_reynolds``) the one
        not given is cleared when the other is. ``locations`` maps field paths to
        their place in a `.bed` text so problems can point at it. ``rules=False`` checks each field but not the
        cross-field rules (a draft, as a form holds it while someone edits it).
        """
        locations = locations or {}
        problems: list[Problem] = []
        bad: set[str] = set()

        def problem(path: str, message: str) -> None:
            bad.add(path)
            where = locations.get(path) or locations.get(path.partition(".")[0])
            problems.append(Problem(path, message, where))

        if not isinstance(data, Mapping):
            raise BedValidationError([Problem("<spec>", f"must be a mapping, got {type(data).__name__}")])
        allowed = ("format", *METADATA, *SECTIONS)
        params: dict[str, Any] = {}
        for key, value in data.items():
            if key not in allowed:
                problem(str(key), f"unknown section{suggest(str(key), allowed)}")
            elif key == "format":
                if value != FORMAT:
                    problem("format", f"unsupported format {value!r} (this bedflow reads {FORMAT!r})")
            elif key in METADATA:
                try:
                    params[key] = coerce(cls.param[key], value)
                except ValueError as exc:
                    problem(key, str(exc))
            else:
                section = _section_values(key, value, problem)
                if section is not None:
                    params[key] = SECTION_CLASSES[key](**section)
        spec = cls(**params)
        problems.extend(
            Problem(p.path, p.message, locations.get(p.path) or locations.get(p.path.partition(".")[0]))
            for p in (check_rules(spec, skip=bad) if rules else ())
        )
        if problems:
            raise BedValidationError(problems)
        return spec

    @classmethod
    def from_json(cls, text: str) -> "BedSpec":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BedValidationError([Problem("<json>", f"not valid JSON: {exc}")]) from None
        return cls.from_dict(data)

    # -- validation -----------------------------------------------------------------------
    def problems(self) -> list[Problem]:
        """Every problem of the current values (field checks, then cross-field rules)."""
        problems: list[Problem] = []
        bad: set[str] = set()
        for key in METADATA:
            try:
                coerce(type(self).param[key], getattr(self, key))
            except ValueError as exc:
                problems.append(Problem(key, str(exc)))
        for key, section in self.sections().items():
            for field, value in section.values().items():
                try:
                    coerce(type(section).param[field], value)
                except ValueError as exc:
                    bad.add(f"{key}.{field}")
                    problems.append(Problem(f"{key}.{field}", str(exc)))
        return problems + check_rules(self, skip=bad)

    def validate(self) -> "BedSpec":
        """Raise :class:`BedValidationError` if any rule is broken; return ``self`` otherwise."""
        problems = self.problems()
        if problems:
            raise BedValidationError(problems)
        return self

    # -- identity -------------------------------------------------------------------------
    def digest(self, *sections: str) -> str:
        """SHA-256 of the canonical form of the physical content (hex).

        Independent of key order, formatting and units of the source, and of the
        name and description. With ``sections`` only those sections count: e.g.
        ``spec.digest("bed", "lids", "particles", "packing")`` identifies a packing.
        """
        chosen = sections or SECTIONS
        unknown = [s for s in chosen if s not in SECTION_CLASSES]
        if unknown:
            raise KeyError(f"unknown section(s) {unknown}")
        data = self.to_dict()
        payload = {"format": FORMAT, **{key: data[key] for key in sorted(set(chosen))}}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def updated(self, changes: Mapping[str, Any]) -> "BedSpec":
        """A validated copy with ``{"section.field": value}`` changes applied (SI values); setting one field of
        an exclusive pair clears the other (:func:`exclusive_partner`)."""
        data = self.to_dict()
        for path, value in changes.items():
            section, _, field = path.partition(".")
            if section in METADATA and not field:
                data[section] = value
            elif section in data and isinstance(data[section], dict):
                data[section][field] = value
                partner = exclusive_partner(path)
                if partner is not None and value is not None:
                    data[section][partner.partition(".")[2]] = None
            else:
                data[section] = {field: value}  # reported as unknown by from_dict
        return type(self).from_dict(data)

    @classmethod
    def from_paths(cls, values: Mapping[str, Any], *, rules: bool = True) -> "BedSpec":
        """A spec from ``{"section.field": value}`` (metadata by bare name, SI values; missing fields take their
        defaults), checked as :meth:`from_dict` checks (``rules=False``: each field only)."""
        data: dict[str, Any] = {}
        for path, value in values.items():
            section, _, field = path.partition(".")
            if field:
                data.setdefault(section, {})[field] = value
            else:
                data[section] = value
        return cls.from_dict(data, rules=rules)

    def copy(self) -> "BedSpec":
        return type(self).from_dict(self.to_dict())

    def to_bed(self, comments: bool = False) -> str:
        """This spec in the `.bed` language (SI units); ``parse_bed`` reads it back equal."""
        from ..dsl.writer import format_bed

        return format_bed(self, comments=comments)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BedSpec):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    # A spec is mutable: hash by identity (param and Panel keep specs in dicts).
    __hash__ = param.Parameterized.__hash__

    def __repr__(self) -> str:
        p = self.particles
        fill = f"N={p.count}" if p.count is not None else f"eps={p.target_porosity}"
        return (
            f"BedSpec({self.name!r}: D={self.bed.diameter * 1e3:g} mm, H={self.bed.height * 1e3:g} mm, "
            f"{p.kind} d={p.diameter * 1e3:g} mm, {fill}, {self.packing.method})"
        )


def exclusive_partner(path: str) -> str | None:
    """The other field of the exclusive pair a field belongs to (``particles.count`` →
    ``particles.target_porosity``), or ``None``: a spec holds one of the two, setting one clears the other."""
    section, _, field = path.partition(".")
    for pair_section, first, second in EXCLUSIVE_PAIRS:
        if pair_section == section and field in (first, second):
            return f"{section}.{second if field == first else first}"
    return None


def _section_values(key: str, values: Any, problem: Callable[[str, str], None]) -> dict[str, Any] | None:
    """Checked field values of one section (SI); problems go to ``problem(path, message)``."""
    section_cls = SECTION_CLASSES[key]
    if not isinstance(values, Mapping):
        problem(key, f"must be a mapping of fields, got {type(values).__name__}")
        return None
    fields = section_cls.field_names()
    checked: dict[str, Any] = {}
    for field, raw in values.items():
        path = f"{key}.{field}"
        if field not in fields:
            problem(path, f"unknown field{suggest(str(field), fields)}")
            continue
        try:
            checked[field] = coerce(section_cls.param[field], raw)
        except ValueError as exc:
            problem(path, str(exc))
    for section, first, second in EXCLUSIVE_PAIRS:
        if section == key:
            for given, other in ((first, second), (second, first)):
                if values.get(given) is not None and other not in values:
                    checked[other] = None
    return checked


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


__all__ = [
    "BedSpec",
    "exclusive_partner",
    "FORMAT",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_NAME_LENGTH",
    "SECTIONS",
    "METADATA",
    "BedSection",
    "LidsSection",
    "ParticlesSection",
    "PackingSection",
    "ExportSection",
    "CfdSection",
]
