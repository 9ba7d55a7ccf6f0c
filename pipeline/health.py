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

That report names hosts, users and ports in its errors, so what anyone may ask (``GET /health``, open for
load balancers) is :func:`public_report`, only ``ok``/``degraded`` per component, from a
:class:`HealthMonitor`: one check at a time however many probes arrive, its report reused for a few
seconds, and the details of a failure written to the log (and shown by ``bedflow health`` and
``bedflow doctor``, which run the checks themselves with the deployment's settings).
"""

from __future__ import annotations

import importlib
import logging
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
#: Seconds a :class:`HealthMonitor` reuses its last report.
CACHE_SECONDS = 5.0
#: The modules the checks import. They are imported by the caller before the checks' threads start: two threads
#: importing modules of one package at once (``pipeline.jobs`` here, ``pipeline.jobs.heartbeats`` there) can make
#: Python's import system report a deadlock (``_DeadlockError``), which a check would take for a failure.
CHECK_MODULES = ("pipeline.db", "pipeline.store", "pipeline.runs", "pipeline.jobs")
#: Seconds between repeated log lines about a component that stays down.
LOG_REPEAT_SECONDS = 60.0

log = logging.getLogger("bedflow.health")


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
    """A store key for one probe object: host, process and a random part, so that checks running at once (in this
    process or in replicas) never write, read or delete each other's object."""
    return f"{PROBE_PREFIX}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:16]}"


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


def import_before_threads(modules: tuple[str, ...]) -> None:
    """Import ``modules`` in this thread, before threads that use them start (see :data:`CHECK_MODULES`). A module
    that fails to import is left to the check that needs it, which reports the error."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - the check that imports it says what is wrong
            continue


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
    import_before_threads(CHECK_MODULES)
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


def public_report(report: dict[str, Any]) -> dict[str, str]:
    """What ``GET /health`` tells anyone: the overall status and ``"ok"``/``"degraded"`` per component, nothing
    about hosts, users, ports or errors."""
    return {"status": report["status"], **{name: "ok" if report[name]["ok"] else "degraded" for name in CHECKS}}


class HealthMonitor:
    """:func:`check_health` for a server that many probes ask: at most one check runs at a time (callers that
    arrive meanwhile wait for it), and its report is reused for ``cache_seconds``. Thread-safe.

    Failures are logged with their details (on ``bedflow.health``): when a component goes down or its error
    changes, again every :data:`LOG_REPEAT_SECONDS` while it stays down, and once when it is back."""

    def __init__(self, check: Callable[[], dict[str, Any]], cache_seconds: float = CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.check, self.cache_seconds, self.clock = check, cache_seconds, clock
        self._lock = threading.Condition()
        self._report: dict[str, Any] | None = None
        self._at = -float("inf")
        self._running = False
        self._logged: dict[str, tuple[str, float]] = {}  # component → (error, when) last logged
        self.checks = 0  # how many checks ran (for tests and metrics)

    def report(self) -> dict[str, Any]:
        """The latest report, fresh within ``cache_seconds`` (running a check if none is)."""
        with self._lock:
            while True:
                if self._report is not None and self.clock() - self._at < self.cache_seconds:
                    return self._report
                if not self._running:
                    self._running = True
                    break
                self._lock.wait()
        try:
            report = self.check()
        except BaseException:
            with self._lock:
                self._running = False
                self._lock.notify_all()
            raise
        self._log(report)
        with self._lock:
            self._report, self._at, self._running = report, self.clock(), False
            self.checks += 1
            self._lock.notify_all()
        return report

    def _log(self, report: dict[str, Any]) -> None:
        now = self.clock()
        for name in CHECKS:
            item = report[name]
            previous = self._logged.get(name)
            if item["ok"]:
                if previous is not None:
                    log.info("health: %s is ok again", name)
                    del self._logged[name]
            elif previous is None or previous[0] != item["error"] or now - previous[1] >= LOG_REPEAT_SECONDS:
                log.warning("health: %s (%s) is down: %s", name, item.get("kind", ""), item["error"])
                self._logged[name] = (item["error"], now)
