"""The stages of a recorded run: pack → mesh → solve → postprocess.

Each stage works in the run's folder and starts by making sure what it needs
is there, fetching it from the store when it is not (a run can continue on
another machine). Packings and meshes are found by digest and reused instead
of recomputed. What a stage makes is uploaded and verified first; its rows are
recorded after, in one transaction.

Nothing half-made is taken for complete: downloads and unpacked archives are
renamed into place only once complete, a local file is reused only if its
checksum is the one its artifact row records (else it is fetched again), and
artifact names from the database are joined to folders only through
:func:`~pipeline.store.safe_join`. A full disk is a
:class:`~pipeline.store.NoSpaceError`, retried like the store problem it is.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import workflow
from ..workflow import STAGES, TARGETS, WEIGHTS, Carried
from ..cfd.bed import write_bed_case
from ..db import Artifact, Simulation
from ..db import Mesh as MeshRow
from ..db import Packing as PackingRow
from ..db.records import Upload, add_artifacts, result_columns, upload
from ..errors import BedflowError
from ..folder import RunFolder
from ..packing import Packing
from ..packing.model import packing_digest
from ..progress import ProgressCallback
from ..results.extract import RunResult
from ..spec import BedSpec
from ..store import Store, StoreError, is_intact, safe_join
from ..store.archive import archive_folder, extract_archive
from ..store.base import disk_error
from ..store.files import is_disk_full
from .services import Services

#: Left out of case archives: per-rank copies, VTK (stored on its own) and half-written files. The case's
#: ``case.foam`` stays in: a downloaded archive opens in ParaView as it is.
CASE_EXCLUDE = ("processor*", "VTK", "*.partial")
GEOMETRY_KINDS = {"stl": "stl", "obj": "obj", "gltf": "gltf", "glb": "glb", "blend": "blend"}


class StageError(BedflowError):
    """A stage cannot start: what it needs is neither in the run folder nor in the store."""


@dataclass
class StageContext:
    """One stage of one recorded run: what the stages before made (``carried``: the spec, the folder, the
    objects), the services that record it, and the stage's progress callback."""

    run_id: int
    carried: Carried
    services: Services
    progress: ProgressCallback

    @property
    def spec(self) -> BedSpec:
        return self.carried.spec

    @property
    def folder(self) -> RunFolder:
        return self.carried.folder

    @property
    def case(self) -> Path:
        return self.folder.case

    def packing(self) -> Packing:
        """The run's packing: carried from the pack stage, else loaded from the folder (once)."""
        return self.carried.the_packing()

    def step(self, name: str) -> None:
        """The stage's own work (:data:`pipeline.workflow.STEPS`), on what was carried to it."""
        workflow.STEPS[name](self.carried, self.progress)

    def simulation(self) -> Simulation:
        with self.services.db.session() as session:
            row = session.get(Simulation, self.run_id)
            if row is None:
                raise StageError(f"run {self.run_id} is not in the database")
            return row

    def record(self, owner: str, owner_id: int, uploads: list[Upload], **columns: Any) -> None:
        """Artifact rows for ``uploads`` and ``columns`` set on the simulation, in one transaction."""
        with self.services.db.session() as session:
            add_artifacts(session, owner, owner_id, uploads)
            if columns:
                simulation = session.get(Simulation, self.run_id)
                for name, value in columns.items():
                    setattr(simulation, name, value)

    def upload(self, kind: str, path: Path, name: str | None = None) -> Upload:
        return upload(self.services.store, kind, path, name)

    def logs(self) -> list[Upload]:
        """The OpenFOAM logs of the case, uploaded (as the simulation's ``log`` artifacts)."""
        return [self.upload("log", path) for path in self.folder.logs()]


def fetch(store: Store, artifact: Artifact, destination: Path) -> Path:
    """An artifact's object downloaded (and verified) to ``destination``."""
    return store.get_file(artifact.key, destination)


def refresh(store: Store, artifact: Artifact, local: Path) -> bool:
    """Make ``local`` a verified copy of ``artifact``: kept if its checksum is the artifact's, fetched otherwise
    (missing, a half download, changed). Whether it was fetched."""
    if is_intact(local, artifact.sha256):
        return False
    fetch(store, artifact, local)
    return True


def _owned(ctx: StageContext, owner: str, owner_id: int | None, kind: str) -> Artifact | None:
    if owner_id is None:
        return None
    with ctx.services.db.session() as session:
        column = getattr(Artifact, f"{owner}_id")
        return session.scalars(select(Artifact).where(column == owner_id, Artifact.kind == kind)
                               .order_by(Artifact.id.desc())).first()


