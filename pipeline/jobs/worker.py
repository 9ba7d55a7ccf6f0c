"""``bedflow worker``: Huey's consumer on bedflow's queue, with process workers.

Stop it with SIGINT (Ctrl-C), Huey's graceful stop: it takes no new stage, lets
the running ones finish, then exits. A worker killed outright (SIGTERM, SIGKILL,
a lost machine) leaves its runs with a stale heartbeat; the recovery sweep of
every other worker (:mod:`.sweeper`: at start, then every quarter of
``BEDFLOW_STALE_AFTER``, at most a minute) or ``bedflow recover`` re-queues them.

The worker registers in the run database and beats there every few seconds
(:mod:`.heartbeats`), whether or not it runs anything. Logs go to stderr, as JSON
lines with ``BEDFLOW_LOG_JSON=1``.
"""

from __future__ import annotations

import logging
import os

from ..logconfig import configure_logging
from ..settings import Settings
from .heartbeats import WORKER_NAME_VARIABLE, WorkerHeartbeat, host_and_pid
from .queue import queue_for
from .sweeper import RecoverySweeper

log = logging.getLogger("bedflow.jobs")

#: The consumer polls an idle SQLite queue with growing pauses up to this (Huey's default is 10 s).
MAX_POLL_DELAY = 1.0
#: Seconds between the consumer's checks that its worker processes live; a dead one (the OOM killer's
#: victim, say) is replaced at the next check (Huey's default is 10 s).
HEALTH_CHECK_SECONDS = 2.0


def run_worker(workers: int = 1, *, settings: Settings | None = None, max_delay: float = MAX_POLL_DELAY,
               sweep: bool = True, verbose: bool = False, name: str | None = None) -> None:
    """Consume bedflow's queue with ``workers`` processes until interrupted; ``name`` identifies this worker
    in the database and in the runs it executes (default ``host:pid``); ``sweep``: recover lost runs meanwhile
    (:class:`~pipeline.jobs.sweeper.RecoverySweeper`)."""
    from ..runs import open_services

    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    settings = settings or Settings.from_env()
    configure_logging(logging.DEBUG if verbose else logging.INFO)
    queue = queue_for(settings)
    name = (name or "").strip() or host_and_pid()
    os.environ[WORKER_NAME_VARIABLE] = name  # inherited by the worker processes the consumer forks
    consumer = queue.huey.create_consumer(workers=workers, worker_type="process", periodic=False,
                                          initial_delay=0.05, backoff=1.5, max_delay=max_delay,
                                          check_worker_health=True, health_check_interval=HEALTH_CHECK_SECONDS)
    with WorkerHeartbeat(open_services(settings), name, workers):
        log.info("worker %s: %d process(es) on the %s queue", name, workers, settings.queue_kind,
                 extra={"worker": name})
        if not sweep:
            consumer.run()
            return
        with RecoverySweeper(settings):
            consumer.run()
