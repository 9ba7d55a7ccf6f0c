"""A worker SIGKILLed while it uploads, and while it writes to the database, on the real services (Redis,
PostgreSQL, moto's S3 server); another worker finishes the run.

Nothing in bedflow knows it is tested: a TCP proxy (``holding_proxy``) sits in front of the S3 server or of
PostgreSQL for the doomed worker only and stops one request in its tracks, so the worker is provably blocked
inside that call when the test SIGKILLs it (its process group: consumer and worker process). The run is then
recovered (``recover`` with a short ``stale_after``) and a second worker, on another "machine" (its own data dir)
and reaching the services directly, finishes it. Afterwards: the run succeeded, its stage completed once, every
artifact row's object exists and verifies, and the only object no row accounts for is the one the dead worker
uploaded before it could record it, which ``collect_orphans`` (``bedflow store gc``) removes.
"""

from __future__ import annotations

import re
import signal
import time
import uuid
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

import pytest
from conftest import wait_for
from holding_proxy import HoldingProxy
from sqlalchemy import select
from store_audit import audit

from pipeline import BedSpec
from pipeline.db import Packing, RunStatus, utcnow
from pipeline.db.records import collect_orphans
from pipeline.jobs import recover, submit, watch
from pipeline.runs import get_run, open_services, run_artifacts

TINY = {"name": "doomed", "particles": {"count": 10, "seed": 5}}


@pytest.fixture
def services_behind_proxies(postgres_url, redis_url, s3_server, tmp_path, monkeypatch):
    """``(direct, proxied, proxies)``: the environment of this test and of the rescuing worker; that of the doomed
    worker, whose S3 and PostgreSQL traffic goes through the proxies ``{"s3": ..., "postgresql": ...}``."""
    bucket = f"bedflow-kills-{uuid.uuid4().hex[:8]}"
    shared = {**s3_server, "DATABASE_URL": postgres_url, "BEDFLOW_QUEUE": redis_url, "BEDFLOW_STORE": f"s3://{bucket}"}
    for name, value in {**shared, "BEDFLOW_DATA_DIR": str(tmp_path / "submitter")}.items():
        monkeypatch.setenv(name, value)
    direct = {**shared, "BEDFLOW_DATA_DIR": str(tmp_path / "rescuer")}
    s3_host, s3_port = s3_server["MINIO_ENDPOINT"].split(":")
    database = urlsplit(postgres_url)
    proxies = {"s3": HoldingProxy(s3_host, int(s3_port)),
               "postgresql": HoldingProxy(database.hostname, database.port or 5432)}
    proxied = {**shared, "BEDFLOW_DATA_DIR": str(tmp_path / "doomed"), "MINIO_ENDPOINT": proxies["s3"].endpoint,
               "DATABASE_URL": urlunsplit(database._replace(netloc=f"{database.username}@{proxies['postgresql'].endpoint}"))}
    yield direct, proxied, proxies, bucket
    for proxy in proxies.values():
        proxy.close()


#: Where the doomed worker is stopped: the proxy, what it waits for (all in one chunk), and how it holds it. The
#: pack stage uploads the geometry (STL files, geometry.json), then packing.npz, then records the packing row with
#: its artifact row (one transaction), then the run's geometry rows and packing_id (another), then marks the stage
#: completed.
HOLDS = {
    # the PUT of packing.npz (the one octet-stream object), its geometry already uploaded: a request cut halfway
    "upload": ("s3", lambda bucket: dict(pattern=(f"PUT /{bucket}/sha256/".encode(), b"application/octet-stream"),
                                         forward=4096)),
    # everything uploaded, the packing's row inserted, its artifact row's INSERT never reaching the server: a
    # transaction left open (rolled back when the worker dies), packing.npz an orphan (its timings differ from
    # the one the next worker packs)
    "insert": ("postgresql", lambda bucket: dict(pattern=(b"INSERT INTO artifact",))),
    # the run's rows (geometry artifacts, packing_id) committed, the worker never told
    "commit": ("postgresql", lambda bucket: dict(pattern=(b"INSERT INTO artifact",), skip=1, then=b"COMMIT",
                                                 reply=False)),
    # the stage marked completed, the worker never told: it dies before finishing the run
    "completed": ("postgresql", lambda bucket: dict(pattern=(b"UPDATE simulation SET", b"completed_stage='pack'"),
                                                    then=b"COMMIT", reply=False)),
}


