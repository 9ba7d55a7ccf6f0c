"""The bedflow dashboard: ``bedflow serve`` (or ``panel serve app/main.py``).

A template with a sidebar; four pages built lazily per session (see :mod:`app.pages`). The page, the run shown,
the runs compared and the Runs page's filters are kept in the URL (``?page=run&run=12``,
``?page=runs&status=["failed"]``; :data:`app.session.URL_STATE`), so a reload keeps them and links share them.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import panel as pn

from app.browser_fixes import VTKRemovalFix
from app.pages.compare import ComparePage
from app.pages.define import DefinePage
from app.pages.run import RunPage
from app.pages.runs import RunsPage
from app.pages.tokens import TokensPage
from app.session import PAGES, URL_STATE, AppSession
from pipeline.runs import Services

pn.extension("tabulator", "vtk", "codeeditor", notifications=True, sizing_mode="stretch_width",
             disconnect_notification="Connection to the bedflow server lost: reload the page.")

PAGE_CLASSES: dict[str, Callable[[AppSession], pn.viewable.Viewer]] = {
    "define": DefinePage, "runs": RunsPage, "run": RunPage, "compare": ComparePage, "tokens": TokensPage,
}
LABELS = {"define": "Define a bed", "runs": "Runs", "run": "Run detail", "compare": "Compare",
          "tokens": "API tokens"}


class Fast(pn.theme.Fast):
    """Panel's Fast design without its web font: Fast links Google Fonts' Open Sans into every page, a request to
    another host that a lab's offline network refuses. The page uses the system's sans-serif instead. (The class
    keeps its name: Panel finds a design's own files by it, ``fast/js/fast_design.js``.)"""

    _resources = {**pn.theme.Fast._resources, "font": {}}


def create_app(services: Services | None = None) -> pn.template.FastListTemplate:
    """One session's dashboard."""
    session = AppSession(services)
    built: dict[str, pn.viewable.Viewer] = {}

    def view(page: str) -> pn.viewable.Viewer:
        if page not in built:
            built[page] = PAGE_CLASSES[page](session)
        return built[page]

    nav = pn.widgets.RadioButtonGroup.from_param(
        session.param.page, options={LABELS[p]: p for p in PAGES}, orientation="vertical", button_type="primary",
        button_style="outline", name="", sizing_mode="stretch_width")
    if pn.state.location is not None:
        pn.state.location.sync(session, URL_STATE)
    who = pn.pane.HTML(f"Signed in as <b>{html.escape(session.user)}</b>" if session.user else "", margin=(20, 10))
    fix = VTKRemovalFix(width=0, height=0, margin=0)  # every page with 3D (also direct links to a run)
    return pn.template.FastListTemplate(
        title="bedflow", sidebar=[nav, who, fix], main=[pn.panel(pn.bind(view, session.param.page))],
        sidebar_width=220, accent="#0072B2", header_background="#0b3954", font_url="", design=Fast,
        font="system-ui, sans-serif",
    )


if __name__.startswith("bokeh"):  # `panel serve app/main.py`
    create_app().servable()
