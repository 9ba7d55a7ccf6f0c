"""Example beds shipped with bedflow (the files in ``examples/``), usable as presets."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import BedflowError
from .spec import BedSpec


def _folder() -> Path:
    return Path(str(resources.files("pipeline") / "examples"))


def preset_names() -> list[str]:
    """Names of the shipped example beds (file names without ``.bed``)."""
    return sorted(p.stem for p in _folder().glob("*.bed"))


def preset_path(name: str) -> Path:
    """The `.bed` file of a preset; :class:`BedflowError` names the choices if unknown (only a shipped name:
    never a path)."""
    names = preset_names()
    if name not in names:
        raise BedflowError(f"unknown preset {name!r}; choose one of: {', '.join(names)}")
    return _folder() / f"{name}.bed"


def load_preset(name: str) -> BedSpec:
    """The validated :class:`BedSpec` of a preset."""
    from .dsl import read_bed

    return read_bed(preset_path(name))
