"""Workers' signs of life: every ``bedflow worker`` registers in the run database and beats there.

A run's own heartbeat (``Simulation.heartbeat_at``) says whether *that run* is alive; these
heartbeats say which *workers* are: an idle worker is alive too, and a dead one shows up even when
it held no run. ``/metrics`` exports them, ``bedflow workers`` lists them, ``bedflow doctor`` checks
that some worker is alive.

Each worker is named ``host:pid`` of its consumer (or ``bedflow worker --name``); its worker
processes inherit the name through :data:`WORKER_NAME_VARIABLE`, so a run records
``<worker name>/<process id>`` as the worker that ran it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from ..db import Worker, utcnow
from ..runs.execute import WORKER_NAME_VARIABLE, host_and_pid
from .sweeper import between_forks

if TYPE_CHECKING:
    from ..runs import Services

log = logging.getLogger("bedflow.jobs")

#: Seconds between two heartbeats of a worker.
WORKER_HEARTBEAT_SECONDS = 5.0
#: A worker that did not beat for this long (seconds) and never said it stopped is presumed dead.
WORKER_STALE_AFTER = 30.0

__all__ = ["WORKER_HEARTBEAT_SECONDS", "WORKER_NAME_VARIABLE", "WORKER_STALE_AFTER", "WorkerHeartbeat", "WorkerInfo",
           "describe_workers", "host_and_pid", "list_workers", "worker_state"]


def worker_state(stopped: bool, age: float) -> str:
    """``stopped`` (it said so), ``alive`` (beat within :data:`WORKER_STALE_AFTER` s) or ``lost``."""
    if stopped:
        return "stopped"
    return "alive" if age <= WORKER_STALE_AFTER else "lost"


@dataclass(frozen=True)
class WorkerInfo:
    """One registered worker as :func:`list_workers` reports it."""

    name: str
    host: str
    pid: int
    processes: int
    queue: str
    version: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    age: float  # seconds since the last heartbeat

    @property
    def state(self) -> str:
        """``alive`` (beating), ``stopped`` (stopped gracefully) or ``lost`` (stopped beating)."""
        return worker_state(self.stopped_at is not None, self.age)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "state": self.state, "host": self.host, "pid": self.pid,
                "processes": self.processes, "queue": self.queue, "version": self.version,
                "started_at": self.started_at.isoformat(), "heartbeat_at": self.heartbeat_at.isoformat(),
                "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None, "age": round(self.age, 3)}


def list_workers(services: Services | None = None, *, within: float | None = 24 * 3600.0) -> list[WorkerInfo]:
    """The workers registered in the database, newest first; ``within`` (seconds): only those that beat or
    stopped that recently (``None``: all of them, however old)."""
    from ..runs import open_services

    found = services or open_services()
    now = utcnow()
    query = select(Worker).order_by(Worker.started_at.desc(), Worker.name)
    if within is not None:
        query = query.where(Worker.heartbeat_at >= now - timedelta(seconds=within))
    with found.db.session() as session:
        rows = session.scalars(query).all()
        return [WorkerInfo(row.name, row.host, row.pid, row.processes, row.queue, row.version, row.started_at,
                           row.heartbeat_at, row.stopped_at, max(0.0, (now - row.heartbeat_at).total_seconds()))
                for row in rows]


def describe_workers(services: Services | None = None) -> str:
    """One line on the workers, for people: how many are alive with how many processes, or that none is
    (then queued runs wait)."""
    alive = [w for w in list_workers(services, within=WORKER_STALE_AFTER * 4) if w.state == "alive"]
    if not alive:
        return "no worker alive: queued runs wait for one (`bedflow worker`)"
    processes = sum(w.processes for w in alive)
    return (f"{len(alive)} worker{'s' * (len(alive) != 1)} alive, {processes} process{'es' * (processes != 1)}")


class WorkerHeartbeat:
    """Registers a worker on entry, beats every ``interval`` seconds from a daemon thread, and marks it
    stopped on exit. A database outage only skips beats (logged): the worker keeps working."""

    def __init__(self, services: Services, name: str, processes: int, *,
                 interval: float = WORKER_HEARTBEAT_SECONDS) -> None:
        self.services, self.name, self.processes, self.interval = services, name, processes, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self) -> None:
        from .. import __version__

        now = utcnow()
        with self.services.db.session() as session:
            session.merge(Worker(name=self.name, host=socket.gethostname(), pid=os.getpid(),
                                 processes=self.processes, queue=self.services.settings.queue_kind,
                                 version=__version__, started_at=now, heartbeat_at=now, stopped_at=None))

    def beat(self) -> None:
        """Refresh the heartbeat (registering again if the row went away)."""
        with self.services.db.session() as session:
            updated = session.execute(update(Worker).where(Worker.name == self.name)
                                      .values(heartbeat_at=utcnow(), stopped_at=None)).rowcount
        if not updated:
            self.register()

    def _loop(self) -> None:
        failing = False
        while not self._stop.wait(self.interval):
            try:
                with between_forks():  # the consumer forks worker processes meanwhile
                    self.beat()
                if failing:
                    log.info("worker %s: heartbeats reach the database again", self.name)
                failing = False
            except Exception as error:  # noqa: BLE001 - beat again later
                if not failing:
                    log.warning("worker %s: cannot record its heartbeat: %s", self.name, error)
                failing = True

    def __enter__(self) -> WorkerHeartbeat:
        self.register()
        self._thread = threading.Thread(target=self._loop, name="bedflow-worker-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
        try:
            with self.services.db.session() as session:
                now = utcnow()
                session.execute(update(Worker).where(Worker.name == self.name)
                                .values(heartbeat_at=now, stopped_at=now))
        except Exception as error:  # noqa: BLE001 - it will show as lost instead of stopped
            log.warning("worker %s: cannot record that it stopped: %s", self.name, error)
