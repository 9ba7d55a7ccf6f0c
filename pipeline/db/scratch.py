"""Throw-away PostgreSQL databases for tests and benchmarks: created empty, dropped (with their connections)
afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from .database import DatabaseError

#: How tests and benchmarks reach this machine's server (trust authentication, no password).
LOCAL_SERVER = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


@contextmanager
def scratch_postgres(prefix: str = "bedflow_scratch", *, host: str = LOCAL_SERVER["host"],  # type: ignore[assignment]
                     port: int = LOCAL_SERVER["port"], user: str = LOCAL_SERVER["user"],  # type: ignore[assignment]
                     connect_timeout: int = 3) -> Iterator[str]:
    """A new empty database ``<prefix>_<random>`` on the server; yields its SQLAlchemy URL, drops it on exit
    (``WITH (FORCE)``: connections left open do not keep it alive). :class:`DatabaseError` if the server
    cannot be reached."""
    import psycopg2

    from .database import _OPEN

    try:
        admin = psycopg2.connect(host=host, port=port, user=user, dbname="postgres", connect_timeout=connect_timeout)
    except psycopg2.OperationalError as error:
        raise DatabaseError(f"cannot reach PostgreSQL at {host}:{port}: {str(error).strip()}") from error
    admin.autocommit = True
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://{user}@{host}:{port}/{name}"
        finally:
            for url in [u for u in _OPEN if name in u]:  # engines opened through open_database
                _OPEN.pop(url).dispose()
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()
