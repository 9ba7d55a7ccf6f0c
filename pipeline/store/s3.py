"""`S3Store`: artifacts in a MinIO (or any S3) bucket, through the official ``minio`` SDK."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import urllib3
from minio import Minio
from minio.error import S3Error

from .base import ObjectInfo, Store, StoreError, safe_key, sha256_file

#: Multipart part size for large uploads (the SDK switches to multipart above it).
PART_SIZE = 16 * 1024 * 1024
SHA_HEADER = "x-amz-meta-sha256"


def _reason(error: Exception) -> str:
    """The innermost cause of a connection error (urllib3 nests them), on one line."""
    while getattr(error, "reason", None) is not None and isinstance(error.reason, Exception):  # type: ignore[attr-defined]
        error = error.reason  # type: ignore[attr-defined]
    return str(error).splitlines()[0]


class S3Store(Store):
    """Objects in ``bucket`` with their SHA-256 as user metadata; the bucket is created if missing."""

    def __init__(self, client: Minio, bucket: str, endpoint: str = "S3") -> None:
        self.client = client
        self.bucket = bucket
        self.endpoint = endpoint  # host:port, for messages
        self._call(lambda: self.client.bucket_exists(bucket) or self.client.make_bucket(bucket), "open bucket")

    @classmethod
    def connect(cls, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = True,
                timeout: float = 10.0) -> "S3Store":
        """A store on ``endpoint`` (host:port), failing fast when the server is unreachable."""
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=timeout, read=max(timeout, 60.0)),
                                   retries=urllib3.Retry(total=2, backoff_factor=0.2))
        client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, http_client=http)
        return cls(client, bucket, endpoint)

    def _call(self, action, what: str):  # noqa: ANN001, ANN202 - a thunk and whatever it returns
        try:
            return action()
        except S3Error as exc:
            raise StoreError(f"S3 {what} failed in bucket {self.bucket!r}: {exc.code}: {exc.message}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreError(f"S3 store at {self.endpoint} unreachable ({what}, bucket {self.bucket!r}): "
                             f"{_reason(exc)}") from None

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> ObjectInfo:
        key = safe_key(key)
        checksum = sha256_file(path)
        self._call(lambda: self.client.fput_object(self.bucket, key, str(path), content_type=content_type,
                                                   metadata={"sha256": checksum}, part_size=PART_SIZE), f"upload {key}")
        info = self.stat(key)
        if info is None or info.sha256 != checksum or info.size != Path(path).stat().st_size:
            raise StoreError(f"upload of {key} did not verify (stored {info})")
        return info

    def get_file(self, key: str, destination: Path) -> Path:
        info = self.stat(key)
        if info is None:
            raise StoreError(f"no object {key!r} in bucket {self.bucket!r}")
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        self._call(lambda: self.client.fget_object(self.bucket, safe_key(key), str(destination)), f"download {key}")
        self.verify(key, destination, info.sha256)
        return destination

    def stat(self, key: str) -> ObjectInfo | None:
        key = safe_key(key)
        try:
            result = self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return None
            raise StoreError(f"S3 stat failed for {key}: {exc.code}: {exc.message}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreError(f"S3 store at {self.endpoint} unreachable (stat {key}): {_reason(exc)}") from None
        metadata = {k.lower(): v for k, v in (result.metadata or {}).items()}
        return ObjectInfo(key, int(result.size or 0), metadata.get(SHA_HEADER, ""),
                          result.content_type or "application/octet-stream")

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        objects = self._call(lambda: list(self.client.list_objects(self.bucket, prefix=prefix, recursive=True)),
                             f"list {prefix!r}")
        for item in objects:
            info = self.stat(item.object_name)
            if info is not None:
                yield info

    def delete(self, key: str) -> None:
        self._call(lambda: self.client.remove_object(self.bucket, safe_key(key)), f"delete {key}")

    def url(self, key: str, expires_seconds: int = 3600) -> str:
        return self._call(lambda: self.client.presigned_get_object(self.bucket, safe_key(key),
                                                                   expires=timedelta(seconds=expires_seconds)),
                          f"presign {key}")
