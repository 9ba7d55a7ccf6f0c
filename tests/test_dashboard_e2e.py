"""The dashboard end to end in a real browser (Debian's chromium via Playwright) against a served app with a
real worker: define a small bed with the widgets → Run → watch it succeed → open it → its 3D view and
validation chart render → download its STL. Also: an invalid `.bed` shows its line:col error in the editor.

The screenshots are kept in the test's tmp folder (test artifacts).
"""

from __future__ import annotations

import re
import time

import pytest

from pipeline.runs import list_runs

pytestmark = pytest.mark.slow

SMALL = {"particles-count": "40", "cfd-mesh_cells_per_diameter": "6", "cfd-surface_refinement": "0",
         "cfd-boundary_layers": "0", "cfd-max_iterations": "80"}


# Panel draws each component's content in a shadow root; read the text through them.
_TEXT = """e => { const walk = n => (n.shadowRoot ? walk(n.shadowRoot) : '') + Array.from(n.childNodes)
  .map(c => c.nodeType === 3 ? c.textContent : (c.nodeType === 1 && !['STYLE', 'SCRIPT'].includes(c.tagName)
    ? walk(c) : '')).join(' '); return walk(e); }"""


def text(locator) -> str:
    return locator.evaluate(_TEXT) if locator.count() else ""


# The `.bed` text the server last put into the editor (the Ace view renders only the lines on screen).
_EDITOR_TEXT = """() => { const doc = window.Bokeh?.documents?.[0]; if (!doc) return "";
  const ace = Array.from(doc._all_models.values()).find(m => m.type === "AcePlot" || m.type.endsWith(".AcePlot")); return ace ? ace.code : ""; }"""


def editor_text(page) -> str:
    return page.evaluate(_EDITOR_TEXT)


def wait_for_text(page, fragments: list[str], timeout: float = 30.0) -> None:
    """Wait until the server has applied the form's values: its `.bed` text (pushed to the editor) holds them."""
    deadline = time.monotonic() + timeout
    while not all(fragment in editor_text(page) for fragment in fragments):
        assert time.monotonic() < deadline, f"the server did not apply {fragments}:\n{editor_text(page)}"
        time.sleep(0.2)


class LateLoad:
    """Holds back what the browser sends over the dashboard's websocket once it has pulled the document, until
    :meth:`release`: the server learns late that the page has loaded (Bokeh's ``document_ready``). Panel 1.9.4
    drops the changes a session makes in that window (the pages start their work after the load event:
    ``app.components.soon``); holding it open makes a page that changes too early fail every time, not now
    and then."""

    def __init__(self, page) -> None:  # noqa: ANN001
        self.held: list = []
        self.holding = True
        page.route_web_socket("**/ws*", self._route)

    def _route(self, socket) -> None:  # noqa: ANN001
        server = socket.connect_to_server()

        def upstream(message) -> None:  # noqa: ANN001
            # the first PATCH-DOC (the browser's own settings) comes after the pull; keep order from there on
            if self.holding and (self.held or '"msgtype":"PATCH-DOC"' in str(message)):
                self.held.append((server, message))
            else:
                server.send(message)

        socket.on_message(upstream)

    def release(self) -> None:
        self.holding = False
        held, self.held = self.held, []
        for server, message in held:
            server.send(message)


def set_field(page, name: str, value: str) -> None:
    box = page.locator(f".bf-field-{name} input").first
    box.fill(value)
    box.press("Enter")


def test_define_run_watch_open_and_download(served_app, page, tmp_path):
    app = served_app(with_worker=True)
    page.goto(f"{app.url}/?page=define")
    page.locator(".bf-field-particles-count input").first.wait_for(timeout=20_000)
    for name, value in SMALL.items():
        set_field(page, name, value)
    wait_for_text(page, ["count = 40;", "mesh_cells_per_diameter = 6;", "surface_refinement = 0;",
                         "boundary_layers = 0;", "max_iterations = 80;"])
    page.screenshot(path=str(tmp_path / "1-define.png"), full_page=True)
    page.locator(".bf-run button").first.click()
    deadline = time.monotonic() + 20
    while not list_runs():
        assert time.monotonic() < deadline, "Run CFD recorded no run:\n" + app.log()[-3000:]
        time.sleep(0.5)
    submitted = list_runs()[0]
    assert submitted.particle_count == 40 and submitted.resolution == 6, submitted.spec
    assert submitted.spec["cfd"]["max_iterations"] == 80
    page.goto(f"{app.url}/?page=runs")
    table = page.locator(".bf-runs-table .tabulator-tableholder").first
    table.wait_for(timeout=20_000)
    deadline = time.monotonic() + 300
    while "succeeded" not in text(table):
        assert "failed" not in text(table), app.log()[-3000:]
        assert time.monotonic() < deadline, "the run did not succeed in 5 minutes:\n" + app.log()[-3000:]
        time.sleep(2)
    page.screenshot(path=str(tmp_path / "2-runs.png"), full_page=True)

    late = LateLoad(page)  # the first run page this server draws: its charts are made in the held window
    page.goto(f"{app.url}/?page=run&run={submitted.id}")
    page.wait_for_timeout(3_000)
    assert late.held, "no browser message was held back: the load event was not delayed"
    late.release()
    status = page.locator(".bf-run-status").first
    status.wait_for(timeout=20_000)
    deadline = time.monotonic() + 20
    while "succeeded" not in text(status):
        assert time.monotonic() < deadline, text(status)
        time.sleep(0.5)
    chart = page.locator(".bf-validation-chart canvas:visible").first  # Bokeh also keeps hidden layer canvases
    chart.wait_for(timeout=30_000)
    view = page.locator(".bf-3d canvas").first
    view.wait_for(timeout=60_000)
    time.sleep(2)
    box = view.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    page.screenshot(path=str(tmp_path / "3-run.png"), full_page=True)

    with page.expect_download(timeout=30_000) as download:
        page.locator(".bf-download-stl button, .bf-download-stl a").first.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".stl" and saved.stat().st_size > 1000
    head = saved.read_bytes()[:80]
    assert head.startswith(b"solid") or len(saved.read_bytes()) == 84 + 50 * int.from_bytes(saved.read_bytes()[80:84], "little")


