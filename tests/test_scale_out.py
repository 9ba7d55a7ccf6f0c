"""Scale out, shown on one machine: the deployment shape of several machines, with real services.

Two `bedflow worker` processes, each with its own data dir (as two machines have: nothing shared on disk),
share the Redis queue, the PostgreSQL database and the S3 store (moto's server, through the minio SDK).
Runs spread over both; one run solves on 2 MPI ranks inside its worker (`cfd.processes`); a web
process (`bedflow serve`, a third data dir) sees every run, every worker and every artifact.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from conftest import wait_for
from prometheus_client.parser import text_string_to_metric_families

from pipeline import BedSpec
from pipeline.db import RunStatus
from pipeline.jobs import status, submit
from pipeline.jobs.heartbeats import list_workers
from pipeline.runs import fetch_artifacts, get_run, open_services, run_artifacts

PACK_ONLY = 6
#: A small bed that solves in seconds, on two MPI ranks.
PARALLEL_CFD = {"name": "mpi-in-a-worker", "particles": {"count": 40, "seed": 3},
                "cfd": {"mesh_cells_per_diameter": 6, "surface_refinement": 0, "boundary_layers": 0,
                        "max_iterations": 80, "processes": 2}}


def test_two_workers_share_queue_database_and_store_and_the_web_process_sees_it_all(
        postgres_url, redis_url, any_s3_server, workers, served_app, bedflow_cmd, tmp_path, monkeypatch):
    shared = {**any_s3_server, "DATABASE_URL": postgres_url, "BEDFLOW_QUEUE": redis_url,
              "BEDFLOW_STORE": "s3://bedflow-scale-out"}
    for name, value in {**shared, "BEDFLOW_DATA_DIR": str(tmp_path / "submitter")}.items():
        monkeypatch.setenv(name, value)  # this test process is a third machine: it submits and reads

    cfd_run = submit(BedSpec.from_dict(PARALLEL_CFD))
    packs = [submit(BedSpec.from_dict({"name": f"pack-{i}", "particles": {"count": 12, "seed": i}}), until="pack")
             for i in range(PACK_ONLY)]
    names = ("machine-a", "machine-b")
    for name in names:
        workers.start({**shared, "BEDFLOW_DATA_DIR": str(tmp_path / name)}, workers=1, args=("--name", name))
    wait_for(lambda: {w.name for w in list_workers() if w.state == "alive"} == set(names), timeout=60,
             what="both workers to register")
    every = [cfd_run, *packs]
    wait_for(lambda: all(RunStatus(status(i)["status"]).finished for i in every), timeout=600, interval=1.0,
             what="every run to finish")
    runs = [get_run(i) for i in every]
    assert [r.status for r in runs] == [RunStatus.succeeded] * len(every), [(r.id, r.error) for r in runs]

    ran_on = {r.id: r.worker.split("/")[0] for r in runs}
    assert set(ran_on.values()) == set(names), ran_on  # both machines did work
    assert all(not (tmp_path / name / "store").exists() for name in names)  # nothing went to a local store

    # MPI inside a worker: the solver log of the parallel run has two processors and a solution
    cfd = get_run(cfd_run)
    assert cfd.processes == 2 and cfd.dp is not None and cfd.dp > 0
    logs = fetch_artifacts(cfd_run, "log", tmp_path / "logs")
    solver_log = next(p for p in logs if "simpleFoam" in p.name)
    assert "nProcs : 2" in solver_log.read_text(errors="replace")

    # the web process: another data dir, same services
    web = served_app(env={**shared, "BEDFLOW_DATA_DIR": str(tmp_path / "web")})
    code, report = web.health()
    assert code == 200 and report == {"status": "ok", "database": "ok", "store": "ok", "queue": "ok"}
    assert all(f"{name} ({kind}) ok" in web.log() for name, kind in (("database", "postgresql"), ("store", "s3"),
                                                                      ("queue", "redis")))
    code, _, body = web.get("/metrics")
    assert code == 200
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(body.decode()) for s in family.samples}
    assert samples[("bedflow_runs", (("status", "succeeded"),))] == len(every)
    assert samples[("bedflow_workers", (("state", "alive"),))] == 2
    assert {dict(labels)["worker"] for name, labels in samples if name == "bedflow_worker_up"} == set(names)
    assert samples[("bedflow_stage_duration_seconds_count", (("stage", "solve"),))] == 1

    # and its files: the web process's `bedflow fetch` downloads what machine A or B stored, byte for byte
    stl = run_artifacts(cfd_run, "stl", services=open_services())[0]
    fetched = subprocess.run([*bedflow_cmd, "fetch", str(cfd_run), "stl", "--out", str(tmp_path / "got")],
                             env={**os.environ, **shared, "BEDFLOW_DATA_DIR": str(tmp_path / "web")},
                             capture_output=True, text=True, timeout=120)
    assert fetched.returncode == 0, fetched.stderr
    got = Path(tmp_path / "got" / stl.name)
    assert hashlib.sha256(got.read_bytes()).hexdigest() == stl.sha256
    listed = subprocess.run([*bedflow_cmd, "workers", "--json"], env={**os.environ, **shared},
                            capture_output=True, text=True, timeout=60)
    assert {w["name"] for w in json.loads(listed.stdout) if w["state"] == "alive"} == set(names)
