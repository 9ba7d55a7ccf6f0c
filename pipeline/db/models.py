"""The run database schema (SQLAlchemy 2): beds, packings, meshes, simulations, sweeps and their artifacts,
and the job workers that run them.

One schema serves PostgreSQL and SQLite. Timestamps are timezone-aware UTC in
Python (:class:`UtcDateTime` stores naive UTC on SQLite, which keeps no zone).
Every artifact belongs to exactly one owner (a bed, packing, mesh or
simulation), enforced by a check constraint.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations and downgrades address them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The largest id a row can have: ids are ``integer`` primary keys (4 bytes on PostgreSQL).
MAX_ID = 2**31 - 1


def id_in_range(value: int) -> bool:
    """Whether a row can have ``value`` as its id (SQLite cannot even look up an id past 2**63)."""
    return isinstance(value, int) and 1 <= value <= MAX_ID


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use timezone-aware UTC times")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class RunStatus(str, enum.Enum):
    """Where a simulation is in its life."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled)


ARTIFACT_KINDS = ("bed", "packing", "stl", "obj", "gltf", "glb", "blend", "mesh", "case", "vtk", "log", "results",
                  "report", "png", "html")
OWNERS = ("bed", "packing", "mesh", "simulation")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def _created() -> Mapped[datetime]:
    return mapped_column(UtcDateTime, default=utcnow, server_default=func.current_timestamp(), nullable=False)


