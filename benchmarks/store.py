"""Benchmark: what recording runs costs and what reuse saves.

Prints ratios measured in this run (absolute times on shared 2-core machines are noise):
  * reuse: pack + mesh of the CI bed (90 spheres, D/d = 5, d/10) from scratch, against a second run of
    the same bed at another flow rate on an empty work folder (packing and mesh fetched from the store);
  * case archives: gzip levels 1, 6 and 9 and a plain tar, time and size against copying the folder;
  * uploads: LocalStore and S3Store (moto's S3 server, the minio SDK) against a plain file copy, and a
    second upload of the same content (content addressing: a stat, no transfer);
  * verification on reuse: checking a 100 MB local case archive against its recorded SHA-256 before a stage
    reuses it, against copying it (and against fetching it again from a LocalStore: copy + checksum);
  * the run catalog: recording 500 runs, then a filtered query through the ORM against the same SQL by
    hand, on SQLite and (when reachable) PostgreSQL.
Run: .venv/bin/python benchmarks/store.py [verify]   (``verify``: only the verification case, seconds)
"""

from __future__ import annotations

import os
import shutil
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from pipeline import BedSpec
from pipeline.db import Database
from pipeline.db.queries import find_runs
from pipeline.db.records import new_simulation
from pipeline.runs import create_run, execute, get_run, open_services
from pipeline.settings import Settings
from pipeline.store import LocalStore, is_intact, sha256_file
from pipeline.store.archive import archive_folder
from pipeline.store.s3 import S3Store
from pipeline.testing import local_s3_server

BED = {"name": "bench-store", "bed": {"diameter": 0.025, "height": 0.04},
       "particles": {"count": 90, "diameter": 0.005, "seed": 42}, "cfd": {"particle_reynolds": 5.0}}


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def reuse(root: Path) -> Path:
    services = open_services(Settings.from_env({"BEDFLOW_DATA_DIR": str(root / "data")}, dotenv=None))
    spec = BedSpec.from_dict(BED)
    first = create_run(spec, until="mesh", services=services)
    fresh = timed(lambda: execute(first, services=services))
    case = services.work_dir(first) / "case"
    kept = root / "case"
    shutil.copytree(case, kept)
    shutil.rmtree(services.work_dir(first))
    second = create_run(spec.updated({"cfd.particle_reynolds": 20.0}), until="mesh", services=services)
    again = timed(lambda: execute(second, services=services))
    t1, t2 = get_run(first, services=services).timings, get_run(second, services=services).timings
    print(f"reuse: pack+mesh from scratch {fresh:.1f} s (pack {t1['pack']:.1f}, mesh {t1['mesh']:.1f}); "
          f"same bed, new flow rate, empty folder {again:.2f} s (pack {t2['pack']:.2f}, mesh {t2['mesh']:.2f}): "
          f"{fresh / again:.0f}x faster")
    return kept


def archives(case: Path, root: Path) -> Path:
    size = sum(p.stat().st_size for p in case.rglob("*") if p.is_file())
    copy = timed(lambda: shutil.copytree(case, root / "copied"))
    print(f"case folder: {size / 1e6:.1f} MB; copying it: {copy:.2f} s (= 1.0)")

    def plain() -> None:
        with tarfile.open(root / "plain.tar", "w") as tar:
            tar.add(case, arcname=".")

    t = timed(plain)
    print(f"  plain tar      {t / copy:5.2f}x the copy time, size {(root / 'plain.tar').stat().st_size / size:.2f}")
    chosen = root / "level6.tar.gz"
    for level in (1, 6, 9):
        target = root / f"level{level}.tar.gz"
        t = timed(lambda: archive_folder(case, target, level=level))
        print(f"  gzip level {level}   {t / copy:5.2f}x the copy time, size {target.stat().st_size / size:.3f}"
              + ("   <- used" if level == 6 else ""))
    again = root / "again.tar.gz"
    archive_folder(case, again)
    print(f"  archiving the same folder twice gives identical bytes: {again.read_bytes() == chosen.read_bytes()}")
    return chosen


