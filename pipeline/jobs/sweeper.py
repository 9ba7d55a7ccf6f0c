"""The recovery sweep of a ``bedflow worker``: :func:`~pipeline.jobs.recover` from a thread of the worker's main
process, when it starts and then every :func:`sweep_interval` seconds.

The sweep is not a task on the queue: there it would wait behind every stage queued before it, and with a long
queue the runs of a dead worker would stay ``running`` until the queue drained. Every worker sweeps; of several
sweeping at once, one acts on each run (``recover`` changes a run only if nobody touched it since it was read).
The consumer forks its worker processes while this thread runs: each sweep runs :func:`between_forks`, so that
no fork copies a lock the sweep holds (Huey's SQLite storage lock, SQLite's own, an import lock) into a worker
process, which would wait on it forever.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..settings import Settings

log = logging.getLogger("bedflow.jobs")

#: The sweep runs this many times per ``BEDFLOW_STALE_AFTER``, so a lost run is re-queued at most
#: ``stale_after * (1 + 1/SWEEPS_PER_STALE_AFTER)`` seconds after its last heartbeat.
SWEEPS_PER_STALE_AFTER = 4
#: Longest pause between two sweeps (seconds).
MAX_SWEEP_INTERVAL = 60.0


_FORKS = threading.Lock()  # held by a fork of this process, and by the threads' work between forks
os.register_at_fork(before=_FORKS.acquire, after_in_parent=_FORKS.release, after_in_child=_FORKS.release)


@contextmanager
def between_forks() -> Iterator[None]:
    """Hold off any fork of this process (the consumer starting a worker process) while the block runs."""
    with _FORKS:
        yield


def sweep_interval(stale_after: float) -> float:
    """Seconds between two sweeps for this ``stale_after``: a quarter of it, at most a minute."""
    return min(MAX_SWEEP_INTERVAL, stale_after / SWEEPS_PER_STALE_AFTER)


class RecoverySweeper:
    """Runs :func:`~pipeline.jobs.recover` on entry and every ``interval`` seconds (default
    :func:`sweep_interval` of ``BEDFLOW_STALE_AFTER``) from a daemon thread, until exit. A sweep that fails (the
    database or queue unreachable) is logged once and tried again at the next interval."""

    def __init__(self, settings: Settings, interval: float | None = None) -> None:
        self.settings = settings
        self.interval = sweep_interval(settings.stale_after) if interval is None else interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bedflow-recovery-sweep", daemon=True)

    def _loop(self) -> None:
        from .control import recover

        failing = False
        while True:
            try:
                with between_forks():
                    recover(settings=self.settings)
                failing = False
            except Exception as error:  # noqa: BLE001 - sweep again later
                if not failing:
                    log.warning("recovery sweep failed (tried again every %.0f s): %s", self.interval, error)
                failing = True
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> RecoverySweeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
