"""Prometheus metrics of a bedflow deployment, read from where the truth is: the run database and the queue.

``bedflow serve`` answers ``GET /metrics`` with :func:`render_metrics`. The numbers are not counted
inside the web process (stages run in workers, on other machines): each scrape reads them, in a few
cheap queries, from the database every process writes to, and from the queue:

=============================================  =========  ==================================================
``bedflow_runs{status}``                       gauge      runs per status (queued, running, succeeded, ...)
``bedflow_runs_stale``                         gauge      running runs whose heartbeat is older than
                                                          ``BEDFLOW_STALE_AFTER`` (their worker is gone)
``bedflow_stage_duration_seconds{stage}``      histogram  durations of the pack/mesh/solve/postprocess
                                                          stages of all finished runs
``bedflow_queue_depth``                        gauge      tasks waiting in the queue
``bedflow_queue_scheduled``                    gauge      tasks scheduled for later (retries)
``bedflow_workers{state}``                     gauge      registered workers: alive, lost, stopped (last day)
``bedflow_worker_up{worker}``                  gauge      1 while a worker beats, 0 once it is lost
``bedflow_worker_heartbeat_age_seconds{...}``  gauge      seconds since each worker's last heartbeat
``bedflow_worker_processes{worker}``           gauge      worker processes of each worker (its capacity)
``bedflow_source_up{source}``                  gauge      1 when the database / queue could be read
``bedflow_info{version}``                      gauge      always 1; the version as a label
=============================================  =========  ==================================================

A scrape never fails because a source is down: that source's metrics are left out and
``bedflow_source_up`` says 0. Results are cached for ``cache_seconds`` so several scrapers (or a
dashboard) cost one set of queries. The stage histogram is kept incrementally (:class:`StageDurations`):
a scrape reads the timings of the runs that finished since the last one, not the whole history.
Per-worker series cover workers seen in the last ``WORKER_WINDOW`` seconds, which keeps label
cardinality bounded.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import func, select

from .db import RunStatus, Simulation, utcnow

if TYPE_CHECKING:
    from .runs import Services

log = logging.getLogger("bedflow.metrics")

#: Upper bounds (seconds) of the stage-duration buckets: packing takes seconds, a fine solve hours.
STAGE_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0)
#: Seconds a scrape's result is reused.
CACHE_SECONDS = 5.0
#: Workers whose last heartbeat is older than this (seconds) get no per-worker series.
WORKER_WINDOW = 3600.0


def stage_histograms(timings: Iterable[dict[str, Any] | None],
                     buckets: tuple[float, ...] = STAGE_BUCKETS) -> dict[str, tuple[list[int], float]]:
    """Per stage: the count of durations in each bucket (not cumulative; the last is ``+Inf``) and their sum."""
    found: dict[str, tuple[list[int], float]] = {}
    for item in timings:
        for stage, seconds in (item or {}).items():
            try:
                value = float(seconds)
            except (TypeError, ValueError):
                continue
            counts, total = found.get(stage) or ([0] * (len(buckets) + 1), 0.0)
            counts[bisect.bisect_left(buckets, value)] += 1
            found[stage] = (counts, total + value)
    return found


class StageDurations:
    """Stage-duration histograms over all finished runs, updated incrementally.

    A finished run's timings never change, so each run is read once: a scrape reads the runs with an id
    above the highest seen so far plus those that were not finished at the last scrape (few: the queued
    and running ones), and adds those that have finished since."""

    def __init__(self, buckets: tuple[float, ...] = STAGE_BUCKETS) -> None:
        self.buckets = buckets
        self.histograms: dict[str, tuple[list[int], float]] = {}
        self.last_id = 0
        self.unfinished: set[int] = set()

    def update(self, session: Any) -> dict[str, tuple[list[int], float]]:
        """Read what is new since the last call through ``session``; return the histograms (see
        :func:`stage_histograms`)."""
        finished = [RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled]
        query = select(Simulation.id, Simulation.status, Simulation.timings).where(Simulation.id > self.last_id)
        rows = list(session.execute(query))
        waiting = sorted(self.unfinished)
        for start in range(0, len(waiting), 500):  # bounded IN lists
            rows += session.execute(select(Simulation.id, Simulation.status, Simulation.timings)
                                    .where(Simulation.id.in_(waiting[start:start + 500]))).all()
        done = []
        for run_id, status, timings in rows:
            self.last_id = max(self.last_id, run_id)
            if status in finished:
                self.unfinished.discard(run_id)
                done.append(timings)
            else:
                self.unfinished.add(run_id)
        for stage, (counts, total) in stage_histograms(done, self.buckets).items():
            old_counts, old_total = self.histograms.get(stage) or ([0] * len(counts), 0.0)
            self.histograms[stage] = ([a + b for a, b in zip(old_counts, counts)], old_total + total)
        return self.histograms


class BedflowCollector(Collector):
    """The collector behind ``/metrics``: see the module docstring. ``services`` is called at each
    (uncached) scrape, so a database that comes back is picked up."""

    def __init__(self, services: Callable[[], Services], *, cache_seconds: float = CACHE_SECONDS) -> None:
        self.services = services
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None
        self._durations: dict[str, StageDurations] = {}  # per database URL

    def collect(self) -> Iterator[Metric]:
        with self._lock:  # concurrent scrapes wait for one set of queries instead of each running them
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self.cache_seconds:
                self._cached = (now, self._gather())
            metrics = self._cached[1]
        yield from metrics

    def describe(self) -> Iterator[Metric]:
        return iter(())  # unknown until a scrape: registering must not query the database

    # -- gathering -------------------------------------------------------------------------------------
    def _gather(self) -> list[Metric]:
        from . import __version__

        metrics: list[Metric] = []
        info = GaugeMetricFamily("bedflow_info", "bedflow's version (always 1).", labels=["version"])
        info.add_metric([__version__], 1.0)
        metrics.append(info)
        up = GaugeMetricFamily("bedflow_source_up", "Whether a source of these metrics could be read.",
                               labels=["source"])
        services: Services | None = None
        try:
            services = self.services()
            metrics += self._database_metrics(services)
            up.add_metric(["database"], 1.0)
        except Exception as error:  # noqa: BLE001 - report the source as down, keep the scrape
            log.warning("metrics: cannot read the run database: %s", error)
            up.add_metric(["database"], 0.0)
        try:
            metrics += self._queue_metrics(services)
            up.add_metric(["queue"], 1.0)
        except Exception as error:  # noqa: BLE001
            log.warning("metrics: cannot read the queue: %s", error)
            up.add_metric(["queue"], 0.0)
        metrics.append(up)
        return metrics

    def _database_metrics(self, services: Services) -> list[Metric]:
        from .jobs.heartbeats import list_workers
        now = utcnow()
        stale_after = services.settings.stale_after
        with services.db.session() as session:
            by_status = {status: count for status, count in
                         session.execute(select(Simulation.status, func.count()).group_by(Simulation.status))}
            stale = session.scalar(select(func.count()).select_from(Simulation).where(
                Simulation.status == RunStatus.running,
                Simulation.heartbeat_at < now - timedelta(seconds=stale_after))) or 0
            histograms = self._durations.setdefault(services.db.url, StageDurations()).update(session)

        runs = GaugeMetricFamily("bedflow_runs", "Runs per status.", labels=["status"])
        for status in RunStatus:
            runs.add_metric([status.value], float(by_status.get(status, 0)))
        stale_runs = GaugeMetricFamily("bedflow_runs_stale", "Running runs whose heartbeat is older than "
                                       f"{stale_after:g} s (their worker is gone; `bedflow recover`).",
                                       value=float(stale))

        durations = HistogramMetricFamily("bedflow_stage_duration_seconds",
                                          "Durations of completed pipeline stages.", labels=["stage"])
        for stage, (counts, total) in sorted(histograms.items()):
            cumulative, running = [], 0
            for bound, count in zip((*STAGE_BUCKETS, float("inf")), counts):
                running += count
                cumulative.append((floatToGoString(bound), float(running)))  # "5.0", "+Inf" as Prometheus writes them
            durations.add_metric([stage], cumulative, total)

        states = {"alive": 0, "lost": 0, "stopped": 0}
        worker_up = GaugeMetricFamily("bedflow_worker_up", "1 while a worker sends heartbeats, 0 once lost.",
                                      labels=["worker"])
        ages = GaugeMetricFamily("bedflow_worker_heartbeat_age_seconds", "Seconds since a worker's last heartbeat.",
                                 labels=["worker"])
        capacity = GaugeMetricFamily("bedflow_worker_processes", "Worker processes (stages at once) of a worker.",
                                     labels=["worker"])
        for worker in list_workers(services, within=24 * 3600.0):
            states[worker.state] += 1
            if worker.state != "stopped" and worker.age <= WORKER_WINDOW:
                worker_up.add_metric([worker.name], 1.0 if worker.state == "alive" else 0.0)
                ages.add_metric([worker.name], worker.age)
                capacity.add_metric([worker.name], float(worker.processes))
        worker_states = GaugeMetricFamily("bedflow_workers", "Workers seen in the last day, per state.",
                                          labels=["state"])
        for state, count in states.items():
            worker_states.add_metric([state], float(count))
        return [runs, stale_runs, durations, worker_states, worker_up, ages, capacity]

    def _queue_metrics(self, services: Services | None) -> list[Metric]:
        from .jobs import queue_for
        from .settings import Settings

        huey = queue_for(services.settings if services is not None else Settings.from_env()).huey
        return [GaugeMetricFamily("bedflow_queue_depth", "Tasks waiting in the queue.",
                                  value=float(huey.pending_count())),
                GaugeMetricFamily("bedflow_queue_scheduled", "Tasks scheduled for later (retries with a delay).",
                                  value=float(huey.scheduled_count()))]


def metrics_registry(services: Callable[[], Services] | None = None, *,
                     cache_seconds: float = CACHE_SECONDS) -> CollectorRegistry:
    """A registry holding a :class:`BedflowCollector` (``services`` defaults to :func:`open_services` of the
    environment's settings) and this process's own metrics (CPU, memory, open files)."""
    from prometheus_client import ProcessCollector

    if services is None:
        from .runs import open_services

        services = open_services
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BedflowCollector(services, cache_seconds=cache_seconds))
    ProcessCollector(registry=registry)
    return registry


def render_metrics(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The Prometheus text exposition of ``registry`` and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
