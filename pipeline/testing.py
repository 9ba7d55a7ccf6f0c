"""Real servers for tests and benchmarks, not part of the library a front end calls: throw-away PostgreSQL
databases on this machine's server, and a real S3-protocol server on 127.0.0.1 (moto's; a ``test`` extra).

No MinIO binary can be installed on the machines bedflow is developed on; moto's server speaks the same protocol
to the same ``minio`` SDK code that talks to MinIO in production. :class:`LocalS3Server` runs it in this
process's threads; :class:`S3ServerProcess` in a process of its own, which tests kill to see what a crashed
server does to an upload.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .db.database import DatabaseError

# -- PostgreSQL -------------------------------------------------------------------------------------------
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

    from .db.database import _OPEN

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


# -- S3 ---------------------------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port nobody listens on at this moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Endpoint:
    """A server on 127.0.0.1 at a free port; ``settings`` are the ``MINIO_*`` variables that reach it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"

    @property
    def settings(self) -> dict[str, str]:
        return {"MINIO_ENDPOINT": self.endpoint, "MINIO_ACCESS_KEY": "local-access", "MINIO_SECRET_KEY": "local-secret",
                "MINIO_SECURE": "0"}


class LocalS3Server(_Endpoint):
    """moto's threaded S3 server on a free port, in this process."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        super().__init__()
        self._server: Any = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> "LocalS3Server":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


class S3ServerProcess(_Endpoint):
    """moto's S3 server in a process of its own (``python -m moto.server``), so it can be killed outright and
    started again on the same port. It keeps its objects in memory: a restarted server is empty."""

    def __init__(self, log: Path | None = None) -> None:
        super().__init__()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> "S3ServerProcess":
        """Start it and wait until it accepts connections."""
        output = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto's S3 server exited with code {self.process.returncode} on {self.endpoint}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1.0).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"moto's S3 server did not listen on {self.endpoint} within {timeout:g} s")

    def kill(self) -> None:
        """SIGKILL, as a crash: no request it was serving completes."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, number: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(number)
        if self.process is not None:
            self.process.wait(timeout=30)


@contextmanager
def local_s3_server() -> Iterator[LocalS3Server]:
    """A started :class:`LocalS3Server`, stopped on exit."""
    server = LocalS3Server().start()
    try:
        yield server
    finally:
        server.stop()
