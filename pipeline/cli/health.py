"""``bedflow health``: is this deployment working? For container health checks and people alike.

Without ``--url`` it runs :func:`pipeline.health.check_health` in this process, with this process's
settings (a worker, which serves no HTTP, checks itself so); with ``--url`` it asks a running
``bedflow serve`` (``GET /health``), as the image's ``HEALTHCHECK`` does. Either way it prints the
JSON report and exits 0 when everything is ok, else 1: container runtimes read the exit code. A server
tells anyone only ``ok``/``degraded`` per component; the reasons are in its log, and in this command's
report where it runs with the deployment's settings.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.request
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from .output import echo, echo_error, echo_json

#: Seconds a whole ``bedflow health`` may take by default (each in-process check, or the HTTP request).
DEFAULT_TIMEOUT = 5.0


def fetch_health(url: str, timeout: float = DEFAULT_TIMEOUT) -> tuple[int, Any]:
    """GET ``url``: ``(HTTP status, decoded JSON body, or the text when it is not JSON)``.

    An HTTP error status (503 from a degraded server) is returned, not raised; an unreachable server
    raises :class:`OSError` (``urllib.error.URLError``, ``TimeoutError``, ...) or, when something else than
    an HTTP server answers, :class:`http.client.HTTPException`."""
    # No proxies: a health check asks this machine or its own network, never through the environment's proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=timeout) as reply:
            status, body = reply.status, reply.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    text = body.decode("utf-8", errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def _reason(error: BaseException) -> str:
    """Why a request failed, in words (``URLError`` wraps the socket error in ``reason``)."""
    reason = getattr(error, "reason", error)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "no answer in time"
    if isinstance(reason, BaseException):
        return getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return str(reason)


def health_command(
    url: Annotated[str | None, typer.Option(
        "--url", help="Ask a running `bedflow serve` instead, e.g. http://127.0.0.1:5006/health: healthy when it "
        "answers HTTP 200.", show_default=False)] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds each check (or the request) may "
                                           "take.")] = DEFAULT_TIMEOUT,
) -> None:
    """Check the database, the artifact store and the job queue; print the JSON report; exit 0 when all are ok, else 1.

    Without --url the checks run here, with this environment's settings (DATABASE_URL, BEDFLOW_STORE, MINIO_*,
    BEDFLOW_QUEUE), as a worker's container health check does. With --url the server's GET /health is asked.
    """
    if url is None:
        from ..health import check_health

        report = check_health(timeout=timeout)
        echo_json(report)
        if report["status"] != "ok":
            raise typer.Exit(1)
        return

    if urlsplit(url).scheme not in ("http", "https"):
        raise typer.BadParameter(f"{url!r} is not an http:// or https:// URL", param_hint="--url")
    try:
        status, report = fetch_health(url, timeout)
    except (OSError, ValueError, http.client.HTTPException) as error:  # refused, unknown host, timeout, not HTTP
        echo_error(f"bedflow health: cannot reach {url}: {_reason(error)}")
        raise typer.Exit(1) from None
    if isinstance(report, str):
        echo(report)
    else:
        echo_json(report)
    if status != 200:
        echo_error(f"bedflow health: {url} answered HTTP {status} (why: the server's log, or `bedflow health` "
                   "without --url where the deployment's settings are)")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("health")(health_command)
