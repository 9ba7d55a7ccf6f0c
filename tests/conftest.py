"""Shared fixtures.

``BEDFLOW_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns a missing service
(PostgreSQL, Redis) into a failure instead of a skip.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def require_services() -> bool:
    return os.environ.get("BEDFLOW_REQUIRE_SERVICES", "") not in ("", "0")


@pytest.fixture
def examples() -> list[Path]:
    files = sorted(EXAMPLES.glob("*.bed"))
    assert len(files) >= 3
    return files


@pytest.fixture(scope="session")
def bedflow_cmd() -> list[str]:
    """The installed ``bedflow`` console script (the real entry point users run)."""
    script = Path(sys.executable).with_name("bedflow")
    assert script.exists(), f"console script missing: {script} (run make setup)"
    return [str(script)]


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's embedded database, store and queue in its own folder."""
    monkeypatch.setenv("BEDFLOW_DATA_DIR", str(tmp_path / "data"))
    for name in ("DATABASE_URL", "BEDFLOW_STORE", "BEDFLOW_QUEUE"):
        monkeypatch.delenv(name, raising=False)


POSTGRES_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres", "connect_timeout": 3}


def _service_missing(name: str, error: Exception) -> None:
    message = f"{name} is not reachable ({error}); CI runs it on this machine"
    if require_services():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on this machine's server, dropped afterwards."""
    import uuid

    import psycopg2

    try:
        admin = psycopg2.connect(**POSTGRES_ADMIN)
    except psycopg2.OperationalError as error:
        _service_missing("PostgreSQL at 127.0.0.1:5432", error)
    admin.autocommit = True
    name = f"bedflow_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        from pipeline.db.database import _OPEN

        for url in [u for u in _OPEN if name in u]:
            _OPEN.pop(url).dispose()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The run database on both backends: a SQLite file, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, str]]:
    """A real S3-protocol server (moto's) on 127.0.0.1 at a free port, for the session: its MINIO_* settings."""
    from pipeline.store.s3_server import local_s3_server

    with local_s3_server() as server:
        yield server.settings


REDIS_TEST_DB = 15


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis URL on this machine's server, in a database emptied before and after the test."""
    import redis

    url = f"redis://127.0.0.1:6379/{REDIS_TEST_DB}"
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.ConnectionError as error:
        _service_missing("Redis at 127.0.0.1:6379", error)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()
