"""The `.bed` language: a readable text form of :class:`~pipeline.spec.BedSpec`."""

from .lexer import MAX_BED_BYTES
from .parser import parse_bed, read_bed
from .writer import format_bed

__all__ = ["MAX_BED_BYTES", "parse_bed", "read_bed", "format_bed"]
