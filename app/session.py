"""One browser session of the dashboard: who is logged in, what they look at, and how they are told things.

Pages get an :class:`AppSession`; they call :mod:`pipeline` (through ``session.services``,
``pipeline.jobs``, ``pipeline.runs``) and :mod:`viz`, and never hold science of their own.
"""

from __future__ import annotations

import html
from typing import Any

import panel as pn
import param

from pipeline.errors import BedflowError
from pipeline.runs import Services, open_services

PAGES = ("define", "runs", "run", "compare", "tokens")
#: The session's state in the URL's query: parameter → query name (``?page=runs&status=["failed"]&bed=dash``).
URL_STATE = {"page": "page", "run_id": "run", "compare_ids": "compare", "runs_status": "status", "runs_bed": "bed",
             "runs_sweep": "sweep"}


class AppSession(param.Parameterized):
    """The state of one session: the page shown, the run opened, the runs picked for comparison, the Runs page's
    filters. All of it is kept in the page's URL (:data:`URL_STATE`), so a reload keeps it and a link shares it."""

    page = param.Selector(default="define", objects=list(PAGES), doc="The page shown.")
    run_id = param.Integer(default=None, allow_None=True, doc="The run shown on the run page.")
    compare_ids = param.List(default=[], item_type=int, doc="Runs picked for the compare page.")
    runs_status = param.List(default=[], item_type=str, doc="The Runs page's status filter (none: all).")
    runs_bed = param.String(default="", doc="The Runs page's bed filter ('': all beds).")
    runs_sweep = param.Integer(default=0, doc="The Runs page's sweep filter (0: all runs).")

    def __init__(self, services: Services | None = None, user: str | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.services = services or open_services()
        self.user = user if user is not None else (pn.state.user or "")

    # -- navigation ------------------------------------------------------------------------------
    def open_run(self, run_id: int) -> None:
        self.run_id = int(run_id)
        self.page = "run"

    def compare(self, run_ids: list[int]) -> None:
        self.compare_ids = [int(i) for i in run_ids]
        self.page = "compare"

    # -- telling the user ------------------------------------------------------------------------
    def error(self, message: str | BaseException) -> None:
        """Show an error as a notification (never a dead page); its text is escaped (notifications are HTML)."""
        text = str(message) if isinstance(message, BedflowError) or isinstance(message, str) else \
            f"{type(message).__name__}: {message}"
        if pn.state.notifications is not None:
            pn.state.notifications.error(html.escape(text), duration=10_000)

    def info(self, message: str) -> None:
        """Show a passing notification; its text is escaped."""
        if pn.state.notifications is not None:
            pn.state.notifications.success(html.escape(message), duration=4_000)

    def guard(self, action: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``action``; a failure becomes a notification and ``None``."""
        try:
            return action(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - a dashboard must survive any callback's failure
            self.error(error)
            return None
