"""``--url``/``--token`` of the commands that can work on a deployed bedflow (``submit``, ``status``, ``watch``,
``cancel``, ``runs``, ``fetch``, ``report``): given (or ``BEDFLOW_URL``/``BEDFLOW_TOKEN`` set), the command goes
through the JSON API (:class:`pipeline.client.Client`) instead of this machine's database and queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from ..client import Client

UrlOption = Annotated[Optional[str], typer.Option(
    "--url", envvar="BEDFLOW_URL", show_envvar=True, show_default=False,
    help="A deployed bedflow to work on (its JSON API), e.g. https://bedflow.lab.example; default: this machine.")]
TokenOption = Annotated[Optional[str], typer.Option(
    "--token", envvar="BEDFLOW_TOKEN", show_envvar=True, show_default=False,
    help="Its API token (bedflow token create USER on the deployment).")]


def client_for(url: str | None, token: str | None) -> "Client | None":
    """The API client of ``url`` (with ``token``), or ``None`` to work on this machine."""
    if not url:
        return None
    from ..client import connect

    return connect(url, token or "")
