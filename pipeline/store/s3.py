"""`S3Store`: artifacts in a MinIO (or any S3) bucket, through the official ``minio`` SDK."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import S3Error

from .base import ObjectInfo, Store, StoreError, safe_key
from .files import sha256_file

#: Multipart part size for large uploads (the SDK switches to multipart above it).
PART_SIZE = 16 * 1024 * 1024
SHA_HEADER = "x-amz-meta-sha256"
#: The region requests are signed for unless MINIO_REGION says otherwise: MinIO's default, and what SeaweedFS
#: and most S3-protocol servers accept.
DEFAULT_REGION = "us-east-1"


def _reason(error: Exception) -> str:
    """The innermost cause of a connection error (urllib3 nests them), on one line."""
    while getattr(error, "reason", None) is not None and isinstance(error.reason, Exception):  # type: ignore[attr-defined]
        error = error.reason  # type: ignore[attr-defined]
    return str(error).splitlines()[0]


class S3Store(Store):
    """Objects in ``bucket`` with their SHA-256 as user metadata; the bucket is created if missing."""

    def __init__(self, client: Minio, bucket: str, endpoint: str = "S3", public_url: str | None = None, *,
                 signer: Minio | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.endpoint = endpoint  # host:port, for messages
        self.public_url = public_url  # where browsers reach the server, for download links
        self.location = f"bucket {bucket!r}"
        self._signer = signer or client  # signs download links (locally: it never connects)
        self._call(lambda: self.client.bucket_exists(bucket) or self.client.make_bucket(bucket), "open bucket")

    @classmethod
    def connect(cls, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = True,
                timeout: float = 10.0, public_url: str | None = None, region: str = DEFAULT_REGION) -> "S3Store":
        """A store on ``endpoint`` (host:port), failing fast when the server is unreachable. ``public_url``
        (``http(s)://host[:port]``): the address in download links, when browsers cannot reach ``endpoint``
        (a private service name in Docker Compose or on Railway); they are signed there by a second client with
        the same keys and ``region`` (a signature covers the region, and that client never connects: this
        process may not reach the public address)."""
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=timeout, read=max(timeout, 60.0)),
                                   retries=urllib3.Retry(total=2, backoff_factor=0.2))
        client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region,
                       http_client=http)
        signer = None
        if public_url:
            public = urlsplit(public_url)
            signer = Minio(public.netloc, access_key=access_key, secret_key=secret_key,
                           secure=public.scheme == "https", region=region)
        return cls(client, bucket, endpoint, public_url, signer=signer)

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
                          result.content_type or "application/octet-stream", result.last_modified)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        objects = self._call(lambda: list(self.client.list_objects(self.bucket, prefix=prefix, recursive=True)),
                             f"list {prefix!r}")
        for name in sorted(item.object_name for item in objects):
            info = self.stat(name)
            if info is not None:
                yield info

    def delete(self, key: str) -> None:
        self._call(lambda: self.client.remove_object(self.bucket, safe_key(key)), f"delete {key}")

    def _open(self, key: str) -> BinaryIO:
        response = self._call(lambda: self.client.get_object(self.bucket, safe_key(key)), f"download {key}")
        return _Body(response)  # type: ignore[return-value] - read/close is all stream() needs

    def url(self, key: str, expires_seconds: int = 3600) -> str:
        return self._call(lambda: self._signer.presigned_get_object(self.bucket, safe_key(key),
                                                                   expires=timedelta(seconds=expires_seconds)),
                          f"presign {key}")


class _Body:
    """An S3 object's HTTP response as a readable file: ``close`` also returns its connection to the pool."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self.response = response

    def read(self, size: int = -1) -> bytes:
        try:
            return self.response.read(None if size < 0 else size)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreError(f"S3 store unreachable while reading an object: {_reason(exc)}") from None

    def close(self) -> None:
        self.response.close()
        self.response.release_conn()
