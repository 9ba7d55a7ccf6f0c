"""`LocalStore`: artifacts in a folder (the embedded default, ``<data>/store``)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from .base import HashingWriter, ObjectInfo, Store, StoreError, disk_error, safe_key
from .files import CHUNK, sha256_file, written_atomically

META = ".meta"


class LocalStore(Store):
    """Objects are files under ``root``; their checksum and type sit in ``root/.meta/<key>.json``.

    Both are written to temporary names and renamed into place, the object first and its metadata
    last: an object exists once its metadata does, and neither is ever seen half-written, by any
    number of processes writing and reading the same key at once. A crash leaves at most a hidden
    ``*.partial`` file, which is never listed or read.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.location = str(self.root)

    def _paths(self, key: str) -> tuple[Path, Path]:
        key = safe_key(key)
        return self.root / key, self.root / META / f"{key}.json"

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> ObjectInfo:
        target, meta = self._paths(key)
        checksum = sha256_file(path)
        what = f"store {key} in {self.root}"
        try:
            with written_atomically(target) as temporary:
                with open(path, "rb") as source, open(temporary, "wb") as handle:
                    copied = HashingWriter(handle, what)
                    shutil.copyfileobj(source, copied, CHUNK)
                if copied.digest.hexdigest() != checksum:
                    raise StoreError(f"{path} changed while it was stored as {key}: not stored")
                info = ObjectInfo(key, copied.size, checksum, content_type)
            with written_atomically(meta) as temporary:
                temporary.write_text(json.dumps(info.__dict__))
        except OSError as error:
            raise disk_error(error, what) from error
        return info

    def stat(self, key: str) -> ObjectInfo | None:
        target, meta = self._paths(key)
        if not target.is_file():
            return None
        try:
            fields = json.loads(meta.read_text())
            fields.pop("modified", None)
            return ObjectInfo(**fields, modified=datetime.fromtimestamp(target.stat().st_mtime, timezone.utc))
        except FileNotFoundError:  # removed meanwhile
            return None
        except (OSError, ValueError, TypeError) as error:  # unreadable, not JSON, or not an object's fields
            raise StoreError(f"unreadable metadata of {key!r} in {self.root} ({meta}): {error}") from error

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        meta_root = self.root / META
        keys = (meta.relative_to(meta_root).as_posix()[: -len(".json")] for meta in meta_root.rglob("*.json"))
        for key in sorted(key for key in keys if key.startswith(prefix)):
            if (info := self.stat(key)) is not None:
                yield info

    def delete(self, key: str) -> None:
        target, meta = self._paths(key)
        meta.unlink(missing_ok=True)
        target.unlink(missing_ok=True)

    def _open(self, key: str) -> BinaryIO:
        source, _ = self._paths(key)
        try:
            return _LocalRead(open(source, "rb"), key, self.root)
        except FileNotFoundError:
            raise StoreError(f"no object {key!r} in {self.root} (removed while it was read)") from None
        except OSError as error:
            raise disk_error(error, f"read {key} in {self.root}") from error

    def url(self, key: str, expires_seconds: int = 3600) -> str:
        target, _ = self._paths(key)
        if not target.is_file():
            raise StoreError(f"no object {key!r} in {self.root}")
        return target.as_uri()


class _LocalRead:
    """An object's file, whose read errors are :class:`StoreError`."""

    def __init__(self, handle: BinaryIO, key: str, root: Path) -> None:
        self.handle, self.key, self.root = handle, key, root

    def read(self, size: int = -1) -> bytes:
        try:
            return self.handle.read(size)
        except OSError as error:
            raise disk_error(error, f"read {self.key} in {self.root}") from error

    def close(self) -> None:
        self.handle.close()
