"""Faults injected into real services while a recorded run works: the database stopped, the S3 server killed,
a disk full.

After each the run ends in a clear terminal state or resumes, no half-written file is used, and no artifact
row points to a missing object. Each test starts the service it breaks (its own PostgreSQL cluster, its own
S3 server process, its own small tmpfs), so nothing shared on the machine is touched.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import wait_for
from sqlalchemy import func, select

from pipeline import BedSpec
from pipeline.db import Artifact, DatabaseError, Packing, RunStatus
from pipeline.db.records import add_artifacts, upload, upsert_bed
from pipeline.jobs import queue_for, recover
from pipeline.runs import create_run, execute, get_run, missing_artifacts, open_services, run_artifacts
from pipeline.settings import Settings
from pipeline.store import StoreError, content_key, sha256_file
from pipeline.testing import S3ServerProcess, free_port

SMALL = {"name": "faults", "particles": {"count": 40, "seed": 7}, "cfd": {"particle_reynolds": 2}}
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def small_spec(**changes) -> BedSpec:
    spec = BedSpec.from_dict(SMALL)
    return spec.updated(changes) if changes else spec


def partial_files(folder: Path) -> list[str]:
    """Files and folders still being written (or left by a write that failed) under ``folder``."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name.endswith(".partial"))


def verified_store(services) -> None:  # noqa: ANN001
    """Every artifact row's object is in the store, and what the store holds reads back verified."""
    assert missing_artifacts(services=services) == []
    for info in services.store.list():
        services.store.get_bytes(info.key)  # raises StoreError on a checksum mismatch


# -- PostgreSQL stopped mid-stage ----------------------------------------------------------------------------
class Cluster:
    """A PostgreSQL cluster of its own (Debian's initdb and pg_ctl), in a folder, on a free port."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.data, self.port = folder, folder / "data", free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        # initdb refuses to run as root: run the server's programs as the postgres user then
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self.prefix, *command], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{' '.join(command)}: {done.stdout}{done.stderr}"

    def init(self) -> "Cluster":
        self._run(str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.folder}'\n"
                       "fsync = off\n")
        return self

    def start(self) -> None:
        self._run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; ``immediate``: at once, as a crash (clients see their connections cut)."""
        self._run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


