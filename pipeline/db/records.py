"""Writing runs down: beds, simulations, packings, meshes, results, and artifacts (upload first, row second).

An artifact row is only ever added after its object is uploaded to the store
and verified, inside one transaction with the rows it belongs to: a failed
upload leaves no row, so no row points to nothing. The other way round, an
object can be left that no row names: uploaded by a worker that died before
its rows were committed, or by the loser of two workers recording the same
packing or mesh at once. :func:`collect_orphans` (``bedflow store gc``)
deletes those once they are old enough that no stage can still be about to
record them.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..spec import BedSpec
from ..store import ObjectInfo, Store
from .models import ARTIFACT_KINDS, OWNERS, Artifact, Bed, RunStatus, Simulation, Sweep, utcnow

if TYPE_CHECKING:
    from .database import Database

#: Objects younger than this (seconds) are never collected: a stage may have uploaded them and be about to
#: record their rows (a stage records right after its uploads; a day leaves room for the slowest).
ORPHAN_GRACE = 24 * 3600.0

_TYPES = {
    ".stl": "model/stl", ".obj": "model/obj", ".glb": "model/gltf-binary", ".gltf": "model/gltf+json",
    ".blend": "application/x-blender", ".npz": "application/octet-stream", ".json": "application/json",
    ".bed": "text/plain; charset=utf-8", ".gz": "application/gzip", ".png": "image/png",
    ".html": "text/html; charset=utf-8", ".pdf": "application/pdf",
}


def content_type(path: Path) -> str:
    """The MIME type of an artifact file (OpenFOAM's ``log.<program>`` files are text)."""
    if path.name.startswith("log."):
        return "text/plain; charset=utf-8"
    return _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


@dataclass(frozen=True)
class Upload:
    """An object uploaded and verified, waiting for its row."""

    kind: str
    name: str
    info: ObjectInfo


def upload(store: Store, kind: str, path: Path, name: str | None = None) -> Upload:
    """Upload ``path`` under its content address (once per content) and return what the row needs."""
    if kind not in ARTIFACT_KINDS:
        raise ValueError(f"unknown artifact kind {kind!r}; known: {', '.join(ARTIFACT_KINDS)}")
    path = Path(path)
    return Upload(kind, name or path.name, store.put_content(path, content_type(path)))


def add_artifacts(session: Session, owner: str, owner_id: int, uploads: Iterable[Upload]) -> list[Artifact]:
    """Rows for uploaded objects; an artifact of the same owner and name is replaced (a retried stage)."""
    if owner not in OWNERS:
        raise ValueError(f"unknown artifact owner {owner!r}; known: {', '.join(OWNERS)}")
    column = getattr(Artifact, f"{owner}_id")
    rows = []
    for item in uploads:
        row = session.scalars(select(Artifact).where(column == owner_id, Artifact.name == item.name)).first()
        if row is None:
            row = Artifact(**{f"{owner}_id": owner_id}, name=item.name)
            session.add(row)
        row.kind, row.key, row.size = item.kind, item.info.key, item.info.size
        row.sha256, row.content_type, row.created_at = item.info.sha256, item.info.content_type, utcnow()
        rows.append(row)
    session.flush()
    return rows


def upsert_bed(session: Session, spec: BedSpec, created_by: str = "", *, update: bool = True) -> Bed:
    """The bed named like the spec for this owner, created or (``update``) updated to this spec."""
    bed = session.scalars(select(Bed).where(Bed.created_by == created_by, Bed.name == spec.name)).first()
    digest = spec.digest()
    if bed is None:
        bed = Bed(name=spec.name, created_by=created_by, spec=spec.to_dict(), spec_digest=digest,
                  description=spec.description)
        session.add(bed)
    elif update and (bed.spec_digest != digest or bed.description != spec.description):
        bed.spec, bed.spec_digest, bed.description = spec.to_dict(), digest, spec.description
    session.flush()
    return bed


def spec_inputs(spec: BedSpec) -> dict[str, Any]:
    """The simulation columns that come from its spec (the numbers people filter and plot on)."""
    cfd = spec.cfd
    return {
        "spec": spec.to_dict(),
        "spec_digest": spec.digest(),
        "engine": spec.packing.method,
        "regime": cfd.regime,
        "superficial_velocity": spec.superficial_velocity(),
        "re_p": spec.particle_reynolds(),
        "fluid_density": cfd.fluid_density,
        "fluid_viscosity": cfd.fluid_dynamic_viscosity,
        "particle_diameter": spec.particles.diameter,
        "column_diameter": spec.bed.diameter,
        "aspect_ratio": spec.aspect_ratio(),
        "particle_count": spec.particles.count,
        "resolution": cfd.mesh_cells_per_diameter,
        "processes": cfd.processes,
    }


def new_simulation(session: Session, spec: BedSpec, *, created_by: str = "", sweep_id: int | None = None,
                   until: str = "solve", provenance: dict[str, Any] | None = None) -> Simulation:
    """A queued simulation of ``spec`` (its bed created, or updated to this spec unless the run belongs to a sweep:
    a sweep's bed keeps the spec the sweep varies, each run its own variant)."""
    bed = upsert_bed(session, spec, created_by, update=sweep_id is None)
    simulation = Simulation(bed_id=bed.id, sweep_id=sweep_id, created_by=created_by, until=until,
                            status=RunStatus.queued, provenance=provenance or {}, timings={}, **spec_inputs(spec))
    session.add(simulation)
    session.flush()
    return simulation


def new_sweep(session: Session, name: str, parameter: str, values: list[Any], *, bed_id: int | None = None,
              description: str = "", created_by: str = "") -> int:
    """A sweep row (the group of runs that vary ``parameter`` over ``values``); its id."""
    sweep = Sweep(name=name, bed_id=bed_id, parameter=parameter, values=list(values), description=description,
                  created_by=created_by)
    session.add(sweep)
    session.flush()
    return int(sweep.id)


def result_columns(result: Any) -> dict[str, Any]:
    """The simulation's result columns from a :class:`~pipeline.results.RunResult`."""
    ratios = result.as_meshed.ratios
    return {
        "dp": result.dp_inlet_outlet,
        "dp_dz": result.dp_dz,
        "porosity": result.porosity_core,
        "cells": result.cells,
        "iterations": result.iterations,
        "converged": result.converged,
        "ratio_ergun": ratios["ergun"],
        "ratio_eisfeld_schnitzlein": ratios["eisfeld_schnitzlein"],
        "results": result.to_dict(),
    }


def collect_orphans(db: Database, store: Store, *, older_than: float = ORPHAN_GRACE,
                    dry_run: bool = False) -> list[ObjectInfo]:
    """Delete the objects of ``store`` that no artifact row of ``db`` names and that were last written more than
    ``older_than`` seconds ago (objects whose store keeps no time are kept); return them (``dry_run``: only list
    them). Each is looked up in the database again just before it is deleted, so a row recorded meanwhile keeps
    its object."""
    if older_than < 0:
        raise ValueError(f"older_than must be at least 0 seconds, got {older_than:g}")
    cutoff = utcnow() - timedelta(seconds=older_than)
    old = [info for info in store.list() if info.modified is not None and info.modified <= cutoff]
    with db.session() as session:
        named = set(session.scalars(select(Artifact.key).distinct()))
    orphans = [info for info in old if info.key not in named]
    collected = []
    for info in orphans:
        if not dry_run:
            with db.session() as session:
                if session.scalars(select(Artifact.id).where(Artifact.key == info.key)).first() is not None:
                    continue
            store.delete(info.key)
        collected.append(info)
    return collected

