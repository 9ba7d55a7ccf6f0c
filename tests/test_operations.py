"""Operating a deployment: worker heartbeats, Prometheus metrics (/metrics), JSON logs.

Real SQLite/PostgreSQL databases, real queues, real `bedflow worker` and `bedflow serve` processes.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import time
from datetime import timedelta

import pytest
from conftest import wait_for
from prometheus_client.parser import text_string_to_metric_families

from pipeline import BedSpec
from pipeline.db import RunStatus, Worker, utcnow
from pipeline.jobs import status, submit
from pipeline.jobs.heartbeats import WORKER_STALE_AFTER, WorkerHeartbeat, list_workers
from pipeline.logconfig import JsonFormatter, configure_logging
from pipeline.metrics import STAGE_BUCKETS, metrics_registry, render_metrics, stage_histograms
from pipeline.runs import create_run, open_services
from pipeline.runs.execute import update_run

TINY = {"name": "tiny", "particles": {"count": 10, "seed": 1}}


def tiny(seed: int = 1) -> BedSpec:
    return BedSpec.from_dict({**TINY, "particles": {"count": 10, "seed": seed}})


def scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page: (name, sorted labels) -> value."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def sample(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


# -- heartbeats -------------------------------------------------------------------------------------------
def test_a_worker_heartbeat_registers_beats_and_says_it_stopped(deployment):
    services = open_services()
    with WorkerHeartbeat(services, "hostA:1", processes=3, interval=0.1):
        first = list_workers(services)
        assert [(w.name, w.state, w.processes) for w in first] == [("hostA:1", "alive", 3)]
        time.sleep(0.5)
        assert list_workers(services)[0].heartbeat_at > first[0].heartbeat_at  # it keeps beating
    gone = list_workers(services)[0]
    assert gone.state == "stopped" and gone.stopped_at is not None
    with services.db.session() as session:  # a worker that died long ago without saying so
        session.add(Worker(name="hostB:2", host="hostB", pid=2, processes=1, queue="redis",
                           heartbeat_at=utcnow() - timedelta(seconds=WORKER_STALE_AFTER + 5)))
        session.add(Worker(name="hostC:3", host="hostC", pid=3, processes=1, queue="redis",
                           heartbeat_at=utcnow() - timedelta(days=3)))
    states = {w.name: w.state for w in list_workers(services)}
    assert states == {"hostA:1": "stopped", "hostB:2": "lost"}  # hostC is older than a day
    assert {w.name for w in list_workers(services, within=None)} == {"hostA:1", "hostB:2", "hostC:3"}


# -- metrics ----------------------------------------------------------------------------------------------
def test_stage_histograms_put_each_duration_in_its_bucket():
    found = stage_histograms([{"pack": 0.5, "mesh": 40.0}, {"pack": 1.0}, {"pack": 1e6}, None, {"mesh": "bad"}])
    counts, total = found["pack"]
    assert counts[0] == 2 and counts[-1] == 1 and sum(counts) == 3 and total == pytest.approx(1e6 + 1.5)
    assert found["mesh"][0][STAGE_BUCKETS.index(60.0)] == 1 and sum(found["mesh"][0]) == 1


def test_metrics_report_runs_stages_queue_and_workers(deployment):
    services = open_services()
    runs = [create_run(tiny(seed), until="pack") for seed in range(1, 6)]
    now = utcnow()
    update_run(services, runs[0], status=RunStatus.succeeded, started_at=now, finished_at=now,
               timings={"pack": 3.0, "mesh": 45.0, "solve": 700.0, "postprocess": 0.4})
    update_run(services, runs[1], status=RunStatus.succeeded, started_at=now, finished_at=now,
               timings={"pack": 7.0, "mesh": 50.0, "solve": 1000.0, "postprocess": 0.6})
    update_run(services, runs[2], status=RunStatus.failed, started_at=now, finished_at=now, timings={"pack": 2.0})
    update_run(services, runs[3], status=RunStatus.running, started_at=now, heartbeat_at=now - timedelta(hours=1))
    queued = [submit(tiny(9), until="pack"), submit(tiny(10), until="pack")]  # on the queue, no worker
    registry = metrics_registry(cache_seconds=0.0)
    with WorkerHeartbeat(services, "web-test:1", processes=2, interval=60):
        with services.db.session() as session:
            session.add(Worker(name="dead:9", host="dead", pid=9, processes=4, queue="sqlite",
                               heartbeat_at=utcnow() - timedelta(minutes=5)))
        body, content_type = render_metrics(registry)
    assert content_type.startswith("text/plain")
    samples = scrape(body.decode())

    assert sample(samples, "bedflow_runs", status="succeeded") == 2
    assert sample(samples, "bedflow_runs", status="failed") == 1
    assert sample(samples, "bedflow_runs", status="running") == 1
    assert sample(samples, "bedflow_runs", status="queued") == 1 + len(queued)
    assert sample(samples, "bedflow_runs", status="cancelled") == 0
    assert sample(samples, "bedflow_runs_stale") == 1  # the run whose heartbeat is an hour old
    assert sample(samples, "bedflow_stage_duration_seconds_count", stage="pack") == 3
    assert sample(samples, "bedflow_stage_duration_seconds_sum", stage="pack") == pytest.approx(12.0)
    assert sample(samples, "bedflow_stage_duration_seconds_bucket", stage="pack", le="5.0") == 2
    assert sample(samples, "bedflow_stage_duration_seconds_bucket", stage="solve", le="600.0") == 0
    assert sample(samples, "bedflow_stage_duration_seconds_bucket", stage="solve", le="1200.0") == 2
    assert sample(samples, "bedflow_stage_duration_seconds_bucket", stage="solve", le="+Inf") == 2
    assert sample(samples, "bedflow_queue_depth") == len(queued)
    assert sample(samples, "bedflow_workers", state="alive") == 1
    assert sample(samples, "bedflow_workers", state="lost") == 1
    assert sample(samples, "bedflow_worker_up", worker="web-test:1") == 1
    assert sample(samples, "bedflow_worker_up", worker="dead:9") == 0
    assert sample(samples, "bedflow_worker_heartbeat_age_seconds", worker="dead:9") == pytest.approx(300, abs=30)
    assert sample(samples, "bedflow_worker_processes", worker="web-test:1") == 2
    assert sample(samples, "bedflow_source_up", source="database") == 1
    assert sample(samples, "bedflow_source_up", source="queue") == 1
    assert ("process_resident_memory_bytes", ()) in samples


def test_the_stage_histogram_counts_each_finished_run_once_whatever_order_runs_finish_in(deployment):
    services = open_services()
    registry = metrics_registry(cache_seconds=0.0)
    first, second = create_run(tiny(1), until="pack"), create_run(tiny(2), until="pack")
    now = utcnow()
    update_run(services, first, status=RunStatus.running, started_at=now, timings={"pack": 1.5})
    update_run(services, second, status=RunStatus.succeeded, started_at=now, finished_at=now, timings={"pack": 3.0})

    def count() -> float:
        samples = scrape(render_metrics(registry)[0].decode())
        return samples.get(("bedflow_stage_duration_seconds_count", (("stage", "pack"),)), 0.0)

    assert count() == 1  # the running run's stage is not counted yet
    assert count() == 1  # nor the finished one twice
    update_run(services, first, status=RunStatus.succeeded, finished_at=utcnow())  # the older run finishes later
    third = create_run(tiny(3), until="pack")
    update_run(services, third, status=RunStatus.failed, started_at=now, finished_at=now, timings={"pack": 0.2})
    assert count() == 3
    samples = scrape(render_metrics(registry)[0].decode())
    assert sample(samples, "bedflow_stage_duration_seconds_sum", stage="pack") == pytest.approx(4.7)
    assert sample(samples, "bedflow_stage_duration_seconds_bucket", stage="pack", le="1.0") == 1


def test_metrics_survive_a_database_outage_and_are_cached(monkeypatch, tmp_path):
    calls = []

    def broken():
        calls.append(1)
        raise RuntimeError("database on fire")

    registry = metrics_registry(broken, cache_seconds=60.0)
    samples = scrape(render_metrics(registry)[0].decode())
    assert sample(samples, "bedflow_source_up", source="database") == 0
    assert sample(samples, "bedflow_source_up", source="queue") == 1  # the queue comes from the environment
    assert not any(name == "bedflow_runs" for name, _ in samples)
    render_metrics(registry)
    assert len(calls) == 1  # the second scrape within cache_seconds reused the first


# -- the served endpoint, JSON logs -----------------------------------------------------------------------
def test_the_server_serves_metrics_behind_an_optional_token_and_logs_json(served_app):
    run_id = create_run(tiny(), until="pack")
    app = served_app(env={"BEDFLOW_METRICS_TOKEN": "s3cret-token", "BEDFLOW_LOG_JSON": "1"})
    code, _, body = app.get("/metrics")
    assert code == 401 and b"BEDFLOW_METRICS_TOKEN" in body
    code, _, body = app.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert code == 401
    code, headers, body = app.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert code == 200 and headers["Content-Type"].startswith("text/plain")
    samples = scrape(body.decode())
    assert sample(samples, "bedflow_runs", status="queued") == 1, run_id
    assert app.get("/?page=runs")[0] == 200
    assert app.stop() == 0
    lines = [line for line in app.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any("bedflow dashboard at" in r["message"] for r in records)
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert "s3cret-token" not in app.log()


def test_json_lines_carry_extra_fields_and_exceptions():
    stream = io.StringIO()
    configure_logging(json_lines=True, stream=stream)
    try:
        logging.getLogger("bedflow.test").info("run %d: %s done", 7, "mesh",
                                               extra={"run_id": 7, "stage": "mesh", "seconds": 1.5})
        try:
            raise ValueError("bad\nmesh")
        except ValueError:
            logging.getLogger("bedflow.test").exception("stage failed")
    finally:
        configure_logging(json_lines=False)
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["message"] == "run 7: mesh done" and first["run_id"] == 7 and first["seconds"] == 1.5
    assert first["time"].endswith("Z") and first["level"] == "INFO" and first["logger"] == "bedflow.test"
    assert second["exc_type"] == "ValueError" and "Traceback" in second["traceback"] and second["exc"] == "bad\nmesh"
    assert isinstance(JsonFormatter().format(logging.makeLogRecord({"msg": "x"})), str)


def test_a_worker_logs_json_lines_registers_and_records_its_name_on_runs(deployment, workers, bedflow_cmd):
    env = {**deployment, "BEDFLOW_LOG_JSON": "1"}
    run_id = submit(tiny(), until="pack")
    proc = workers.start(env, workers=1, args=("--name", "lab-node-1"))
    wait_for(lambda: status(run_id)["status"] == "succeeded", timeout=120, what="the run")
    listed = subprocess.run([*bedflow_cmd, "workers", "--json"], env={**os.environ, **env}, capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert [(w["name"], w["state"], w["processes"]) for w in json.loads(listed.stdout)] == [("lab-node-1", "alive", 1)]
    services = open_services()
    with services.db.session() as session:
        from pipeline.db import Simulation

        assert session.get(Simulation, run_id).worker.startswith("lab-node-1/")
    workers.stop()
    assert proc.returncode == 0
    assert [w.state for w in list_workers(services)] == ["stopped"]
    records = [json.loads(line) for line in workers.log().splitlines() if line.strip()]
    done = [r for r in records if r.get("run_id") == run_id and "seconds" in r]
    assert done and done[0]["stage"] == "pack" and done[0]["worker"].startswith("lab-node-1/")
    assert any(r["logger"].startswith("huey") for r in records)  # Huey's own records are JSON too
