"""Serving the dashboard: ``bedflow serve`` (the dashboard, ``/health``, sign-in, optionally a worker).

:func:`serve` runs ``pn.serve`` on :func:`app.main.create_app` at ``/`` with

* ``GET /health``: ``{"status": "ok"|"degraded", "database": "ok"|"degraded", "store": ..., "queue": ...}``
  (:func:`pipeline.health.public_report`), HTTP 200 when everything is ok, else 503; never behind sign-in, so
  load balancers and ``curl`` can use it, hence nothing more: the details of a failure go to the server's log
  (and ``bedflow health``/``bedflow doctor`` show them where the deployment's settings are). Checks are shared
  by concurrent probes and reused for a few seconds (:class:`pipeline.health.HealthMonitor`);
* ``GET /metrics``: Prometheus metrics (:mod:`pipeline.metrics`: runs by status, stage durations, queue
  depth, worker heartbeats); with ``BEDFLOW_METRICS_TOKEN`` set it requires ``Authorization: Bearer
  <token>`` (Prometheus' ``authorization`` scrape option); without a token it is served only when the
  dashboard has no sign-in (this machine only), never by a deployment;
* ``GET /artifacts/<id>``: a run's file streamed from the store to a signed-in browser (:mod:`app.downloads`);
* ``/api/v1/...``: the JSON API for notebooks and scripts elsewhere, with bearer tokens (:mod:`app.api`);
* logs on stderr, one JSON object per line with ``BEDFLOW_LOG_JSON=1`` (:mod:`pipeline.logconfig`);
* sign-in from the environment (:mod:`app.auth`: ``BEDFLOW_AUTH``, ...). Without sign-in the server
  only listens on a loopback address: anything else is refused with a :class:`ServeError`;
* ``with_worker=True``: a ``bedflow worker -w N`` process beside the server (same environment), stopped
  with it (SIGINT, then SIGKILL after ``worker_stop_timeout`` s): one command for a single machine.

``panel serve app/main.py`` still serves the same dashboard, without ``/health``, the sign-in
variables and the worker.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import math
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tornado.web

from pipeline.errors import BedflowError
from pipeline.health import DEFAULT_TIMEOUT, HealthMonitor, check_health, public_report
from pipeline.logconfig import configure_logging
from pipeline.settings import Settings, SettingsError

from .api import api_routes
from .auth import AuthConfig
from .downloads import download_route

#: Seconds a stopping worker gets to finish its running stages before it is killed.
WORKER_STOP_TIMEOUT = 30.0
#: Extra hosts (comma-separated, ``host`` or ``host:port``) whose pages may open the dashboard's websocket,
#: e.g. the public name of a proxy in front of the server.
ORIGIN_VARIABLE = "BEDFLOW_WEBSOCKET_ORIGIN"
#: When set, ``/metrics`` wants ``Authorization: Bearer <this>``.
METRICS_TOKEN_VARIABLE = "BEDFLOW_METRICS_TOKEN"

log = logging.getLogger("bedflow.serve")


class ServeError(BedflowError):
    """The server cannot start as asked."""


def health_timeout(env: dict[str, str] | None = None) -> float:
    """Seconds each ``/health`` check may take: ``BEDFLOW_HEALTH_TIMEOUT`` (0.1 to 300), default 3."""
    raw = (os.environ if env is None else env).get("BEDFLOW_HEALTH_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0.1 <= value <= 300:
        raise SettingsError(f"BEDFLOW_HEALTH_TIMEOUT must be a number of seconds from 0.1 to 300, got {raw!r}")
    return value


class HealthHandler(tornado.web.RequestHandler):
    """``GET /health``: :func:`~pipeline.health.public_report` as JSON; 200 when ok, else 503.

    The checks run in a thread (``asyncio.to_thread``), never on the server's IO loop, through the server's one
    :class:`~pipeline.health.HealthMonitor`."""

    def initialize(self, monitor: HealthMonitor) -> None:
        self.monitor = monitor

    async def _report(self) -> dict[str, Any]:
        report = public_report(await asyncio.to_thread(self.monitor.report))
        self.set_status(200 if report["status"] == "ok" else 503)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        return report

    async def get(self) -> None:
        self.finish(json.dumps(await self._report()))

    async def head(self) -> None:
        await self._report()
        self.finish()


class MetricsHandler(tornado.web.RequestHandler):
    """``GET /metrics``: Prometheus' text format (:mod:`pipeline.metrics`), gathered in a thread."""

    def initialize(self, registry: Any, token: str = "", open_without_token: bool = False) -> None:
        self.registry, self.token, self.open_without_token = registry, token, open_without_token

    async def get(self) -> None:
        from pipeline.metrics import render_metrics

        if not self.token and not self.open_without_token:
            self.set_status(403)
            self.finish("metrics of a server with sign-in need BEDFLOW_METRICS_TOKEN (a secret you make; Prometheus "
                        "sends it as a bearer token)\n")
            return
        if self.token:
            given = self.request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                self.set_status(401)
                self.set_header("WWW-Authenticate", 'Bearer realm="bedflow metrics"')
                self.finish("metrics need the bearer token of BEDFLOW_METRICS_TOKEN\n")
                return
        body, content_type = await asyncio.to_thread(render_metrics, self.registry)
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", "no-store")
        self.finish(body)


