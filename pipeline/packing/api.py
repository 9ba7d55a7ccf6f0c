"""`pack()`: a spec in, a `Packing` out, with either engine, reusing a packing already made."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..folder import PACKING_FILE
from ..progress import ProgressCallback
from ..spec import BedSpec
from .model import Packing, PackingError, packing_digest
from .report import PackingReport

#: Engine names accepted from users, mapped to ``packing.method`` values.
ENGINES = {"native": "native", "rigid_body": "rigid_body", "blender": "rigid_body"}
GEOMETRY_MANIFEST = "geometry.json"  # written by write_geometry


def with_engine(spec: BedSpec, engine: str | None) -> BedSpec:
    """``spec`` with ``packing.method`` set from an engine name (``native``, ``blender``/``rigid_body``)."""
    if engine is None:
        return spec.validate()
    if engine not in ENGINES:
        raise PackingError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    method = ENGINES[engine]
    return spec.validate() if spec.packing.method == method else spec.updated({"packing.method": method})


def pack(spec: BedSpec, engine: str | None = None, progress: ProgressCallback | None = None,
         reuse: str | Path | None = None) -> Packing:
    """Pack the particles of ``spec`` with ``engine`` (default: the spec's ``packing.method``).

    ``reuse``: a packing file; if it holds a packing with this spec's packing
    digest it is loaded instead of packing again, and a new packing is saved there.
    """
    spec = with_engine(spec, engine)
    digest = packing_digest(spec)
    if reuse is not None:
        path = Path(reuse)
        if path.is_file():
            try:
                cached = Packing.load(path)
            except PackingError:
                cached = None
            if cached is not None and cached.digest == digest:
                if progress:
                    progress(1.0, f"reused packing {digest[:12]}")
                return cached
    started = time.perf_counter()
    if spec.packing.method == "native":
        from .native import pack_native

        packing = pack_native(spec, progress)
    else:
        from .blender import pack_rigid_body

        packing = pack_rigid_body(spec, progress)
    packing.timings.setdefault("total", time.perf_counter() - started)
    if reuse is not None:
        packing.save(reuse)
    return packing


@dataclass(frozen=True)
class Packed:
    """What :func:`pack_to_folder` made: the packing (in memory), where it was saved, its geometry files and its
    :class:`PackingReport` (with the seconds of each step, geometry files included)."""

    packing: Packing
    folder: Path
    files: dict[str, Path]
    report: PackingReport

    @property
    def packing_file(self) -> Path:
        return self.folder / PACKING_FILE

    def as_json(self) -> dict[str, Any]:
        """The report with ``packing_file`` and ``files`` (the keys of ``bedflow pack --json``)."""
        return {**self.report.to_dict(), "packing_file": str(self.packing_file),
                "files": {key: str(path) for key, path in self.files.items()}}


def pack_to_folder(spec: BedSpec, folder: str | Path, engine: str | None = None,
                   progress: ProgressCallback | None = None) -> Packed:
    """Pack (reusing ``folder/packing.npz`` if it matches), write the spec's export formats, report.

    Geometry already written for the same packing and export settings (its
    ``geometry.json`` manifest names them) is reused too.
    """
    from ..geometry import write_geometry  # trimesh loads only when geometry is written

    folder = Path(folder)
    spec = with_engine(spec, engine)
    packing = pack(spec, progress=progress, reuse=folder / PACKING_FILE)
    export = spec.export
    started = time.perf_counter()
    wanted = [packing.digest, spec.digest("export")]
    manifest_file = folder / GEOMETRY_MANIFEST
    manifest = json.loads(manifest_file.read_text()) if manifest_file.is_file() else {}
    files = {key: folder / name for key, name in manifest.get("files", {}).items()}
    if manifest.get("source") != wanted or not all(path.is_file() for path in files.values()):
        files = write_geometry(packing, folder, export.formats, export.units, export.scale, export.wall_mode,
                               export.manifold_check).files
        manifest = json.loads(manifest_file.read_text())
        manifest["source"] = wanted  # packing and export digests: the same pair reuses these files
        manifest_file.write_text(json.dumps(manifest, indent=2))
    report = PackingReport.of(packing).with_seconds(geometry=time.perf_counter() - started)
    return Packed(packing, folder, files, report)
