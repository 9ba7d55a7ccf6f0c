"""What a recorded run talks to: the settings, the run database and the artifact store (one set per process)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..db import Database, open_database
from ..settings import Settings
from ..store import Store, open_store


@dataclass(frozen=True)
class Services:
    """The database and store named by one :class:`Settings`."""

    settings: Settings
    db: Database
    store: Store

    def work_dir(self, run_id: int) -> Path:
        """The local folder where a run's stages work (``<data>/work/run-<id>``): a cache, rebuilt from the
        store when missing."""
        return self.settings.data_dir / "work" / f"run-{run_id}"


_CACHE: dict[Settings, Services] = {}


def open_services(settings: Settings | None = None) -> Services:
    """The services of ``settings`` (default: from the environment), opened once per process."""
    settings = settings or Settings.from_env()
    found = _CACHE.get(settings)
    if found is None:
        found = _CACHE[settings] = Services(settings, open_database(settings), open_store(settings))
    return found
