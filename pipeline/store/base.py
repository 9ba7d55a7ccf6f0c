"""The artifact store interface: one small API, thin backends (a local folder, MinIO/S3).

Keys are ``/``-separated relative paths; user-supplied parts are sanitised (no
``..``, no absolute paths, no empty segments). Every object carries its SHA-256,
checked again on download. Content-addressed keys (``sha256/ab/cdef…``) store
identical artifacts once.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..errors import BedflowError

CHUNK = 1 << 20
_SEGMENT = re.compile(r"[A-Za-z0-9._+=@,-]+\Z")


class StoreError(BedflowError):
    """The store cannot be reached, an object is missing, or its contents do not match their checksum."""


@dataclass(frozen=True)
class ObjectInfo:
    """An object in the store."""

    key: str
    size: int
    sha256: str
    content_type: str = "application/octet-stream"
    modified: datetime | None = field(default=None, compare=False)  # when it was last written, if the store says


def safe_key(key: str) -> str:
    """``key`` checked to be a relative, normalised path of safe segments; :class:`StoreError` otherwise."""
    if not isinstance(key, str) or not key or key.startswith("/") or "\\" in key:
        raise StoreError(f"unsafe store key {key!r}: use a relative path with / separators")
    segments = key.split("/")
    for segment in segments:
        if segment in ("", ".", "..") or not _SEGMENT.match(segment):
            raise StoreError(f"unsafe store key {key!r}: bad segment {segment!r}")
    return key


def safe_name(name: str) -> str:
    """A user-supplied name made into one safe key segment (other characters become ``_``)."""
    cleaned = re.sub(r"[^A-Za-z0-9._+=@,-]", "_", name).strip(".") or "_"
    return cleaned[:200]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def content_key(sha256: str) -> str:
    """The content-addressed key of an object with this checksum."""
    return f"sha256/{sha256[:2]}/{sha256[2:]}"


class Store(ABC):
    """Where artifacts live. Backends implement the ``_``-less abstract methods; checks are shared."""

    @abstractmethod
    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> ObjectInfo:
        """Upload a file; return its info once it is stored and verified."""

    @abstractmethod
    def get_file(self, key: str, destination: Path) -> Path:
        """Download an object to ``destination``, verifying its checksum."""

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo | None:
        """Info of an object, or ``None`` if there is none at ``key``."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects whose keys start with ``prefix``."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object (no error if it is already gone)."""

    @abstractmethod
    def url(self, key: str, expires_seconds: int = 3600) -> str:
        """Where a browser can download the object: a presigned URL (S3) or a file URL (local)."""

    # -- shared on top of the primitives ---------------------------------------------------------
    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> ObjectInfo:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "object"
            path.write_bytes(data)
            return self.put_file(key, path, content_type)

    def get_bytes(self, key: str) -> bytes:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            return self.get_file(key, Path(folder) / "object").read_bytes()

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def put_content(self, path: Path, content_type: str = "application/octet-stream") -> ObjectInfo:
        """Store a file under its content address, uploading only if no identical object is stored."""
        key = content_key(sha256_file(path))
        existing = self.stat(key)
        return existing if existing is not None else self.put_file(key, path, content_type)

    @staticmethod
    def verify(key: str, path: Path, expected: str) -> None:
        actual = sha256_file(path)
        if actual != expected:
            path.unlink(missing_ok=True)
            raise StoreError(f"checksum mismatch for {key}: stored {expected[:12]}…, downloaded {actual[:12]}…")
