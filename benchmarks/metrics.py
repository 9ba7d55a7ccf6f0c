"""Benchmark: what a Prometheus scrape of ``/metrics`` costs as the run history grows.

The metrics are read from the run database at each scrape (stages run in other processes and
machines), so their cost grows with the number of recorded runs. Printed as ratios measured in this
run (absolute times on shared 2-core machines are noise):
  * a scrape (:func:`pipeline.metrics.render_metrics`, cache expired) against a ``/health`` check of the
    same services (a database, store and queue round trip): the baseline every deploy platform already polls;
  * the first scrape of a new server, which reads every run's stage timings, against the later ones, which
    read only the runs finished since (the incremental stage histogram);
  * a cached scrape (within ``CACHE_SECONDS``) against an uncached one;
for 100, 1 000 and 10 000 recorded runs with stage timings, on SQLite and (when reachable) PostgreSQL.
Run: .venv/bin/python benchmarks/metrics.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert

from pipeline import BedSpec
from pipeline.db import RunStatus, Simulation, utcnow
from pipeline.db.records import spec_inputs, upsert_bed
from pipeline.health import check_health
from pipeline.metrics import metrics_registry, render_metrics
from pipeline.runs import Services, open_services
from pipeline.settings import Settings

SIZES = (100, 1_000, 10_000)
STATUSES = (RunStatus.succeeded, RunStatus.succeeded, RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled)


def median_time(action: Callable[[], object], repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def add_runs(services: Services, count: int) -> None:
    """``count`` finished runs with four stage timings, in one bulk insert."""
    spec = BedSpec.from_dict({"name": "bench-metrics"})
    now = utcnow()
    with services.db.session() as session:
        bed_id = upsert_bed(session, spec, "").id
        inputs = spec_inputs(spec)
        rows = [{**inputs, "bed_id": bed_id, "status": STATUSES[k % len(STATUSES)], "until": "solve",
                 "provenance": {}, "started_at": now, "finished_at": now,
                 "timings": {"pack": 2.0 + k % 7, "mesh": 40.0 + k % 50, "solve": 300.0 + k % 900,
                             "postprocess": 0.5}} for k in range(count)]
        session.execute(insert(Simulation), rows)


def measure(label: str, environment: dict[str, str]) -> None:
    services = open_services(Settings.from_env(environment, dotenv=None))
    uncached = metrics_registry(lambda: services, cache_seconds=0.0)
    cached = metrics_registry(lambda: services, cache_seconds=3600.0)
    recorded = 0
    for size in SIZES:
        add_runs(services, size - recorded)
        recorded = size
        render_metrics(uncached), render_metrics(cached), check_health(services)  # warm up
        scrape = median_time(lambda: render_metrics(uncached))
        cold = median_time(lambda: render_metrics(metrics_registry(lambda: services, cache_seconds=0.0)), repeat=3)
        health = median_time(lambda: check_health(services))
        hit = median_time(lambda: render_metrics(cached))
        print(f"metrics on {label}, {size:>6} runs: scrape {scrape * 1e3:6.1f} ms = {scrape / health:4.1f}x a "
              f"/health check ({health * 1e3:.1f} ms); first scrape {cold * 1e3:6.1f} ms = {cold / scrape:4.1f}x "
              f"a later one; cached {scrape / hit:4.0f}x faster")
    services.db.dispose()


def main() -> None:
    from pipeline.db import DatabaseError
    from pipeline.testing import scratch_postgres

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        measure("SQLite", {"BEDFLOW_DATA_DIR": str(root / "sqlite")})
        try:
            with scratch_postgres("bedflow_bench") as url:
                measure("PostgreSQL", {"BEDFLOW_DATA_DIR": str(root / "pg"), "DATABASE_URL": url})
        except DatabaseError:
            print("metrics on PostgreSQL: not reachable at 127.0.0.1:5432, skipped")


if __name__ == "__main__":
    main()
