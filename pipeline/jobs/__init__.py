"""Jobs: runs queued on Huey (SQLite or Redis) and executed stage by stage by ``bedflow worker`` processes.

``submit(spec)`` records a queued run and enqueues its first stage; workers run
pack → mesh → solve → postprocess, each stage a task that claims the run,
writes progress and heartbeats to the database, and queues the next.
``status``/``watch`` read the database; ``cancel`` stops a run wherever it is;
``recover`` re-queues runs whose worker died.
"""

from .control import (STATUS_KEYS, RunPermissionError, SweepRuns, cancel, check_owner, parse_sweep_values, recover,
                      resubmit, status, submit, submit_sweep, watch)
from ..runs.sweeps import sweep_name
from .queue import JobQueue, QueueError, make_huey, queue_for
from .worker import run_worker

__all__ = ["STATUS_KEYS", "JobQueue", "QueueError", "RunPermissionError", "SweepRuns", "cancel",
           "check_owner", "make_huey", "parse_sweep_values", "queue_for", "recover", "resubmit", "run_worker", "status",
           "submit", "submit_sweep", "sweep_name", "watch"]
