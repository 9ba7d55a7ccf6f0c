"""The database and the store checked against each other, independently of bedflow's own bookkeeping: every
artifact row's object exists, has the row's size and checksum and downloads to bytes with that checksum (and
that content address); every object is accounted for by a row."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from pipeline.db import Artifact


@dataclass
class Audit:
    rows: int = 0
    objects: int = 0
    missing: list[str] = field(default_factory=list)  # rows whose object is not in the store
    wrong: list[str] = field(default_factory=list)  # rows whose object differs from the row, or from its address
    orphans: list[str] = field(default_factory=list)  # objects no row names

    def problems(self) -> dict[str, list[str]]:
        return {"missing": self.missing, "wrong": self.wrong}


def audit(services) -> Audit:  # noqa: ANN001 - pipeline.runs.Services
    with services.db.session() as session:
        rows = [(a.id, a.key, a.size, a.sha256) for a in session.scalars(select(Artifact))]
    stored = {info.key: info for info in services.store.list()}
    found = Audit(rows=len(rows), objects=len(stored))
    with tempfile.TemporaryDirectory() as folder:
        for row_id, key, size, sha256 in rows:
            info = stored.get(key)
            if info is None:
                found.missing.append(f"artifact {row_id}: {key}")
                continue
            path = services.store.get_file(key, Path(folder) / "object")
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
            if (info.size, info.sha256) != (size, sha256) or actual != sha256 or not key.endswith(sha256[2:]):
                found.wrong.append(f"artifact {row_id}: {key} row {size} B {sha256[:12]}, stored {info.size} B "
                                   f"{info.sha256[:12]}, content {actual[:12]}")
    found.orphans = sorted(set(stored) - {key for _, key, _, _ in rows})
    return found
