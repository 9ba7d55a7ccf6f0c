"""Is this deployment working? A quick real round trip to the run database, the artifact store and the job queue.

:func:`check_health` is what ``GET /health`` of ``bedflow serve`` answers (HTTP 200 when
``status`` is ``"ok"``, else 503); ``bedflow doctor`` and the metrics endpoint reuse it::

    {"status": "ok",                      # or "degraded" when any check failed
     "seconds": 0.012,                    # wall time of the whole check
     "database": {"ok": true, "latency_ms": 0.4, "error": "", "kind": "sqlite"},
     "store":    {"ok": true, "latency_ms": 1.9, "error": "", "kind": "local"},
     "queue":    {"ok": true, "latency_ms": 0.3, "error": "", "kind": "sqlite"}}

The checks run in parallel, each in its own daemon thread bounded by ``timeout`` seconds, so a
hung server costs at most ``timeout`` and never blocks the caller for longer. Nothing raises:
every failure (unreachable server, bad settings, a timeout) becomes ``ok: false`` with the
error message, which never contains a password (URLs are redacted by the layers below).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runs import Services
    from .settings import Settings

#: Seconds one check may take before it counts as failed.
DEFAULT_TIMEOUT = 3.0
#: The checks, in report order.
CHECKS = ("database", "store", "queue")
#: Prefix of the store keys the store check writes (and deletes again).
PROBE_PREFIX = "health/probe"


def _describe(error: BaseException) -> str:
    """The error on one line (multi-line messages joined), at most 500 characters."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return (text[:497] + "...") if len(text) > 500 else (text or type(error).__name__)


def _run(check: Callable[[], None], into: dict[str, Any], done: threading.Event) -> None:
    started = time.perf_counter()
    try:
        check()
        into["error"] = ""
    except BaseException as error:  # noqa: BLE001 - a health check reports every failure, never raises
        into["error"] = _describe(error)
    into["latency_ms"] = round((time.perf_counter() - started) * 1000.0, 3)
    into["ok"] = not into["error"]
    done.set()


def probe_key() -> str:
    """The store key of this process's probe object (one per host and process: replicas never collide)."""
    return f"{PROBE_PREFIX}-{socket.gethostname()}-{os.getpid()}"


def _check_database(services: Services | None, settings: Settings) -> Callable[[], None]:
    def check() -> None:
        from .db import open_database

        database = services.db if services is not None else open_database(settings)
        database.ping()

    return check


def _check_store(services: Services | None, settings: Settings) -> Callable[[], None]:
    def check() -> None:
        from .runs import open_services
        from .store import StoreError, open_store

        if services is not None:
            store = services.store
        else:
            try:
                store = open_services(settings).store  # cached per process once it opens
            except Exception:  # noqa: BLE001 - the database may be the one failing: open the store alone
                store = open_store(settings)
        key, data = probe_key(), f"bedflow health probe {uuid.uuid4().hex}".encode()
        try:
            store.put_bytes(key, data, content_type="text/plain")
            info = store.stat(key)
            if info is None or info.size != len(data):
                raise StoreError(f"the probe object {key!r} was written but its stat says {info}")
            if store.get_bytes(key) != data:
                raise StoreError(f"the probe object {key!r} read back different bytes")
        finally:
            try:
                store.delete(key)
            except Exception:  # noqa: BLE001, S110 - the failure that matters is already on its way
                pass

    return check


def _check_queue(settings: Settings) -> Callable[[], None]:
    def check() -> None:
        from .jobs import queue_for

        queue_for(settings).huey.pending_count()

    return check


def _failed(error: BaseException) -> dict[str, Any]:
    return {"ok": False, "latency_ms": 0.0, "error": _describe(error)}


def check_health(services: Services | None = None, *, settings: Settings | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Check the database, the store and the queue of ``services`` (default: those of ``settings``, default:
    the environment); return the report described in the module docstring. Never raises."""
    started = time.perf_counter()
    try:
        if services is not None:
            settings = services.settings
        elif settings is None:
            from .settings import Settings

            settings = Settings.from_env()
    except Exception as error:  # noqa: BLE001 - e.g. SettingsError: every check fails with its message
        failure = _failed(error)
        return {"status": "degraded", "seconds": round(time.perf_counter() - started, 4),
                **{name: {**failure, "kind": ""} for name in CHECKS}}

    kinds = {"database": settings.database_url.split(":", 1)[0].split("+", 1)[0],
             "store": settings.store_kind, "queue": settings.queue_kind}
    checks = {"database": _check_database(services, settings), "store": _check_store(services, settings),
              "queue": _check_queue(settings)}
    # In parallel, each in a daemon thread: the slowest check bounds the total, and a hung one is left behind.
    results: dict[str, dict[str, Any]] = {name: {} for name in CHECKS}
    events = {name: threading.Event() for name in CHECKS}
    for name, check in checks.items():
        threading.Thread(target=_run, args=(check, results[name], events[name]), name=f"bedflow-health-{name}",
                         daemon=True).start()
    deadline = time.monotonic() + timeout
    report: dict[str, Any] = {}
    for name in CHECKS:
        if events[name].wait(max(0.0, deadline - time.monotonic())):
            result = {key: results[name][key] for key in ("ok", "latency_ms", "error")}
        else:
            result = {"ok": False, "latency_ms": round(timeout * 1000.0, 3), "error": f"no answer within {timeout:g} s"}
        report[name] = {**result, "kind": kinds[name]}
    status = "ok" if all(report[name]["ok"] for name in CHECKS) else "degraded"
    return {"status": status, "seconds": round(time.perf_counter() - started, 4), **report}