class Bed(Base):
    """A named bed description; its spec is the latest one saved under that name by that owner."""

    __tablename__ = "bed"
    __table_args__ = (UniqueConstraint("created_by", "name", name="uq_bed_owner_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[dict[str, Any]]
    spec_digest: Mapped[str] = mapped_column(String(64), index=True)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow,
                                                 server_default=func.current_timestamp())

    simulations: Mapped[list[Simulation]] = relationship(back_populates="bed")

    def __repr__(self) -> str:
        return f"Bed(id={self.id}, name={self.name!r})"


class Packing(Base):
    """One packing, identified by its packing digest (the same spec sections give the same packing)."""

    __tablename__ = "packing"

    id: Mapped[int] = mapped_column(primary_key=True)
    bed_id: Mapped[int | None] = mapped_column(ForeignKey("bed.id", ondelete="SET NULL"), index=True)
    engine: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    count: Mapped[int]
    porosity: Mapped[float]  # bed region, nominal particles
    porosity_gap: Mapped[float]  # bed region after the contact treatment (what is meshed)
    porosity_core: Mapped[float]
    metrics: Mapped[dict[str, Any]]
    timings: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = _created()

    meshes: Mapped[list[Mesh]] = relationship(back_populates="packing")


class Mesh(Base):
    """A snappyHexMesh mesh of a packing at one resolution, identified by its mesh digest."""

    __tablename__ = "mesh"

    id: Mapped[int] = mapped_column(primary_key=True)
    packing_id: Mapped[int] = mapped_column(ForeignKey("packing.id", ondelete="CASCADE"), index=True)
    resolution: Mapped[int]  # background cells per particle diameter
    cells: Mapped[int]
    quality: Mapped[dict[str, Any]]
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    seconds: Mapped[float | None]
    created_at: Mapped[datetime] = _created()

    packing: Mapped[Packing] = relationship(back_populates="meshes")


class Sweep(Base):
    """A named set of simulations over one varied spec parameter."""

    __tablename__ = "sweep"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    bed_id: Mapped[int | None] = mapped_column(ForeignKey("bed.id", ondelete="SET NULL"), index=True)
    parameter: Mapped[str] = mapped_column(String(100))  # dotted spec path, e.g. "cfd.particle_reynolds"
    values: Mapped[list[Any]]
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = _created()

    simulations: Mapped[list[Simulation]] = relationship(back_populates="sweep")

    def _repr_html_(self) -> str:
        from ..results.presentation import html_table

        values = ", ".join(f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in (self.values or []))
        return html_table(f"Sweep {self.id}: {self.name}", [("Parameter", self.parameter), ("Values", values),
                                                            ("Created by", self.created_by or "")])


class Simulation(Base):
    """A run: its inputs, its life (status, progress, heartbeat, worker), its results and its provenance."""

    __tablename__ = "simulation"

    id: Mapped[int] = mapped_column(primary_key=True)
    bed_id: Mapped[int] = mapped_column(ForeignKey("bed.id", ondelete="CASCADE"), index=True)
    packing_id: Mapped[int | None] = mapped_column(ForeignKey("packing.id", ondelete="SET NULL"), index=True)
    mesh_id: Mapped[int | None] = mapped_column(ForeignKey("mesh.id", ondelete="SET NULL"), index=True)
    sweep_id: Mapped[int | None] = mapped_column(ForeignKey("sweep.id", ondelete="SET NULL"), index=True)

    # inputs (the full spec, and the numbers people filter on)
    spec: Mapped[dict[str, Any]]
    spec_digest: Mapped[str] = mapped_column(String(64), index=True)
    engine: Mapped[str] = mapped_column(String(32))
    regime: Mapped[str] = mapped_column(String(32))
    superficial_velocity: Mapped[float]
    re_p: Mapped[float]
    fluid_density: Mapped[float]
    fluid_viscosity: Mapped[float]
    particle_diameter: Mapped[float]
    column_diameter: Mapped[float]
    aspect_ratio: Mapped[float]
    particle_count: Mapped[int]
    resolution: Mapped[int]
    processes: Mapped[int] = mapped_column(default=1)
    until: Mapped[str] = mapped_column(String(16), default="solve")  # the last stage wanted

    # life
    status: Mapped[RunStatus] = mapped_column(
        Enum(RunStatus, name="run_status", values_callable=lambda e: [m.value for m in e], create_constraint=True,
             validate_strings=True),
        default=RunStatus.queued, index=True)
    stage: Mapped[str] = mapped_column(String(32), default="")
    completed_stage: Mapped[str] = mapped_column(String(16), default="")
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    heartbeat_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str] = mapped_column(String(200), default="")
    task_id: Mapped[str] = mapped_column(String(64), default="")
    #: The run folder its stages worked in, on the worker's machine (``host:`` is in ``worker``): a local copy
    #: that :func:`pipeline.runs.run_folder` reads instead of fetching the run's archives again.
    folder: Mapped[str] = mapped_column(String(4096), default="", server_default="")
    #: The solver's initial residuals so far, ``{field: [[iteration, residual], ...]}`` (at most
    #: :data:`pipeline.openfoam.logs.LIVE_POINTS` per field), written every few seconds while the run solves:
    #: what a dashboard on another machine than the worker shows live.
    residuals: Mapped[dict[str, Any] | None] = mapped_column(default=None, nullable=True)
    process_group: Mapped[int | None]
    #: The batch job running its current heavy stage elsewhere (``slurm:<job id>``; empty: on its worker), so
    #: that a cancel reaches it and a worker that takes the run over finds it.
    job: Mapped[str] = mapped_column(String(64), default="", server_default="")
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = _created()
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # results
    dp: Mapped[float | None]  # inlet-outlet pressure drop, Pa
    dp_dz: Mapped[float | None]  # core-window gradient, Pa/m
    porosity: Mapped[float | None]  # core window, solved geometry
    cells: Mapped[int | None]
    iterations: Mapped[int | None]
    converged: Mapped[bool | None] = mapped_column(Boolean)
    ratio_ergun: Mapped[float | None]
    ratio_eisfeld_schnitzlein: Mapped[float | None]
    results: Mapped[dict[str, Any] | None]  # the full RunResult

    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)

    bed: Mapped[Bed] = relationship(back_populates="simulations")
    packing: Mapped[Packing | None] = relationship()
    mesh: Mapped[Mesh | None] = relationship()
    sweep: Mapped[Sweep | None] = relationship(back_populates="simulations")

    def __repr__(self) -> str:
        return f"Simulation(id={self.id}, status={self.status.value}, stage={self.stage!r})"

    def _repr_html_(self) -> str:
        from ..results.presentation import ValueRow, html_table

        rows = [ValueRow("status", "Status", self.status.value), ValueRow("stage", "Stage", self.stage or ""),
                ValueRow("progress", "Progress", 100.0 * (self.progress or 0.0), "%", 3),
                ValueRow("re_p", "Reₚ", self.re_p), ValueRow("aspect_ratio", "D/d", self.aspect_ratio),
                ValueRow("cells", "Cells", self.cells), ValueRow("dp_dz", "Δp/L", self.dp_dz, "Pa/m", 5),
                ValueRow("ratio_ergun", "CFD / Ergun", self.ratio_ergun, digits=3),
                ValueRow("ratio_eisfeld_schnitzlein", "CFD / Eisfeld–Schnitzlein", self.ratio_eisfeld_schnitzlein,
                         digits=3),
                ValueRow("error", "Error", self.error or None)]
        return html_table(f"Run {self.id}" + (f" ({self.created_by})" if self.created_by else ""), rows)

    @property
    def dp_dz_uncertainty(self) -> float | None:
        """Pa/m: half-width of the 95 % interval of the Δp/L fit (from the stored result), when solved."""
        value = (self.results or {}).get("dp_dz_uncertainty")
        return float(value) if value is not None else None


