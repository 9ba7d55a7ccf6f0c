"""`LocalStore`: artifacts in a folder (the embedded default, ``<data>/store``)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from .base import ObjectInfo, Store, StoreError, safe_key, sha256_file

META = ".meta"


class LocalStore(Store):
    """Objects are files under ``root``; their checksum and type sit in ``root/.meta/<key>.json``.

    Writes go to a temporary file first and are renamed into place, so a crash
    never leaves half an object behind.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _paths(self, key: str) -> tuple[Path, Path]:
        key = safe_key(key)
        return self.root / key, self.root / META / f"{key}.json"

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> ObjectInfo:
        target, meta = self._paths(key)
        checksum = sha256_file(path)
        for folder in (target.parent, meta.parent):
            folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        os.close(handle)
        try:
            shutil.copyfile(path, temporary)
            self.verify(key, Path(temporary), checksum)
            info = ObjectInfo(key, Path(temporary).stat().st_size, checksum, content_type)
            meta.write_text(json.dumps(info.__dict__))
            os.replace(temporary, target)
        finally:
            Path(temporary).unlink(missing_ok=True)
        return info

    def get_file(self, key: str, destination: Path) -> Path:
        info = self.stat(key)
        if info is None:
            raise StoreError(f"no object {key!r} in {self.root}")
        source, _ = self._paths(key)
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        self.verify(key, destination, info.sha256)
        return destination

    def stat(self, key: str) -> ObjectInfo | None:
        target, meta = self._paths(key)
        if not (target.is_file() and meta.is_file()):
            return None
        fields = json.loads(meta.read_text())
        fields.pop("modified", None)
        return ObjectInfo(**fields, modified=datetime.fromtimestamp(target.stat().st_mtime, timezone.utc))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        meta_root = self.root / META
        for meta in sorted(meta_root.rglob("*.json")):
            key = meta.relative_to(meta_root).as_posix()[: -len(".json")]
            if key.startswith(prefix) and (info := self.stat(key)) is not None:
                yield info

    def delete(self, key: str) -> None:
        target, meta = self._paths(key)
        target.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)

    def url(self, key: str, expires_seconds: int = 3600) -> str:
        target, _ = self._paths(key)
        if not target.is_file():
            raise StoreError(f"no object {key!r} in {self.root}")
        return target.as_uri()