_RECORD_EDITOR = """() => { const doc = window.Bokeh.documents[0]; window.__bf_texts = [];
  const ace = Array.from(doc._all_models.values()).find(m => m.type === "AcePlot" || m.type.endsWith(".AcePlot"));
  ace.properties.code.change.connect(() => window.__bf_texts.push(ace.code)); }"""


def test_form_edits_reach_the_server_once_and_are_not_undone(served_app, page):
    """Three quick edits of the form, with no pause between them, all hold: the editor's copy of the text
    the server sends back is never echoed to the server (Ace's setValue used to send an empty text first,
    which the server parsed as the default bed)."""
    app = served_app()
    page.goto(f"{app.url}/?page=define")
    page.locator(".bf-field-particles-count input").first.wait_for(timeout=20_000)
    wait_for_text(page, ["count = 90;"])
    page.evaluate(_RECORD_EDITOR)
    for name, value in SMALL.items():
        set_field(page, name, value)
    wait_for_text(page, ["count = 40;", "mesh_cells_per_diameter = 6;", "max_iterations = 80;"])
    time.sleep(1.0)  # anything echoed would have arrived and been answered by now
    texts = page.evaluate("() => window.__bf_texts")
    assert texts and "" not in texts, [len(t) for t in texts]
    final = editor_text(page)
    assert all(f in final for f in ("count = 40;", "mesh_cells_per_diameter = 6;", "max_iterations = 80;")), final
    assert page.locator(".bf-field-particles-count input").first.input_value() == "40"


def test_an_invalid_bed_text_shows_its_line_and_column(served_app, page, tmp_path):
    """An invalid `.bed` loaded into the editor (through the upload button) shows file:line:col."""
    app = served_app()
    page.goto(f"{app.url}/?page=define")
    page.locator(".bf-bed-editor").first.wait_for(timeout=20_000)
    bad = tmp_path / "bad.bed"
    bad.write_text("bed {\n  diameter = 5 mmm;\n}\n")
    page.locator(".bf-upload-bed input[type=file]").first.set_input_files(str(bad))
    error = page.locator(".bf-bed-error").first
    deadline = time.monotonic() + 20
    while not re.search(r"2:16", text(error)):
        assert time.monotonic() < deadline, text(error) or "no error pane"
        time.sleep(0.5)
    assert "mmm" in text(error) and "mmm" in text(page.locator(".bf-bed-editor").first)
    assert page.locator(".bf-run button").first.is_disabled()
    page.screenshot(path=str(tmp_path / "invalid-bed.png"), full_page=True)


def test_the_runs_filters_are_in_the_url(served_app, page):
    """A link sets the Runs page's filters, and changing one rewrites the address (so a reload keeps it; the
    address is read from the page: Playwright's page.url does not follow the history API)."""
    app = served_app()
    page.goto(f'{app.url}/?page=runs&status=["failed"]&bed=lab-bed-7')
    bed = page.locator(".bf-filter-bed select").first
    bed.wait_for(timeout=20_000)
    deadline = time.monotonic() + 20
    while bed.input_value() != "lab-bed-7":
        assert time.monotonic() < deadline, (bed.input_value(), page.url)
        time.sleep(0.3)
    assert "failed" in text(page.locator(".bf-filter-status").first)
    bed.select_option(label="all beds")
    deadline = time.monotonic() + 20
    while "lab-bed-7" in page.evaluate("window.location.search"):
        assert time.monotonic() < deadline, (page.url, page.evaluate("window.location.search"))
        time.sleep(0.3)
    assert "failed" in page.evaluate("window.location.search")  # the other filter stays in the address


@pytest.mark.parametrize("where", ["", "?page=runs", "?page=compare"])
def test_the_dashboard_asks_no_other_host_for_anything(served_app, page, where):
    """Icons, the logo, fonts and scripts all come from the served app: a page on a lab's offline network loads
    whole. Every request the browser makes is recorded; none may go to another host."""
    from urllib.parse import urlsplit

    app = served_app()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{app.url}/{where}", wait_until="networkidle")
    page.wait_for_timeout(1500)  # icons and fonts that the page's own scripts ask for once they run
    ours = urlsplit(app.url).netloc
    foreign = sorted({url for url in requests if urlsplit(url).scheme in ("http", "https", "ws", "wss")
                      and urlsplit(url).netloc != ours})
    assert len(requests) > 10 and not foreign, "\n".join(foreign)
    assert not page.foreign_errors, page.foreign_errors
