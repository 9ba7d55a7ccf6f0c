"""The `.bed` language: a readable text form of :class:`~pipeline.spec.BedSpec`."""

from .parser import parse_bed
from .writer import format_bed

__all__ = ["parse_bed", "format_bed"]
