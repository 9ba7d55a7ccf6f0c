"""``bedflow worker``: Huey's consumer on bedflow's queue, with process workers.

Stop it with SIGINT (Ctrl-C), Huey's graceful stop: it takes no new stage, lets
the running ones finish, then exits. A worker killed outright (SIGTERM, SIGKILL,
a lost machine) leaves its runs with a stale heartbeat; the periodic ``recover``
task (every minute, in any worker) or ``bedflow recover`` re-queues them.
"""

from __future__ import annotations

import logging

from ..settings import Settings
from .queue import queue_for

#: The consumer polls an idle SQLite queue with growing pauses up to this (Huey's default is 10 s).
MAX_POLL_DELAY = 1.0


def run_worker(workers: int = 1, *, settings: Settings | None = None, max_delay: float = MAX_POLL_DELAY,
               periodic: bool = True, verbose: bool = False) -> None:
    """Consume bedflow's queue with ``workers`` processes until interrupted."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    settings = settings or Settings.from_env()
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(processName)s %(name)s %(levelname)s: %(message)s")
    queue = queue_for(settings)
    consumer = queue.huey.create_consumer(workers=workers, worker_type="process", periodic=periodic,
                                          initial_delay=0.05, backoff=1.5, max_delay=max_delay,
                                          check_worker_health=True)
    consumer.run()