def uploads(archive: Path, root: Path) -> None:
    with local_s3_server() as server:
        copy = timed(lambda: shutil.copy(archive, root / "copy.bin"))
        stores = {"LocalStore": LocalStore(root / "store"),
                  "S3Store (moto)": S3Store.connect(server.endpoint, "a", "b", "bench", secure=False)}
        print(f"upload of {archive.stat().st_size / 1e6:.1f} MB (copy {copy * 1e3:.0f} ms = 1.0):")
        for name, store in stores.items():
            first = timed(lambda: store.put_content(archive))
            second = timed(lambda: store.put_content(archive))
            back = timed(lambda: store.get_file(store.put_content(archive).key, root / "back.bin"))
            print(f"  {name:<15} put {first / copy:6.1f}x, same content again {second / copy:5.2f}x, "
                  f"get (verified) {back / copy:6.1f}x")


def verification(root: Path, megabytes: int = 100) -> None:
    """What checking a local copy before reuse costs: SHA-256 of the file against a plain copy of it."""
    archive = root / "case.tar.gz"
    with open(archive, "wb") as handle:  # incompressible, like a gzip archive
        for _ in range(megabytes):
            handle.write(os.urandom(1 << 20))
    store = LocalStore(root / "verify-store")
    key = store.put_content(archive).key
    expected = sha256_file(archive)
    best = {name: min(timed(action) for _ in range(3)) for name, action in {
        "copy": lambda: shutil.copyfile(archive, root / "copy.bin"),
        "verify": lambda: is_intact(archive, expected),
        "refetch": lambda: store.get_file(key, root / "fetched.bin"),
    }.items()}
    copy = best["copy"]
    print(f"verification on reuse, {megabytes} MB archive (files in the page cache): copy {copy * 1e3:.0f} ms = 1.0; "
          f"checksum of the local copy {best['verify'] / copy:.2f}x ({megabytes / best['verify']:.0f} MB/s); "
          f"fetching it again from a LocalStore (copy + checksum) {best['refetch'] / copy:.2f}x")


def catalog(url: str, label: str) -> None:
    database = Database(url)
    database.ensure_schema()
    spec = BedSpec.from_dict(BED)
    specs = [spec.updated({"cfd.particle_reynolds": 0.5 + k % 100}) for k in range(10)]

    def record() -> None:
        with database.session() as session:
            for k in range(500):
                new_simulation(session, specs[k % 10])

    t_record = timed(record)

    def orm() -> None:
        with database.session() as session:
            find_runs(session, bed="bench-store", ranges={"re_p": (2, 6)}, limit=100)

    def raw() -> None:
        with database.connect() as connection:
            connection.execute(text(
                "SELECT s.* FROM simulation s JOIN bed b ON b.id = s.bed_id WHERE b.name = 'bench-store' "
                "AND s.re_p >= 2 AND s.re_p <= 6 ORDER BY s.id DESC LIMIT 100")).all()

    for _ in range(3):
        orm(), raw()
    t_orm = min(timed(orm) for _ in range(20))
    t_raw = min(timed(raw) for _ in range(20))
    print(f"catalog on {label}: recording 500 runs {t_record * 2:.2f} ms/run; filtered query "
          f"ORM {t_orm * 1e3:.1f} ms vs hand SQL {t_raw * 1e3:.1f} ms: {t_orm / t_raw:.2f}x")
    database.dispose()


def postgres(root: Path) -> None:
    from pipeline.db import DatabaseError
    from pipeline.testing import scratch_postgres

    try:
        with scratch_postgres("bedflow_bench") as url:
            catalog(url, "PostgreSQL")
    except DatabaseError:
        print("catalog on PostgreSQL: not reachable at 127.0.0.1:5432, skipped")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        verification(root)
        if sys.argv[1:] == ["verify"]:
            return
        case = reuse(root)
        archive = archives(case, root)
        uploads(archive, root)
        catalog(f"sqlite:///{root / 'catalog.db'}", "SQLite")
        postgres(root)


if __name__ == "__main__":
    main()