# -- addresses ---------------------------------------------------------------------------------------
def is_loopback(address: str) -> bool:
    """Whether ``address`` only reaches this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def check_address(address: str, auth: AuthConfig) -> None:
    """Refuse to listen beyond this machine without sign-in."""
    if not is_loopback(address) and not auth.enabled:
        raise ServeError(
            f"refusing to serve the dashboard on {address!r} without sign-in: anyone who can reach this machine "
            "could start and delete runs. Either keep the default --address 127.0.0.1 (this machine only), or "
            "set BEDFLOW_AUTH (basic or an OAuth provider) and BEDFLOW_COOKIE_SECRET, see `bedflow serve --help`")


def websocket_origins(address: str, port: int, extra: Sequence[str] = ()) -> list[str]:
    """The ``host:port`` patterns whose pages may open the dashboard's websocket.

    On a loopback address: ``localhost`` and ``127.0.0.1`` (and ``[::1]``). On another address also
    that address and this machine's host names; ``extra`` (or ``BEDFLOW_WEBSOCKET_ORIGIN``) adds more,
    e.g. a proxy's public name (a pattern without a port matches any port)."""
    hosts = ["localhost", "127.0.0.1"]
    if address.strip("[]") == "::1":
        hosts.append("[::1]")
    if not is_loopback(address):
        if address not in ("", "0.0.0.0", "::"):
            hosts.append(f"[{address}]" if ":" in address else address)
        for name in (socket.gethostname(), socket.getfqdn()):
            if name and name not in hosts:
                hosts.append(name)
    origins = [f"{host}:{port}" for host in hosts]
    for item in extra:
        if item.strip() and item.strip() not in origins:
            origins.append(item.strip())
    return origins


def _free_port(address: str) -> int:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((address if address != "localhost" else "127.0.0.1", 0))
        return probe.getsockname()[1]


def _url_host(address: str) -> str:
    if address in ("", "0.0.0.0", "::"):
        return socket.gethostname() or "localhost"
    return f"[{address}]" if ":" in address else address


# -- the worker beside the server ----------------------------------------------------------------------
def worker_command(workers: int) -> list[str]:
    """The command line of ``bedflow worker -w N`` with this interpreter's installation."""
    script = Path(sys.executable).with_name("bedflow")
    if not script.is_file():
        found = shutil.which("bedflow")
        script = Path(found) if found else None  # type: ignore[assignment]
    if script is not None:
        return [str(script), "worker", "-w", str(workers)]
    return [sys.executable, "-c", "from pipeline.cli.main import run; run()", "worker", "-w", str(workers)]


