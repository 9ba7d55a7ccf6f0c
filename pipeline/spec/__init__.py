"""The bed specification: sections of typed, unit-carrying fields and their rules."""

from .bedspec import FORMAT, METADATA, SECTIONS, BedSpec
from .fields import Quantity, bounds_text, coerce, describe, unit_of
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

__all__ = [
    "FORMAT",
    "METADATA",
    "SECTIONS",
    "BedSpec",
    "Quantity",
    "bounds_text",
    "coerce",
    "describe",
    "unit_of",
    "EXCLUSIVE_PAIRS",
    "SECTION_CLASSES",
    "BedSection",
    "CfdSection",
    "ExportSection",
    "LidsSection",
    "PackingSection",
    "ParticlesSection",
    "Section",
]
