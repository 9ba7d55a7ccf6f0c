"""Artifact stores: `LocalStore` (a folder, the embedded default) and `S3Store` (MinIO/S3), one interface.

``open_store(settings)`` picks the backend from ``BEDFLOW_STORE``: a folder path
(or ``file://``) or ``s3://bucket`` with the ``MINIO_*`` settings. Local files named
by database values are joined with :func:`safe_join`; downloads are renamed into place
once verified, and :func:`is_intact` checks a local copy before it is reused.
"""

from ..settings import Settings
from .base import NoSpaceError, ObjectInfo, Store, StoreError, content_key, safe_key, safe_name
from .files import UnsafePathError, is_intact, safe_join, sha256_file
from .local import LocalStore


def open_store(settings: Settings | None = None) -> Store:
    """The store the settings name."""
    settings = settings or Settings.from_env()
    if settings.store_kind == "s3":
        from .s3 import S3Store

        return S3Store.connect(settings.minio_endpoint, settings.minio_access_key, settings.minio_secret_key,  # type: ignore[arg-type]
                               settings.store_bucket, secure=settings.minio_secure,  # type: ignore[arg-type]
                               public_url=settings.minio_public_url, region=settings.minio_region)
    return LocalStore(settings.store_path)  # type: ignore[arg-type]


__all__ = ["LocalStore", "NoSpaceError", "ObjectInfo", "Store", "StoreError", "UnsafePathError", "content_key",
           "is_intact", "open_store", "safe_join", "safe_key", "safe_name", "sha256_file"]