def _fetch_archive(ctx: StageContext, artifact: Artifact, folder: Path) -> None:
    """``folder`` replaced by the unpacked archive ``artifact`` (never half of it: see :func:`extract_archive`)."""
    with tempfile.TemporaryDirectory(dir=ctx.folder.root) as scratch:
        archive = fetch(ctx.services.store, artifact, safe_join(scratch, artifact.name))
        extract_archive(archive, folder)


def _archive(ctx: StageContext, kind: str, folder: Path, name: str) -> Upload:
    with tempfile.TemporaryDirectory(dir=ctx.folder.root) as scratch:
        path = archive_folder(folder, Path(scratch) / name, exclude=CASE_EXCLUDE)
        return ctx.upload(kind, path)


def _insert_once(ctx: StageContext, model: type, digest: str, make: Callable[[], Any],
                 uploads: list[Upload], owner: str) -> int:
    """Insert a packing/mesh row with its artifacts, or take the one another worker recorded first."""
    try:
        with ctx.services.db.session() as session:
            row = make()
            session.add(row)
            session.flush()
            add_artifacts(session, owner, row.id, uploads)
            return int(row.id)
    except IntegrityError:
        with ctx.services.db.session() as session:
            return int(session.scalars(select(model.id).where(model.digest == digest)).one())


# -- pack --------------------------------------------------------------------------------------------
def stage_pack(ctx: StageContext) -> None:
    """Pack (or fetch the packing recorded with this digest) and write the spec's geometry."""
    digest = packing_digest(ctx.spec)
    with ctx.services.db.session() as session:
        known = session.scalars(select(PackingRow).where(PackingRow.digest == digest)).first()
    local = ctx.folder.packing_file
    stored = _owned(ctx, "packing", known.id if known else None, "packing")
    if stored is not None and refresh(ctx.services.store, stored, local):
        ctx.progress(0.1, f"fetched packing {digest[:12]} from the store")
    ctx.step("pack")
    packed = ctx.carried.packed
    packing = packed.packing
    geometry = [ctx.upload(GEOMETRY_KINDS[key.split(":")[0]], path) for key, path in packed.files.items()]
    manifest = ctx.folder.packing_dir / "geometry.json"
    if manifest.is_file():
        geometry.append(ctx.upload("packing", manifest))
    if known is not None and stored is not None:
        packing_id = known.id
    else:
        report = packed.report
        packing_id = _insert_once(ctx, PackingRow, digest, lambda: PackingRow(
            engine=packing.engine, digest=digest, count=packing.count, porosity=report.porosity,
            porosity_gap=report.porosity_meshed, porosity_core=report.porosity_core,
            metrics=report.metrics(), timings=report.seconds), [ctx.upload("packing", local)], "packing")
    ctx.record("simulation", ctx.run_id, geometry, packing_id=packing_id)


def _ensure_packing(ctx: StageContext) -> None:
    stored = _owned(ctx, "packing", ctx.simulation().packing_id, "packing")
    if stored is None:
        raise StageError(f"run {ctx.run_id}: no packing recorded for it; run the pack stage")
    if refresh(ctx.services.store, stored, ctx.folder.packing_file):
        ctx.carried.packing = None  # the folder's copy was not this run's: read the fetched one


# -- mesh --------------------------------------------------------------------------------------------
def stage_mesh(ctx: StageContext) -> None:
    """Mesh (or fetch the mesh recorded with this digest), with this spec's dictionaries written."""
    _ensure_packing(ctx)
    digest = workflow.mesh_digest(ctx.spec)
    with ctx.services.db.session() as session:
        known = session.scalars(select(MeshRow).where(MeshRow.digest == digest)).first()
    stored = _owned(ctx, "mesh", known.id if known else None, "mesh")
    if stored is not None and not ctx.folder.has_mesh(digest):
        _fetch_archive(ctx, stored, ctx.case)
        ctx.progress(0.1, f"fetched mesh {digest[:12]} from the store")
    ctx.step("mesh")
    quality = ctx.carried.quality
    if known is not None and stored is not None:
        mesh_id = known.id
    else:
        packing_id = ctx.simulation().packing_id
        archive = _archive(ctx, "mesh", ctx.case, "mesh.tar.gz")
        mesh_id = _insert_once(ctx, MeshRow, digest, lambda: MeshRow(
            packing_id=packing_id, resolution=ctx.spec.cfd.mesh_cells_per_diameter, cells=quality.cells,
            quality=quality.to_dict(), digest=digest, seconds=quality.seconds), [archive], "mesh")
    ctx.record("simulation", ctx.run_id, ctx.logs(), mesh_id=mesh_id)


