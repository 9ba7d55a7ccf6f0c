"""Connecting to the run database, and keeping its schema at the newest Alembic revision.

``Database(url)`` wraps one SQLAlchemy engine. On first use it brings the
schema to the head revision (``auto_upgrade``), serialised between processes:
a PostgreSQL advisory lock, or a file lock next to a SQLite file. Unreachable
databases raise :class:`DatabaseError` with the (password-redacted) URL.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import BedflowError

MIGRATIONS = Path(__file__).with_name("migrations")
_UPGRADE_LOCK = 0x62656466  # "bedf": the advisory lock key of schema upgrades on PostgreSQL


class DatabaseError(BedflowError):
    """The database cannot be reached, or its schema is not one this bedflow knows."""


def redact(url: str) -> str:
    """``url`` with its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def _explain(error: Exception) -> str:
    original = getattr(error, "orig", None) or error
    return str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__


class Database:
    """One run database: an engine, sessions, and its migrations."""

    def __init__(self, url: str, *, auto_upgrade: bool = True, echo: bool = False, connect_timeout: int = 5) -> None:
        parsed = make_url(url)
        if parsed.drivername == "postgresql":  # SQLAlchemy 2.1 would pick psycopg 3; we ship psycopg2
            parsed = parsed.set(drivername="postgresql+psycopg2")
        self.url = parsed.render_as_string(hide_password=False)
        self.dialect = parsed.get_backend_name()
        options: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"timeout": 30}
        elif self.dialect == "postgresql":
            options.update(pool_pre_ping=True, connect_args={"connect_timeout": connect_timeout})
        self.engine: Engine = create_engine(self.url, **options)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._pid = os.getpid()
        self._schema_checked = False
        self.auto_upgrade = auto_upgrade

    def __repr__(self) -> str:
        return f"Database({redact(self.url)!r})"

    # -- sessions ------------------------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error; connection failures become
        :class:`DatabaseError`."""
        self._after_fork()
        if not self._schema_checked:
            self.ensure_schema()
        try:
            with self.sessions() as session, session.begin():
                yield session
        except (OperationalError, InterfaceError) as error:
            raise DatabaseError(f"database {redact(self.url)}: {_explain(error)}") from error

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        self._after_fork()
        try:
            with self.engine.connect() as connection:
                yield connection
        except (OperationalError, InterfaceError) as error:
            raise DatabaseError(f"cannot reach the database {redact(self.url)}: {_explain(error)}") from error

    def ping(self) -> float:
        """Round-trip time of ``SELECT 1`` in seconds; :class:`DatabaseError` if unreachable."""
        started = time.perf_counter()
        with self.connect() as connection:
            connection.execute(select(1))
        return time.perf_counter() - started

    def dispose(self) -> None:
        self.engine.dispose()

    def _after_fork(self) -> None:
        # A forked worker must not share the parent's pooled connections.
        if os.getpid() != self._pid:
            self.engine.dispose(close=False)
            self._pid = os.getpid()

    # -- schema --------------------------------------------------------------------------------
    def alembic_config(self, connection: Connection | None = None) -> Any:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        config.attributes["connection"] = connection
        return config

    def head_revision(self) -> str:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(self.alembic_config()).get_current_head()
        assert head is not None
        return head

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def ensure_schema(self) -> None:
        """Bring the schema to the head revision if ``auto_upgrade``; otherwise insist it is there."""
        if self.current_revision() != self.head_revision():
            if not self.auto_upgrade:
                raise DatabaseError(f"database {redact(self.url)} is at revision {self.current_revision()}, "
                                    f"not {self.head_revision()}: run `bedflow db upgrade`")
            self.upgrade()
        self._schema_checked = True

    def upgrade(self, revision: str = "head") -> None:
        """Run the Alembic migrations up to ``revision`` (one process at a time)."""
        from alembic import command

        with self._schema_lock() as connection:
            command.upgrade(self.alembic_config(connection), revision)
        self._schema_checked = revision == "head"

    def downgrade(self, revision: str) -> None:
        """Run the Alembic migrations down to ``revision`` (``"base"`` drops every table and type)."""
        from alembic import command

        with self._schema_lock() as connection:
            command.downgrade(self.alembic_config(connection), revision)
        self._schema_checked = False

    def check_models(self) -> None:
        """``alembic check``: raise if the models differ from the migrated schema."""
        from alembic import command

        with self.connect() as connection:
            command.check(self.alembic_config(connection))

    @contextmanager
    def _schema_lock(self) -> Iterator[Connection]:
        if self.dialect == "postgresql":
            with self.connect() as connection, connection.begin():
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
                yield connection
            return
        database = make_url(self.url).database
        lock_path = Path(f"{database}.lock") if database and database != ":memory:" else None
        handle = open(lock_path, "a") if lock_path else None
        try:
            if handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
            with self.connect() as connection, connection.begin():
                yield connection
        finally:
            if handle:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_OPEN: dict[str, Database] = {}


def open_database(settings: Any = None) -> Database:
    """The database the settings name (one :class:`Database` per URL and process)."""
    from ..settings import Settings

    settings = settings or Settings.from_env()
    url = settings.database_url
    database = _OPEN.get(url)
    if database is None:
        database = _OPEN[url] = Database(url)
    return database
