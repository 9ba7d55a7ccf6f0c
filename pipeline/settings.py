"""Runtime settings, read from the environment (and an optional ``.env`` file).

=================== ============================================ ==========================================
variable            meaning                                      default (embedded, single machine)
=================== ============================================ ==========================================
BEDFLOW_DATA_DIR    folder for the embedded database, store, ... ``./data``
DATABASE_URL        SQLAlchemy URL of the run database           SQLite file ``<data>/bedflow.db``
BEDFLOW_STORE       artifact store: a folder or ``s3://bucket``  folder ``<data>/store``
MINIO_ENDPOINT      host:port of MinIO/S3 (with ``s3://``)       none: required for ``s3://``
MINIO_ACCESS_KEY    access key (with ``s3://``)                  none: required for ``s3://``
MINIO_SECRET_KEY    secret key (with ``s3://``)                  none: required for ``s3://``
MINIO_SECURE        use TLS (``1``/``0``)                        ``1``
MINIO_REGION        the region requests are signed for           ``us-east-1`` (MinIO's default)
MINIO_PUBLIC_URL    ``http(s)://host[:port]`` browsers reach the  none: download links use MINIO_ENDPOINT
                    store at, for download links (when
                    MINIO_ENDPOINT is a private name)
BEDFLOW_QUEUE       Huey queue: ``sqlite:///file`` or ``redis://`` SQLite file ``<data>/queue.db``
BEDFLOW_MAX_...     workload limits (:mod:`pipeline.limits`):     generous for one machine; see
                    particles, cells, processes, stage seconds,  :mod:`pipeline.limits`
                    sweep size, runs per user
BEDFLOW_STALE_AFTER seconds without a heartbeat after which a    ``60`` (10 to 86400)
                    running run's worker counts as lost
BEDFLOW_MAX_ATTEMPTS attempts of a run that keeps losing its     ``3`` (1 to 100)
                    worker before it is failed
=================== ============================================ ==========================================

Variables already set in the environment win over the ``.env`` file. No secret
has a default value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from dotenv import dotenv_values

from .errors import BedflowError
from .limits import Limits, read_limits


class SettingsError(BedflowError):
    """The environment describes an impossible or incomplete configuration."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r}: expected 1/0, true/false, yes/no or on/off")


#: Bounds of ``BEDFLOW_STALE_AFTER``: well above the 5 s heartbeat of a running run, at most a day.
STALE_AFTER_RANGE = (10.0, 86400.0)
#: Bounds of ``BEDFLOW_MAX_ATTEMPTS``.
MAX_ATTEMPTS_RANGE = (1, 100)


def _bounded(name: str, raw: str | None, default: float, bounds: tuple[float, float], kind: type = float) -> float:
    """``raw`` as a ``kind`` within ``bounds`` (``default`` when unset); :class:`SettingsError` otherwise."""
    text = (raw or "").strip()
    if not text:
        return default
    low, high = bounds
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value != value or not low <= value <= high:
        what = "a whole number" if kind is int else "a number of seconds"
        raise SettingsError(f"{name} must be {what} from {low:g} to {high:g}, got {raw!r}")
    return value


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


