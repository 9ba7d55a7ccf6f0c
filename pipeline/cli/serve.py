"""``bedflow serve``: the dashboard in a browser, with ``/health``, sign-in and optionally a worker.

All the work is in :func:`app.server.serve`; ``panel serve app/main.py`` serves the same dashboard
but without ``/health``, the ``BEDFLOW_AUTH`` sign-in and ``--with-worker``.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer


def serve_command(
    # envvar PORT: platforms (Railway, Heroku, ...) hand the port out in PORT, and Railway runs a Dockerfile
    # service's start command without a shell, so `--port $PORT` would arrive unexpanded.
    port: Annotated[int, typer.Option("--port", "-p", envvar="PORT", help="TCP port (0: any free port); default: "
                                      "the PORT environment variable when set, else 5006.")] = 5006,
    address: Annotated[str, typer.Option("--address", help="Address to listen on. Anything but a loopback address "
                                         "needs sign-in (BEDFLOW_AUTH).")] = "127.0.0.1",
    with_worker: Annotated[bool, typer.Option("--with-worker", help="Also run a `bedflow worker` beside the server "
                                              "(stopped with it): one command for a single machine.")] = False,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes of --with-worker.")] = 1,
    allow_origin: Annotated[Optional[list[str]], typer.Option(
        "--allow-origin", help="Another host[:port] whose pages may connect, e.g. a proxy's public name "
        "(repeatable; default: BEDFLOW_WEBSOCKET_ORIGIN, comma-separated).")] = None,
    show: Annotated[bool, typer.Option("--show", help="Open the dashboard in a browser.")] = False,
) -> None:
    """Serve the dashboard, and GET /health (database, store, queue: HTTP 200 or 503), until Ctrl-C.

    Sign-in comes from the environment, with no defaults (see app/auth.py):
    BEDFLOW_AUTH: unset for none (then only a loopback --address is served), basic, or an OAuth provider;
    BEDFLOW_AUTH_PASSWORD with basic; BEDFLOW_OAUTH_KEY, BEDFLOW_OAUTH_SECRET, BEDFLOW_OAUTH_EXTRA_PARAMS with OAuth;
    BEDFLOW_COOKIE_SECRET with any sign-in.
    """
    from app.server import serve

    serve(address=address, port=port, with_worker=with_worker, workers=workers, show=show,
          websocket_origin=allow_origin or None)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