def _interrupt_with_parent() -> None:
    """``preexec_fn``: the kernel sends SIGINT (the worker's graceful stop) when the server dies without
    stopping it (SIGKILL, a crash), so neither the worker nor its process workers outlive the server."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGINT, 0, 0, 0)  # PR_SET_PDEATHSIG


def start_worker(workers: int) -> subprocess.Popen[bytes]:
    """A ``bedflow worker`` in its own session (same environment, same output): a Ctrl-C in the terminal
    reaches the server only, which then stops the worker with one SIGINT (Huey takes a second SIGINT as an
    abrupt stop)."""
    return subprocess.Popen(worker_command(workers), env=dict(os.environ), stdin=subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=_interrupt_with_parent)


def stop_worker(process: subprocess.Popen[bytes], timeout: float = WORKER_STOP_TIMEOUT) -> int | None:
    """SIGINT (the worker's graceful stop: running stages finish), then SIGKILL after ``timeout`` s."""
    from pipeline.children import kill_group

    if process.poll() is None:
        log.info(f"bedflow serve: stopping the worker (up to {timeout:g} s for running stages)")
        kill_group(process.pid, signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("bedflow serve: the worker did not stop in time: killing it")
        except KeyboardInterrupt:
            log.warning("bedflow serve: interrupted again: killing the worker")
    kill_group(process.pid, signal.SIGKILL)  # whatever is left of its group (its process workers)
    return process.wait()


# -- serving ---------------------------------------------------------------------------------------------
def serve(address: str = "127.0.0.1", port: int = 5006, with_worker: bool = False, workers: int = 1,
          show: bool = False, *, auth: AuthConfig | None = None, websocket_origin: Sequence[str] | None = None,
          worker_stop_timeout: float = WORKER_STOP_TIMEOUT) -> None:
    """Serve the dashboard until SIGINT or SIGTERM (see the module docstring).

    ``auth`` defaults to :meth:`AuthConfig.from_env`; ``websocket_origin`` adds allowed websocket origins
    to :func:`websocket_origins` (default: ``BEDFLOW_WEBSOCKET_ORIGIN``, comma-separated). ``port=0``
    picks a free port. Raises :class:`~pipeline.errors.BedflowError` when the settings, the sign-in, the
    address or the port do not allow serving."""
    configure_logging()
    auth = auth if auth is not None else AuthConfig.from_env()
    check_address(address, auth)
    if workers < 1:
        raise ServeError(f"--workers must be at least 1, got {workers}")
    settings = Settings.from_env()

    from viz import headless

    window = headless.configure(settings.data_dir)  # before anything imports vtk/pyvista (the pages do)

    import panel as pn

    from app.main import create_app
    from pipeline.metrics import metrics_registry
    from pipeline.runs import open_services

    auth.install()
    port = port or _free_port(address)
    extra = websocket_origin if websocket_origin is not None else os.environ.get(ORIGIN_VARIABLE, "").split(",")
    origins = websocket_origins(address, port, extra)

    timeout = health_timeout()
    monitor = HealthMonitor(lambda: check_health(settings=settings, timeout=timeout))
    health = check_health(settings=settings)  # warms up the imports; a degraded start is reported, not fatal
    for name in ("database", "store", "queue"):
        item = health[name]
        log.log(logging.INFO if item["ok"] else logging.WARNING,
                f"bedflow serve: {name} ({item['kind']}) " + (f"ok, {item['latency_ms']:.1f} ms" if item["ok"] else
                                                              f"NOT OK: {item['error']}"))

    try:
        server = pn.serve({"/": create_app}, port=port, address=address, websocket_origin=origins, show=show,
                          start=False, title="bedflow", verbose=False, warm=True,
                          extra_patterns=[(r"/health", HealthHandler, {"monitor": monitor}),
                                          download_route(lambda: open_services(settings), auth),
                                          (r"/metrics", MetricsHandler, {
                                              "registry": metrics_registry(lambda: open_services(settings)),
                                              "token": os.environ.get(METRICS_TOKEN_VARIABLE, "").strip(),
                                              "open_without_token": not auth.enabled}),
                                          *api_routes(lambda: open_services(settings))],
                          **auth.serve_options())
    except OSError as error:
        raise ServeError(f"cannot listen on {address}:{port}: {error.strerror or error}") from None

    def stop(*_: Any) -> None:
        server.io_loop.asyncio_loop.call_soon_threadsafe(server.io_loop.stop)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    worker = start_worker(workers) if with_worker else None
    try:
        if worker is not None:
            _watch_worker(worker)
        url = f"http://{_url_host(address)}:{server.port}/"
        log.info(f"bedflow serve: rendering with {window}; {auth.describe()}"
                 + (f"; a worker with {workers} process(es) (pid {worker.pid})" if worker is not None else ""))
        log.info(f"bedflow dashboard at {url} (health: {url}health, metrics: {url}metrics); Ctrl-C stops it")
        server.start()
        server.io_loop.start()
        server.stop()
    finally:
        if worker is not None:
            signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C: kill the worker now
            code = stop_worker(worker, worker_stop_timeout)
            log.info(f"bedflow serve: worker stopped (exit code {code})")
    log.info("bedflow serve: stopped")


def _watch_worker(worker: subprocess.Popen[bytes]) -> None:
    """Say so (once) on the server's output if the worker beside it exits on its own."""
    from tornado.ioloop import PeriodicCallback

    def check() -> None:
        code = worker.poll()
        if code is not None:
            log.warning(f"bedflow serve: the worker exited on its own (exit code {code}); queued runs wait for "
                        "another worker (`bedflow worker`)")
            callback.stop()

    callback = PeriodicCallback(check, 2000)
    callback.start()
