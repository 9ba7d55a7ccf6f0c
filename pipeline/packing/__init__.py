"""Packing engines and the `Packing` they produce."""

from .model import Container, Packing, PackingError, packing_digest

__all__ = ["Container", "Packing", "PackingError", "packing_digest"]