class Artifact(Base):
    """A file a run produced, stored in the artifact store under ``key`` and verified by ``sha256``."""

    __tablename__ = "artifact"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN bed_id IS NULL THEN 0 ELSE 1 END + CASE WHEN packing_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN mesh_id IS NULL THEN 0 ELSE 1 END + CASE WHEN simulation_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_owner"),
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in ARTIFACT_KINDS) + ")", name="known_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bed_id: Mapped[int | None] = mapped_column(ForeignKey("bed.id", ondelete="CASCADE"), index=True)
    packing_id: Mapped[int | None] = mapped_column(ForeignKey("packing.id", ondelete="CASCADE"), index=True)
    mesh_id: Mapped[int | None] = mapped_column(ForeignKey("mesh.id", ondelete="CASCADE"), index=True)
    simulation_id: Mapped[int | None] = mapped_column(ForeignKey("simulation.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))  # file name as the user sees it
    key: Mapped[str] = mapped_column(String(512))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = _created()

    @property
    def owner(self) -> tuple[str, int]:
        for name in OWNERS:
            value = getattr(self, f"{name}_id")
            if value is not None:
                return name, value
        raise ValueError(f"artifact {self.id} has no owner")

    def __repr__(self) -> str:
        return f"Artifact(id={self.id}, kind={self.kind!r}, name={self.name!r})"


class Worker(Base):
    """A ``bedflow worker`` (one Huey consumer and its worker processes) and its latest sign of life.

    The consumer registers itself when it starts, refreshes ``heartbeat_at`` every few seconds from a
    thread, and sets ``stopped_at`` when it stops gracefully; a row whose heartbeat is old and that
    never stopped is a worker that died. Runs name the worker that ran them (``Simulation.worker`` starts
    with this ``name``).
    """

    __tablename__ = "worker"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # "host:pid" of the consumer
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int]
    processes: Mapped[int]  # Huey worker processes, i.e. stages it can run at once
    queue: Mapped[str] = mapped_column(String(16))  # queue kind: sqlite | redis
    version: Mapped[str] = mapped_column(String(64), default="")  # bedflow version
    started_at: Mapped[datetime] = _created()
    heartbeat_at: Mapped[datetime] = mapped_column(index=True)
    stopped_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"Worker({self.name!r}, processes={self.processes}, stopped={self.stopped_at is not None})"


class ApiToken(Base):
    """A bearer token of the JSON API (``bedflow token create``), carrying its user.

    Only the SHA-256 of the secret is kept (a token is 32 random bytes: a fast hash suffices, nothing to guess);
    ``prefix`` (its first characters) names it in lists. A token works until ``expires_at`` (if any) and until it
    is revoked (``revoked_at``); ``last_used_at`` is refreshed at most once a minute.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"ApiToken({self.id}, user={self.user!r}, prefix={self.prefix!r}, revoked={self.revoked_at is not None})"