@dataclass(frozen=True)
class Settings:
    """Where bedflow keeps its data, and which database, store and queue it talks to."""

    data_dir: Path
    database_url: str
    store_url: str
    queue_url: str
    minio_endpoint: str | None = None
    minio_access_key: str | None = field(default=None, repr=False)
    minio_secret_key: str | None = field(default=None, repr=False)
    minio_secure: bool = True
    minio_public_url: str | None = None
    minio_region: str = "us-east-1"
    admins: frozenset[str] = frozenset()  # signed-in users (lower-case) who may cancel or re-run anyone's runs
    limits: Limits = field(default_factory=Limits)  # workload limits checked at submission and while stages run
    stale_after: float = 60.0  # seconds without a heartbeat after which a running run's worker counts as lost
    max_attempts: int = 3  # attempts (first run plus recoveries) before a run that keeps losing its worker fails

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, dotenv: str | Path | None = ".env") -> "Settings":
        """Read settings from ``env`` (default: ``os.environ``) over the values in ``dotenv``."""
        values: dict[str, str] = {}
        if dotenv is not None and Path(dotenv).is_file():
            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        values.update(os.environ if env is None else env)

        data_dir = Path(values.get("BEDFLOW_DATA_DIR") or "data").expanduser().resolve()
        database_url = values.get("DATABASE_URL") or f"sqlite:///{data_dir / 'bedflow.db'}"
        limits, limit_problems = read_limits(values)
        if database_url.startswith("postgres://"):  # the spelling Railway and Heroku hand out
            database_url = "postgresql://" + database_url[len("postgres://") :]
        settings = cls(
            data_dir=data_dir,
            database_url=database_url,
            store_url=values.get("BEDFLOW_STORE") or str(data_dir / "store"),
            queue_url=values.get("BEDFLOW_QUEUE") or f"sqlite:///{data_dir / 'queue.db'}",
            minio_endpoint=values.get("MINIO_ENDPOINT") or None,
            minio_access_key=values.get("MINIO_ACCESS_KEY") or None,
            minio_secret_key=values.get("MINIO_SECRET_KEY") or None,
            minio_secure=_flag("MINIO_SECURE", values.get("MINIO_SECURE", "1")),
            minio_public_url=(values.get("MINIO_PUBLIC_URL") or "").strip().rstrip("/") or None,
            minio_region=(values.get("MINIO_REGION") or "").strip() or "us-east-1",
            admins=frozenset(name.strip().lower() for name in (values.get("BEDFLOW_ADMINS") or "").split(",")
                             if name.strip()),
            limits=limits,
            stale_after=_bounded("BEDFLOW_STALE_AFTER", values.get("BEDFLOW_STALE_AFTER"), cls.stale_after,
                                 STALE_AFTER_RANGE),
            max_attempts=int(_bounded("BEDFLOW_MAX_ATTEMPTS", values.get("BEDFLOW_MAX_ATTEMPTS"), cls.max_attempts,
                                      MAX_ATTEMPTS_RANGE, int)),
        )
        settings.check(limit_problems)
        return settings

    # -- derived ---------------------------------------------------------------------------
    @property
    def store_kind(self) -> str:
        """``"s3"`` for an ``s3://bucket`` store, ``"local"`` for a folder."""
        return "s3" if self.store_url.startswith("s3://") else "local"

    @property
    def queue_kind(self) -> str:
        """``"redis"`` or ``"sqlite"``."""
        return "redis" if self.queue_url.startswith(("redis://", "rediss://", "unix://")) else "sqlite"

    @property
    def store_bucket(self) -> str | None:
        return urlsplit(self.store_url).netloc or None if self.store_kind == "s3" else None

    @property
    def store_path(self) -> Path | None:
        if self.store_kind != "local":
            return None
        url = self.store_url
        return Path(url[len("file://") :] if url.startswith("file://") else url).expanduser()

    @property
    def queue_path(self) -> Path | None:
        if self.queue_kind != "sqlite":
            return None
        return Path(self.queue_url[len("sqlite:///") :] if self.queue_url.startswith("sqlite:///") else self.queue_url)

    # -- checks ----------------------------------------------------------------------------
    def check(self, also: list[str] | None = None) -> None:
        """Raise :class:`SettingsError` listing everything wrong with these settings (and the problems ``also``
        found while reading them)."""
        problems: list[str] = list(also or [])
        if "://" in self.store_url and not self.store_url.startswith(("s3://", "file://")):
            problems.append(f"BEDFLOW_STORE={self.store_url!r}: use a folder path, file://PATH or s3://BUCKET")
        if self.store_kind == "s3":
            if not self.store_bucket:
                problems.append("BEDFLOW_STORE=s3://… needs a bucket name (s3://BUCKET)")
            for name in ("MINIO_ENDPOINT", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"):
                if not getattr(self, name.lower()):
                    problems.append(f"{name} must be set when BEDFLOW_STORE is s3://")
        if self.minio_public_url:
            public = urlsplit(self.minio_public_url)
            if public.scheme not in ("http", "https") or not public.hostname or public.path or public.query:
                problems.append(f"MINIO_PUBLIC_URL={self.minio_public_url!r}: use http(s)://HOST[:PORT], "
                                "the address browsers reach the store at")
        if self.queue_kind == "sqlite" and not self.queue_url.startswith("sqlite:///"):
            problems.append(f"BEDFLOW_QUEUE={self.queue_url!r}: use sqlite:///PATH or redis://HOST:PORT/DB")
        if "://" not in self.database_url:
            problems.append(f"DATABASE_URL={_redact(self.database_url)!r} is not a database URL")
        if problems:
            raise SettingsError("invalid settings:\n" + "\n".join(f"  {p}" for p in problems))

    def describe(self) -> dict[str, str]:
        """The settings for display, with passwords and keys hidden."""
        return {
            "data_dir": str(self.data_dir),
            "database": _redact(self.database_url),
            "store": self.store_url + (f" at {self.minio_endpoint}" if self.store_kind == "s3" else ""),
            "queue": _redact(self.queue_url),
        }
