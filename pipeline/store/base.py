"""The artifact store interface: one small API, thin backends (a local folder, MinIO/S3).

Keys are ``/``-separated relative paths; user-supplied parts are sanitised (no
``..``, no absolute paths, no empty segments). Every object carries its SHA-256,
checked again on download. Content-addressed keys (``sha256/ab/cdef…``) store
identical artifacts once. A download is written under a temporary name and renamed
to its destination only once its checksum is verified, so a destination that exists
is a complete, verified copy.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from ..errors import BedflowError
from .files import CHUNK, is_disk_full, sha256_file, written_atomically

_SEGMENT = re.compile(r"[A-Za-z0-9._+=@,-]+\Z")


class StoreError(BedflowError):
    """The store cannot be reached, an object is missing, or its contents do not match their checksum.

    Job workers retry a stage that raised it (see :mod:`pipeline.jobs.tasks`): it may pass.
    """


class NoSpaceError(StoreError):
    """A disk is full: the store's, or the one an object is downloaded to (a retry succeeds once space is freed)."""


def disk_error(error: OSError, what: str) -> StoreError:
    """The :class:`StoreError` that says why ``what`` (e.g. ``"download x to /y"``) failed with ``error``."""
    reason = (error.strerror or str(error)).lower()
    return (NoSpaceError if is_disk_full(error) else StoreError)(f"cannot {what}: {reason}")


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


def content_key(sha256: str) -> str:
    """The content-addressed key of an object with this checksum."""
    return f"sha256/{sha256[:2]}/{sha256[2:]}"


class HashingWriter:
    """A binary file object that passes writes on and keeps the SHA-256 and size of what went through; its
    write errors are :class:`StoreError` saying ``what`` was written (so that they are not taken for the
    store's own)."""

    def __init__(self, handle: BinaryIO, what: str = "write") -> None:
        self.handle, self.what, self.digest, self.size = handle, what, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        try:
            return self.handle.write(data)
        except OSError as error:
            raise disk_error(error, self.what) from error


class Store(ABC):
    """Where artifacts live. Backends implement the abstract methods; downloads and their checks are shared."""

    #: Where the objects are, for messages (a folder, a bucket).
    location: str = "the store"

    @abstractmethod
    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> ObjectInfo:
        """Upload a file; return its info once it is stored and verified."""

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo | None:
        """Info of an object, or ``None`` if there is none at ``key``."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects whose keys start with ``prefix``, in the order of their keys as strings (the same on every
        store: S3 servers list in byte order, SeaweedFS in its directory tree's order)."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object (no error if it is already gone)."""

    @abstractmethod
    def url(self, key: str, expires_seconds: int = 3600) -> str:
        """Where a browser can download the object: a presigned URL (S3) or a file URL (local)."""

    @abstractmethod
    def _open(self, key: str) -> BinaryIO:
        """The object's bytes as a file opened for reading, unchecked (:meth:`stream` checks them and closes it);
        :class:`StoreError` if the object is missing or the store cannot be reached, and from its ``read``."""

    # -- shared on top of the primitives ---------------------------------------------------------
    def stream(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        """The object's bytes in chunks of at most ``chunk_size``, never whole in memory (downloads, served files).
        Its checksum is computed on the way: a mismatch raises :class:`StoreError` after the last chunk, so a
        caller that forwards the chunks can still fail the transfer (and must, before declaring it complete)."""
        info = self._info(key)
        digest, size = hashlib.sha256(), 0
        handle = self._open(key)
        try:
            while chunk := handle.read(chunk_size):
                digest.update(chunk)
                size += len(chunk)
                yield chunk
        finally:
            handle.close()
        if size != info.size or digest.hexdigest() != info.sha256:
            raise StoreError(f"checksum mismatch for {key}: stored {info.sha256[:12]}… ({info.size} bytes), read "
                             f"{digest.hexdigest()[:12]}… ({size} bytes)")

    # -- shared on top of the primitives ---------------------------------------------------------
    def _info(self, key: str) -> ObjectInfo:
        info = self.stat(key)
        if info is None:
            raise StoreError(f"no object {key!r} in {self.location}")
        return info

    def _download_checked(self, key: str, sink: BinaryIO, what: str) -> None:
        writer = HashingWriter(sink, what)  # a failed write names the destination, not the store
        for chunk in self.stream(key):
            writer.write(chunk)

    def get_file(self, key: str, destination: Path) -> Path:
        """Download an object to ``destination``, verifying its checksum. It is written under a temporary name
        next to ``destination`` and renamed into place once verified: an interrupted or failed download leaves
        ``destination`` as it was. A full disk is a :class:`NoSpaceError`, other local write errors a
        :class:`StoreError`."""
        destination = Path(destination)
        what = f"download {key} to {destination}"
        try:
            with written_atomically(destination) as temporary, open(temporary, "wb") as handle:
                self._download_checked(key, handle, what)
        except OSError as error:
            raise disk_error(error, what) from error
        return destination

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> ObjectInfo:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "object"
            path.write_bytes(data)
            return self.put_file(key, path, content_type)

    def get_bytes(self, key: str) -> bytes:
        """An object's bytes, verified."""
        import io

        buffer = io.BytesIO()
        self._download_checked(key, buffer, f"read {key}")
        return buffer.getvalue()

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def put_content(self, path: Path, content_type: str = "application/octet-stream") -> ObjectInfo:
        """Store a file under its content address, uploading only if no identical object is stored."""
        key = content_key(sha256_file(path))
        existing = self.stat(key)
        return existing if existing is not None else self.put_file(key, path, content_type)
