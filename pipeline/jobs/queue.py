"""The Huey queue of bedflow: SQLite in the data dir (embedded default) or Redis (shared by many machines).

One :class:`JobQueue` per queue URL and process holds the Huey instance and bedflow's one task on it, ``stage``
(one pipeline stage of one run, which enqueues the next; :func:`~pipeline.jobs.tasks.stage_task`), declared with
Huey's own retries and back-off for transient errors. The queue URL comes from the settings, so the task is
declared when the queue is made rather than at import. Workers (``bedflow worker``) run Huey's consumer on it,
and sweep for lost runs beside it (:mod:`.sweeper`); submitting only enqueues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey, TaskWrapper

from ..errors import QueueError
from ..settings import Settings
from .tasks import RETRY_BACKOFF, RETRY_DELAY, TRANSIENT_RETRIES, log, stage_task

__all__ = ["JobQueue", "QueueError", "log", "make_huey", "queue_for"]


@dataclass
class JobQueue:
    """A Huey instance with bedflow's task declared on it."""

    settings: Settings
    huey: Huey
    stage: TaskWrapper = field(init=False)

    def __post_init__(self) -> None:
        @self.huey.task(retries=TRANSIENT_RETRIES, retry_delay=RETRY_DELAY, retry_backoff=RETRY_BACKOFF, context=True,
                        name="stage")
        def stage(run_id: int, stage: str, task: Any = None) -> str:
            return stage_task(self, run_id, stage, task)

        self.stage = stage

    def enqueue_stage(self, run_id: int, stage: str) -> str:
        """Queue one stage of a run; return the Huey task id (the run records it, so
        that :func:`~pipeline.jobs.recover` can tell a waiting run from one whose message was lost)."""
        # The task is made here and its id read from it: Huey without a result store returns no result to read
        # it from.
        task = self.stage.s(run_id, stage)
        try:
            self.huey.enqueue(task)
        except Exception as error:  # redis.ConnectionError, sqlite3.OperationalError, ...
            raise QueueError(f"cannot reach the job queue {self.settings.describe()['queue']}: {error}") from error
        return str(task.id)

    def waiting_task_ids(self) -> set[str]:
        """Ids of the tasks waiting in the queue or its schedule."""
        try:
            return {t.id for t in self.huey.pending()} | {t.id for t in self.huey.scheduled()}
        except Exception as error:
            raise QueueError(f"cannot read the job queue: {error}") from error

    def revoke(self, task_id: str) -> None:
        if task_id:
            self.huey.revoke_by_id(task_id)


def make_huey(settings: Settings, immediate: bool = False) -> Huey:
    """The Huey instance ``BEDFLOW_QUEUE`` names (results are kept in the run database, not in Huey)."""
    if settings.queue_kind == "redis":
        return RedisHuey("bedflow", url=settings.queue_url, results=False, immediate=immediate)
    path = settings.queue_path
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("bedflow", filename=str(path), results=False, immediate=immediate)


_QUEUES: dict[tuple[Settings, bool], JobQueue] = {}


def queue_for(settings: Settings | None = None, immediate: bool = False) -> JobQueue:
    """The job queue of ``settings`` (default: from the environment), made once per process.

    ``immediate`` runs tasks synchronously when they are enqueued (Huey's immediate mode; unit tests only).
    """
    settings = settings or Settings.from_env()
    key = (settings, immediate)
    if key not in _QUEUES:
        _QUEUES[key] = JobQueue(settings, make_huey(settings, immediate))
    return _QUEUES[key]