def _ensure_mesh(ctx: StageContext) -> None:
    _ensure_packing(ctx)
    if ctx.folder.has_mesh(workflow.mesh_digest(ctx.spec)):
        if ctx.carried.quality is not None:
            return  # meshed in this process a moment ago, with this spec's dictionaries
    else:
        stored = _owned(ctx, "mesh", ctx.simulation().mesh_id, "mesh")
        if stored is None:
            raise StageError(f"run {ctx.run_id}: no mesh in {ctx.case} nor in the store; run the mesh stage")
        _fetch_archive(ctx, stored, ctx.case)
    write_bed_case(ctx.case, ctx.packing(), ctx.spec, mesh=False)  # this spec's dictionaries around the mesh


# -- solve -------------------------------------------------------------------------------------------
def stage_solve(ctx: StageContext) -> None:
    """simpleFoam on the meshed case; the solved case is stored as one archive."""
    _ensure_mesh(ctx)
    ctx.step("solve")
    ctx.record("simulation", ctx.run_id, [_archive(ctx, "case", ctx.case, "case.tar.gz"), *ctx.logs()])


def _ensure_solved(ctx: StageContext) -> None:
    _ensure_packing(ctx)
    if ctx.folder.is_solved():
        return
    stored = _owned(ctx, "simulation", ctx.run_id, "case")
    if stored is None:
        raise StageError(f"run {ctx.run_id}: no solved case in {ctx.case} nor in the store; run the solve stage")
    _fetch_archive(ctx, stored, ctx.case)


# -- postprocess -------------------------------------------------------------------------------------
def stage_postprocess(ctx: StageContext) -> None:
    """Results (Δp/L, porosity, correlations) into the simulation row; results, VTK fields and logs stored."""
    _ensure_solved(ctx)
    ctx.step("postprocess")
    result: RunResult = ctx.carried.result
    uploads = [ctx.upload("results", ctx.folder.results_file), *ctx.logs()]
    if result.vtk_dir and Path(result.vtk_dir).is_dir():
        uploads.append(_archive(ctx, "vtk", Path(result.vtk_dir), "vtk.tar.gz"))
    ctx.record("simulation", ctx.run_id, uploads, **result_columns(result))


def materialize(ctx: StageContext) -> RunFolder:
    """The run's folder with everything its completed stages made: the packing, the meshed or solved case,
    ``results.json`` and the VTK fields — fetched from the store when this machine lacks them (what it has is
    checked against the artifact rows' checksums, and kept when they match)."""
    done = ctx.simulation().completed_stage
    _ensure_packing(ctx)
    if done == "mesh" and not ctx.folder.has_mesh(workflow.mesh_digest(ctx.spec)):
        stored = _owned(ctx, "mesh", ctx.simulation().mesh_id, "mesh")
        if stored is not None:
            _fetch_archive(ctx, stored, ctx.case)
    if done in ("solve", "postprocess"):
        _ensure_solved(ctx)
    if done == "postprocess":
        results = _owned(ctx, "simulation", ctx.run_id, "results")
        if results is not None:
            refresh(ctx.services.store, results, ctx.folder.results_file)
        vtk = _owned(ctx, "simulation", ctx.run_id, "vtk")
        if vtk is not None and not ctx.folder.vtk_dir.is_dir():
            _fetch_archive(ctx, vtk, ctx.folder.vtk_dir)
    return ctx.folder


def _disk_full_is_a_store_error(name: str, stage: Callable[[StageContext], None]) -> Callable[[StageContext], None]:
    """``stage``, with a full disk under the run folder raised as a :class:`~pipeline.store.NoSpaceError` that says
    so (retried, then failed with that reason) instead of an ``OSError`` traceback."""
    @functools.wraps(stage)
    def checked(ctx: StageContext) -> None:
        try:
            stage(ctx)
        except OSError as error:
            if not is_disk_full(error):
                raise
            raise disk_error(error, f"{name} run {ctx.run_id} in {ctx.folder}") from error
    return checked


STAGE_FUNCTIONS: dict[str, Callable[[StageContext], None]] = {
    name: _disk_full_is_a_store_error(name, stage) for name, stage in
    {"pack": stage_pack, "mesh": stage_mesh, "solve": stage_solve, "postprocess": stage_postprocess}.items()
}


def record_partial_logs(ctx: StageContext) -> None:
    """Keep the logs of a failed or cancelled stage (best effort: the store may be what failed)."""
    try:
        ctx.record("simulation", ctx.run_id, ctx.logs())
    except (BedflowError, OSError):
        pass


__all__ = ["CASE_EXCLUDE", "STAGES", "STAGE_FUNCTIONS", "Carried", "StageContext", "StageError", "StoreError",
           "TARGETS", "WEIGHTS", "record_partial_logs"]
