"""A real S3-protocol server on 127.0.0.1 for tests, benchmarks and local trials (moto's; a ``test`` extra).

No MinIO binary can be installed on the machines bedflow is developed on; moto's
server speaks the same protocol to the same ``minio`` SDK code that talks to
MinIO in production.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def free_port() -> int:
    """A TCP port nobody listens on at this moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalS3Server:
    """moto's threaded S3 server on a free port; ``settings`` are the ``MINIO_*`` variables that reach it."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self._server: Any = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def settings(self) -> dict[str, str]:
        return {"MINIO_ENDPOINT": self.endpoint, "MINIO_ACCESS_KEY": "local-access", "MINIO_SECRET_KEY": "local-secret",
                "MINIO_SECURE": "0"}

    def start(self) -> "LocalS3Server":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


@contextmanager
def local_s3_server() -> Iterator[LocalS3Server]:
    """A started :class:`LocalS3Server`, stopped on exit."""
    server = LocalS3Server().start()
    try:
        yield server
    finally:
        server.stop()
