"""Local files written and named safely: the one checked join, temporary names renamed into place, checksums.

Names read from the database (artifact names) or from files are joined to a folder only through
:func:`safe_join`, which refuses anything that would land outside it. Downloads and extractions are
written under a temporary name and renamed into place once complete (:func:`written_atomically`,
:func:`replace_folder`), so a crash, a killed worker or a full disk never leaves half a file under its
final name; a file that exists is complete, and :func:`is_intact` checks it against its recorded SHA-256
before it is reused.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from ..errors import BedflowError

CHUNK = 1 << 20
#: The suffix of files and folders still being written (case archives leave them out).
PARTIAL = ".partial"
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class UnsafePathError(BedflowError):
    """A name (read from the database or a file) would lead outside the folder it is meant for."""


def safe_join(folder: str | Path, name: str) -> Path:
    """``folder / name``, or :class:`UnsafePathError` unless it stays inside ``folder``.

    ``name`` must be a relative ``/``-separated path without ``..`` segments, and no symbolic link
    on the way (the file itself included) may lead out of ``folder``.
    """
    base = Path(folder).resolve()
    if not isinstance(name, str) or not name.strip() or "\\" in name or "\x00" in name:
        raise UnsafePathError(f"refusing the file name {name!r}: not a plain relative name")
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise UnsafePathError(f"refusing the file name {name!r}: it leads outside {base}")
    target = base.joinpath(*relative.parts)
    if not target.resolve().is_relative_to(base) or target.resolve() == base:
        raise UnsafePathError(f"refusing the file name {name!r}: {target} is a link leading outside {base}")
    return target


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_intact(path: str | Path, sha256: str) -> bool:
    """Whether ``path`` is a file whose bytes have this SHA-256 (a half download or a changed file has not)."""
    path = Path(path)
    try:
        return path.is_file() and sha256_file(path) == sha256
    except OSError:
        return False


def temporary_name(path: Path) -> Path:
    """A fresh name next to ``path`` for what will become ``path`` (hidden, ending in :data:`PARTIAL`)."""
    return path.with_name(f".{path.name[:80]}.{secrets.token_hex(6)}{PARTIAL}")


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` says the disk (or the user's quota) is full."""
    return isinstance(error, OSError) and error.errno in _DISK_FULL


@contextmanager
def written_atomically(destination: str | Path) -> Iterator[Path]:
    """A new temporary file next to ``destination`` to write; renamed to ``destination`` when the block
    succeeds, removed when it fails. The rename replaces a file (or a link) at ``destination``; it never
    follows a link there."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_name(destination)
    os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield temporary
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def replace_folder(new: Path, folder: Path) -> Path:
    """Rename the complete folder ``new`` to ``folder`` (same parent), replacing what was there: the old folder is
    renamed aside first and removed after, so ``folder`` is at every moment either the old one, absent, or the
    new one, never half of either."""
    folder = Path(folder)
    old = None
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        old = temporary_name(folder)
        folder.rename(old)
    os.replace(new, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return folder