@pytest.mark.parametrize("where", list(HOLDS))
def test_a_worker_killed_inside_an_upload_or_a_database_write_loses_nothing(where, services_behind_proxies, workers):
    direct, proxied, proxies, bucket = services_behind_proxies
    service, hold = HOLDS[where]
    options = hold(bucket)
    held = proxies[service].hold(*options.pop("pattern"), **options)
    run_id = submit(BedSpec.from_dict(TINY), until="pack")
    doomed = workers.start(proxied, args=("--name", "doomed"))
    assert held.wait(timeout=180), f"the worker never reached the {where} ({workers.log(0)[-3000:]})"
    caught = get_run(run_id)
    assert caught.status is RunStatus.running and caught.worker.startswith("doomed/") and caught.stage == "pack"
    workers.kill(doomed)
    doomed.wait(timeout=30)

    wait_for(lambda: (utcnow() - get_run(run_id).heartbeat_at).total_seconds() > 2, timeout=30,
             what="the dead worker's heartbeat to go stale")
    actions = recover(stale_after=2)
    assert [{k: a[k] for k in ("id", "action", "stage", "attempts")} for a in actions] == [
        {"id": run_id, "action": "requeued", "attempts": 2, "stage": "done" if where == "completed" else "pack"}]
    workers.start(direct, args=("--name", "rescuer"))
    final = list(watch(run_id, timeout=180))[-1]
    assert final["status"] == "succeeded" and final["attempts"] == 2, final

    run = get_run(run_id)
    found = open_services()
    logs = workers.log(0) + workers.log(1)
    assert Counter(re.findall(rf"run {run_id}: (pack \w+)", logs)) == (
        {"pack started": 1} if where == "completed" else {"pack started": 2, "pack done": 1})  # packed once
    with found.db.session() as session:
        packings = list(session.scalars(select(Packing)))
    assert [p.id for p in packings] == [run.packing_id]  # one packing row, the run's
    assert {a.kind for a in run_artifacts(run_id)} == {"bed", "stl", "packing"}
    checked = audit(found)
    print(f"\n{where}: {checked.rows} rows, {checked.objects} objects, orphans {checked.orphans}")
    assert checked.problems() == {"missing": [], "wrong": []}
    # the orphans: objects the dead worker uploaded that its successor did not make byte for byte again (packing.npz
    # keeps its timings), never recorded
    assert set(checked.orphans) <= {path.split("/", 2)[2] for path in proxies["s3"].puts}, checked.orphans
    assert len(checked.orphans) == 1 if where == "insert" else len(checked.orphans) <= 1, checked.orphans
    assert collect_orphans(found.db, found.store, older_than=3600) == []  # too young to be judged
    assert [o.key for o in collect_orphans(found.db, found.store, older_than=0)] == checked.orphans
    assert audit(found).orphans == [] and audit(found).problems() == {"missing": [], "wrong": []}


def test_a_frozen_worker_whose_run_was_taken_over_leaves_it_alone(services_behind_proxies, workers):
    """SIGSTOP (a frozen VM, a long network partition) instead of SIGKILL: the worker is silent past ``stale_after``
    in the middle of its upload, its run is recovered and finished by another worker; then it wakes up, its upload
    goes through, and it must notice that the run is no longer its own instead of finishing it a second time."""
    direct, proxied, proxies, bucket = services_behind_proxies
    held = proxies["s3"].hold(f"PUT /{bucket}/sha256/".encode(), b"application/octet-stream", forward=4096)
    run_id = submit(BedSpec.from_dict(TINY), until="pack")
    frozen = workers.start(proxied, args=("--name", "frozen"))
    assert held.wait(timeout=180), f"the worker never reached the upload ({workers.log(0)[-3000:]})"
    workers.kill(frozen, signal.SIGSTOP)
    try:
        wait_for(lambda: (utcnow() - get_run(run_id).heartbeat_at).total_seconds() > 2, timeout=30,
                 what="the frozen worker's heartbeat to go stale")
        assert recover(stale_after=2)[0]["action"] == "requeued"
        workers.start(direct, args=("--name", "rescuer"))
        assert list(watch(run_id, timeout=180))[-1]["status"] == "succeeded"
        done = get_run(run_id)
        proxies["s3"].release()  # its upload is retried and goes through once it wakes up
    finally:
        workers.kill(frozen, signal.SIGCONT)
    wait_for(lambda: re.search(rf"run {run_id}: pack (done|taken over)", workers.log(0)), timeout=120,
             what="the woken worker to get past its upload")
    time.sleep(3)  # what it would do next: finish the run, record its stage
    after = get_run(run_id)
    assert "taken over" in workers.log(0) and f"run {run_id}: pack done" not in workers.log(0), workers.log(0)[-3000:]
    assert (after.status, after.worker, after.finished_at, after.attempts, after.completed_stage) == (
        RunStatus.succeeded, done.worker, done.finished_at, 2, "pack")
    found = open_services()
    checked = audit(found)
    assert checked.problems() == {"missing": [], "wrong": []}
    print(f"\nfrozen: orphans {checked.orphans}")
    assert set(checked.orphans) <= {path.split("/", 2)[2] for path in proxies["s3"].puts}  # what the frozen one uploaded
    collect_orphans(found.db, found.store, older_than=0)
    assert audit(found).orphans == [] and audit(found).problems() == {"missing": [], "wrong": []}
