"""Folders as single compressed archives: reproducible ``.tar.gz`` (same files → same bytes → stored once).

Entries are sorted, owned by nobody and dated 0, and the gzip header carries
no time, so archiving an unchanged case twice gives the same checksum.
Extraction refuses links and paths leaving the target (tarfile's ``data`` filter),
and unpacks into a temporary folder renamed into place once complete: an
interrupted extraction (a crash, a full disk) never leaves half a folder under
the target's name.
"""

from __future__ import annotations

import gzip
import shutil
import tarfile
from collections.abc import Iterable
from fnmatch import fnmatch
from pathlib import Path

from .base import StoreError, disk_error
from .files import replace_folder, temporary_name, written_atomically


def _excluded(relative: str, exclude: Iterable[str]) -> bool:
    top = relative.split("/", 1)[0]
    return any(fnmatch(relative, pattern) or fnmatch(top, pattern) for pattern in exclude)


def archive_folder(folder: Path, destination: Path, exclude: Iterable[str] = (), level: int = 6) -> Path:
    """Write ``folder``'s files (not those matching ``exclude``, by path or top-level name) to ``destination``."""
    folder, destination = Path(folder), Path(destination)
    patterns = tuple(exclude)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                   and not _excluded(p.relative_to(folder).as_posix(), patterns))
    with written_atomically(destination) as partial, open(partial, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=level, mtime=0) as zipped, \
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            info = tar.gettarinfo(str(path), arcname=path.relative_to(folder).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            info.mode = 0o755 if path.stat().st_mode & 0o100 else 0o644
            with open(path, "rb") as handle:
                tar.addfile(info, handle)
    return destination


def extract_archive(archive: Path, folder: Path) -> Path:
    """Unpack an archive written by :func:`archive_folder` as ``folder``, replacing what was there once the
    whole archive is unpacked (:func:`~pipeline.store.files.replace_folder`); :class:`StoreError` (a
    :class:`~pipeline.store.NoSpaceError` for a full disk) if it cannot be, with ``folder`` left as it was."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = temporary_name(folder)
    try:
        scratch.mkdir()
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(scratch, filter="data")
        return replace_folder(scratch, folder)
    except OSError as error:
        raise disk_error(error, f"unpack {archive} into {folder}") from error
    except (tarfile.TarError, EOFError) as error:
        raise StoreError(f"cannot unpack {archive}: {error}") from error
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def archive_names(archive: Path) -> list[str]:
    with tarfile.open(archive, "r:gz") as tar:
        return tar.getnames()
