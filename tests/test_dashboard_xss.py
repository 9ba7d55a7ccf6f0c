"""No user string runs as HTML in the dashboard: a recorded CFD run, its sweep and its owner all named
``<img src=x onerror="window.__xss=1">`` leave ``window.__xss`` unset on every page of a real browser, with the
Compare page's dropdown open, and after a notification that names such a bed; the name shows as text.
"""

from __future__ import annotations

import time

import pytest

import pipeline
from pipeline import BedSpec, jobs

pytestmark = pytest.mark.slow

XSS = '<img src=x onerror="window.__xss=1">'
SPEC = {"name": XSS, "description": XSS, "bed": {"diameter": 0.025, "height": 0.03},
        "particles": {"count": 40, "diameter": 0.005},
        "cfd": {"mesh_cells_per_diameter": 6, "surface_refinement": 0, "boundary_layers": 0,
                "max_iterations": 60, "particle_reynolds": 5}}

# Panel draws each component in a shadow root: the text of a locator, through them.
_TEXT = """e => { const walk = n => (n.shadowRoot ? walk(n.shadowRoot) : '') + Array.from(n.childNodes)
  .map(c => c.nodeType === 3 ? c.textContent : (c.nodeType === 1 && !['STYLE', 'SCRIPT'].includes(c.tagName)
    ? walk(c) : '')).join(' '); return walk(e); }"""
#: Every <img> in the page, shadow roots included, whose src is the injected one.
_INJECTED = """() => { const found = []; const walk = n => { if (n.shadowRoot) walk(n.shadowRoot);
  for (const c of n.children || []) { if (c.tagName === 'IMG' && (c.getAttribute('src') || '') === 'x') found.push(c.outerHTML);
  walk(c); } }; walk(document); return found; }"""


def text(locator) -> str:
    return locator.evaluate(_TEXT) if locator.count() else ""


def assert_not_injected(page, where: str) -> None:
    assert page.evaluate("() => window.__xss") is None, f"the name ran as HTML on {where}"
    assert page.evaluate(_INJECTED) == [], f"the name became an element on {where}"
    assert not [r for r in page.failed_requests if r.split(":", 2)[-1].startswith("//") and "/x:" in r], where


def wait_for_text(page, fragment: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while fragment not in text(page.locator("body")):
        assert time.monotonic() < deadline, f"{fragment!r} never showed:\n{text(page.locator('body'))[-2000:]}"
        time.sleep(0.3)


def test_a_run_named_with_html_never_runs_it_on_any_page(served_app, page, tmp_path):
    spec = BedSpec.from_dict(SPEC).validate()
    solved = pipeline.run(spec, created_by=XSS).run_id
    jobs.submit_sweep(spec, "cfd.particle_reynolds", [2, 8], name=XSS, until="pack", created_by=XSS)
    app = served_app()

    page.goto(f"{app.url}/?page=runs")
    page.locator(".bf-runs-table .tabulator-tableholder").first.wait_for(timeout=30_000)
    wait_for_text(page, "<img src=x")  # shown as the text it is
    assert_not_injected(page, "the runs page")

    page.goto(f"{app.url}/?page=run&run={solved}")
    page.locator(".bf-run-status").first.wait_for(timeout=30_000)
    wait_for_text(page, "succeeded")
    page.locator(".bf-validation-chart canvas:visible").first.wait_for(timeout=60_000)
    time.sleep(1)
    assert_not_injected(page, "the run page")

    page.goto(f"{app.url}/?page=compare")
    picker = page.locator(".bf-compare-picker .choices").first
    picker.wait_for(timeout=30_000)
    option = page.locator(".bf-compare-picker .choices__list--dropdown .choices__item--selectable").first
    deadline = time.monotonic() + 60
    while not option.is_visible():  # open the dropdown once the page has read the runs (Choices.js draws labels)
        assert time.monotonic() < deadline, text(page.locator(".bf-compare-picker").first)
        page.keyboard.press("Escape")
        time.sleep(0.5)
        picker.click()
        time.sleep(0.5)
    assert "<img src=x" in text(option), text(option)
    assert_not_injected(page, "the compare page, dropdown open")
    option.click()  # picked: its label is drawn as a chosen item, and the page compares it
    page.locator(".bf-porosity-profile").first.wait_for(timeout=60_000)
    wait_for_text(page, f"({XSS})")
    page.locator(".bf-compare-sweep select").first.select_option(index=1)  # the sweep, by its name
    time.sleep(2)
    assert_not_injected(page, "the compare page, a run and the sweep picked")
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)

    page.goto(f"{app.url}/?page=define")
    page.locator(".bf-upload-bed input[type=file]").first.wait_for(timeout=30_000)
    bed = tmp_path / "xss.bed"
    bed.write_text(spec.to_bed())
    page.locator(".bf-upload-bed input[type=file]").first.set_input_files(str(bed))
    wait_for_text(page, "<img src=x")
    page.locator(".bf-pack button").first.click()  # queued: a notification names the bed
    notification = page.locator(".notyf__message").first
    notification.wait_for(timeout=30_000)
    assert "<img src=x" in text(notification), text(notification)
    assert_not_injected(page, "the define page, after a notification about the run")
    assert page.console_errors == [], page.console_errors