@pytest.fixture
def own_postgres() -> Iterator[Cluster]:
    """A started cluster of this test's own (stopped and removed afterwards)."""
    if not (POSTGRES_BIN / "initdb").exists():
        pytest.skip(f"{POSTGRES_BIN}/initdb is missing (apt-get install postgresql-15)")
    folder = Path(tempfile.mkdtemp(prefix="bedflow-pg-"))  # outside tmp_path: the postgres user must reach it
    cluster = Cluster(folder)
    if cluster.prefix:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
    try:
        cluster.init().start()
        yield cluster
    finally:
        subprocess.run([*cluster.prefix, str(POSTGRES_BIN / "pg_ctl"), "-D", str(cluster.data), "-m", "immediate",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def test_postgres_stopped_mid_stage_then_back_the_run_resumes(own_postgres, tmp_path):
    """The database stops (as a crash) while the pack stage runs. The stage fails with a DatabaseError naming the
    database (transient: workers retry it), it records no row, and when the database is back the run, which its
    worker could not mark, is recovered (``recover``: what every worker does each minute) and completes."""
    env = {"BEDFLOW_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": own_postgres.url}
    settings = Settings.from_env(env, dotenv=None)
    services = open_services(settings)
    run_id = create_run(small_spec(), until="pack", services=services)
    stopped: list[str] = []

    def progress(fraction: float, message: str) -> None:
        if not stopped:
            own_postgres.stop()
            stopped.append(message)

    with pytest.raises(DatabaseError) as raised:
        execute(run_id, progress=progress, services=services)
    assert stopped and f"127.0.0.1:{own_postgres.port}" in str(raised.value)
    own_postgres.start()

    run = get_run(run_id, services=services)
    assert run.status in (RunStatus.running, RunStatus.failed) and run.completed_stage == ""
    with services.db.session() as session:
        assert session.scalar(select(func.count(Packing.id))) == 0
        assert [a.name for a in session.scalars(select(Artifact))] == ["spec.bed"]
    verified_store(services)

    if run.status is RunStatus.running:  # its worker could not say it failed: its heartbeat stopped
        wait_for(lambda: [r["id"] for r in recover(stale_after=0.5, settings=settings)] == [run_id], timeout=60,
                 what="the run to be recovered")
    final = execute(run_id, services=services)
    assert final.status is RunStatus.succeeded and final.completed_stage == "pack" and final.packing_id is not None
    verified_store(services)


# -- the S3 server killed mid-upload -------------------------------------------------------------------------
def test_s3_server_killed_mid_upload_no_row_and_the_retry_works(tmp_path):
    """A stage uploads a 48 MB case archive (a multipart upload of three 16 MB parts) and records its row after; the S3
    server is killed (SIGKILL) while the parts are on their way. The upload fails with a StoreError naming the
    server, no row is recorded, no object exists under the key; the server comes back and the retried upload is
    stored, verified and recorded.

    moto's server keeps its objects in memory, so the restarted one is empty: the test creates the bucket again
    (a MinIO server keeps its buckets on disk)."""
    server = S3ServerProcess(log=tmp_path / "s3.log").start()
    try:
        env = {"BEDFLOW_DATA_DIR": str(tmp_path / "data"), "BEDFLOW_STORE": "s3://faults", **server.settings}
        services = open_services(Settings.from_env(env, dotenv=None))
        store = services.store
        archive = tmp_path / "case.tar.gz"
        archive.write_bytes(os.urandom(48 * 1024 * 1024))
        key = content_key(sha256_file(archive))
        with services.db.session() as session:
            bed_id = upsert_bed(session, small_spec()).id
        outcome: dict[str, object] = {}

        def stage() -> None:  # what a stage does: upload and verify, then record the row
            try:
                item = upload(store, "case", archive)
                with services.db.session() as session:
                    add_artifacts(session, "bed", bed_id, [item])
                outcome["stored"] = item
            except Exception as error:  # noqa: BLE001 - the test looks at it
                outcome["error"] = error

        uploading = threading.Thread(target=stage)
        uploading.start()
        wait_for(lambda: store.client._list_multipart_uploads("faults").uploads or not uploading.is_alive(),
                 timeout=60, interval=0.01, what="the multipart upload to start")
        server.kill()
        uploading.join(timeout=120)
        assert not uploading.is_alive()
        error = outcome.get("error")
        assert isinstance(error, StoreError) and server.endpoint in str(error), outcome
        with services.db.session() as session:
            assert session.scalar(select(func.count(Artifact.id))) == 0

        server.start()
        store.client.make_bucket("faults")
        assert store.stat(key) is None  # nothing half-uploaded became an object
        outcome.clear()
        stage()  # the retry
        assert "stored" in outcome, outcome
        verified_store(services)
        back = store.get_file(key, tmp_path / "back" / "case.tar.gz")
        assert sha256_file(back) == sha256_file(archive)
    finally:
        server.stop()


# -- a full disk ----------------------------------------------------------------------------------------------
@pytest.fixture
def small_disk() -> Iterator:
    """``small_disk(folder)`` mounts a 5 MB tmpfs on ``folder``; unmounted afterwards. Skipped where mounting is not
    permitted (the tests run as root here)."""
    mounted: list[Path] = []

    def mount(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", str(folder)], capture_output=True,
                              text=True, timeout=30)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def fill(folder: Path) -> Path:
    """A file taking every free byte of ``folder``'s disk."""
    filler = folder / "filler"
    handle = os.open(filler, os.O_CREAT | os.O_WRONLY)
    try:
        while True:
            os.write(handle, bytes(1 << 16))
    except OSError as error:
        assert error.errno == 28, error  # ENOSPC: the disk is full
    finally:
        os.close(handle)
    return filler


@pytest.mark.parametrize("full", ["store", "run folder"])
def test_a_full_disk_fails_the_stage_clearly_leaves_nothing_half_written_and_the_retry_succeeds(
        small_disk, tmp_path, full):
    """The pack stage on a full disk: the LocalStore's (its uploads overflow it) or the run folder's (the packing it
    fetches overflows it). The stage task reports "no space left on device" and schedules its retry; no file is
    left half-written under its final name (nor any temporary one), no row points to a missing object; once space
    is freed the retry (the same task, as the worker runs it from the queue) succeeds."""
    env = {"BEDFLOW_DATA_DIR": str(tmp_path / "data")}
    if full == "store":
        env["BEDFLOW_STORE"] = str(small_disk(tmp_path / "store"))
    settings = Settings.from_env(env, dotenv=None)
    services = open_services(settings)
    if full == "run folder":  # a first run stores the packing; the second fetches it into a full folder
        execute(create_run(small_spec(), until="pack", services=services), services=services)
    run_id = create_run(small_spec(**{"cfd.particle_reynolds": 20}), until="pack", services=services)
    disk = Path(env["BEDFLOW_STORE"]) if full == "store" else small_disk(services.work_dir(run_id))
    filler = fill(disk)

    task = queue_for(settings).stage.s(run_id, "pack")  # the stage's task, run as a worker runs it
    assert queue_for(settings).huey.execute(task) is None and task.retries == 2  # retried later by Huey
    run = get_run(run_id, services=services)
    assert run.status is RunStatus.queued and run.completed_stage == ""
    assert "no space left on device" in run.message, run.message
    assert partial_files(disk) == [] and partial_files(services.work_dir(run_id)) == []
    if full == "run folder":
        assert not (disk / "packing" / "packing.npz").exists()
    verified_store(services)

    filler.unlink()
    assert queue_for(settings).huey.execute(task, task.eta) == "succeeded"  # the retry, when due
    run = get_run(run_id, services=services)
    assert run.status is RunStatus.succeeded and run.completed_stage == "pack"
    packing = next(a for a in run_artifacts(run_id, "packing", services=services) if a.name == "packing.npz")
    assert sha256_file(services.work_dir(run_id) / "packing" / "packing.npz") == packing.sha256
    assert partial_files(disk) == []
    verified_store(services)
