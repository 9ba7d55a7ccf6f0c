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

SMALL = {"particles-count": "40", "cfd-mesh_cells_per_diameter": "6", "cfd-max_iterations": "80"}


# Panel draws each component's content in a shadow root; read the text through them.
_TEXT = """e => { const walk = n => (n.shadowRoot ? walk(n.shadowRoot) : '') + Array.from(n.childNodes)
  .map(c => c.nodeType === 3 ? c.textContent : (c.nodeType === 1 && !['STYLE', 'SCRIPT'].includes(c.tagName)
    ? walk(c) : '')).join(' '); return walk(e); }"""


def text(locator) -> str:
    return locator.evaluate(_TEXT) if locator.count() else ""


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
    time.sleep(1.5)  # the widgets' values reach the server
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

    page.goto(f"{app.url}/?page=run&run={submitted.id}")
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
