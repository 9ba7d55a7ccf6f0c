"""The define page at the Python level: generated widgets, form ⇄ `.bed` text sync, errors with line:col,
presets, upload/download, submitting runs and sweeps to the real database and queue, the 3D preview.

Every page is built on the real services of the per-test data folder (``tests/conftest.py``).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import math
import threading
import time

import panel as pn
import param
import pytest

import pipeline
from app import components
from app.pages import define
from app.pages.define import PREVIEW_LIMIT, DefinePage
from app.session import AppSession
from pipeline.presets import load_preset, preset_names, preset_path
from pipeline.runs import get_run, list_runs, open_services
from pipeline.spec import BedSpec
from pipeline.spec.fields import display_unit, to_display
from pipeline.spec.sections import SECTION_CLASSES


class RecordingSession(AppSession):
    """A real session that also keeps the notifications it would show."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.errors: list[str] = []
        self.infos: list[str] = []

    def error(self, message) -> None:
        self.errors.append(str(message))
        super().error(message)

    def info(self, message: str) -> None:
        self.infos.append(message)
        super().info(message)


@pytest.fixture
def session() -> RecordingSession:
    return RecordingSession(open_services(), user="tester")


@pytest.fixture
def page(session: RecordingSession) -> DefinePage:
    components.PACKINGS.clear()  # the preview caches are shared by sessions: start each test cold
    components.SCENES.clear()
    return DefinePage(session)


def click(button: pn.widgets.Button) -> None:
    """A click as the browser makes it (async handlers run to completion here: no event loop is running)."""
    button.clicks += 1


def position(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first ``needle`` in ``text``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in the text")


# -- widgets ---------------------------------------------------------------------------------------------
def test_widgets_cover_every_field_with_units_bounds_and_tooltips(page: DefinePage) -> None:
    spec = BedSpec()
    assert set(page.widgets) == {"name", "description", *BedSpec.field_paths()}
    assert page.widgets["name"].css_classes == ["bf-field-name"]
    assert page.widgets["description"].css_classes == ["bf-field-description"]
    expected_types = [(param.Boolean, pn.widgets.Checkbox), (param.ListSelector, pn.widgets.MultiChoice),
                      (param.Selector, pn.widgets.Select), (param.Integer, pn.widgets.IntInput),
                      (param.Number, pn.widgets.FloatInput), (param.String, pn.widgets.TextInput)]
    for path in BedSpec.field_paths():
        section, _, field = path.partition(".")
        parameter = SECTION_CLASSES[section].param[field]
        widget = page.widgets[path]
        assert widget.css_classes == [f"bf-field-{section}-{field}"], path
        assert widget.value == to_display(parameter, spec.get(path)), path  # lengths in mm
        kind = next(w for p, w in expected_types if isinstance(parameter, p))
        assert type(widget) is kind, path
        unit = display_unit(parameter)
        assert widget.label == (f"{field} ({unit})" if unit else field), path
        if not isinstance(widget, pn.widgets.Checkbox):
            first_words = " ".join(parameter.doc.split()[:3])
            assert first_words.replace("*", "\\*") in widget.description, path
        if isinstance(widget, (pn.widgets.FloatInput, pn.widgets.IntInput)):
            (low, high), (low_incl, high_incl) = (to_display(parameter, b) for b in parameter.bounds), \
                parameter.inclusive_bounds
            if low_incl:
                assert widget.start == low, path
            else:
                assert low < widget.start <= low + (1 if kind is pn.widgets.IntInput else 1e-300), path
            if high_incl:
                assert widget.end == high, path
            else:
                assert high - (1 if kind is pn.widgets.IntInput else 1e-9 * high) <= widget.end < high, path
        if isinstance(widget, (pn.widgets.Select, pn.widgets.MultiChoice)):
            assert list(widget.options) == list(parameter.objects), path
    # spot checks of the rules above
    assert page.widgets["particles.diameter"].label == "diameter (mm)"
    assert page.widgets["cfd.fluid_dynamic_viscosity"].label == "fluid_dynamic_viscosity (Pa.s)"
    assert (page.widgets["particles.count"].start, page.widgets["particles.count"].end) == (1, 10_000_000)
    assert page.widgets["bed.wall_thickness"].start > 0 and page.widgets["bed.wall_thickness"].end == 1000  # mm
    assert page.widgets["bed.diameter"].value == 25 and page.form.values()["bed.diameter"] == 0.025  # SI inside
    assert 0 < page.widgets["cfd.convergence"].start and page.widgets["cfd.convergence"].end < 1


def test_every_section_has_a_card_in_the_layout(page: DefinePage) -> None:
    layout = pn.panel(page)
    classes = {c for obj in layout.select(pn.layout.Card) for c in obj.css_classes}
    assert {f"bf-section-{key}" for key in SECTION_CLASSES} <= classes
    widgets = {c for obj in layout.select(pn.widgets.Widget) for c in obj.css_classes}
    for path in ("name", "description", *BedSpec.field_paths()):
        assert "bf-field-" + path.replace(".", "-") in widgets, path
    for css in ("bf-preset", "bf-bed-editor", "bf-download-bed", "bf-upload-bed", "bf-pack", "bf-run", "bf-sweep",
                "bf-sweep-parameter", "bf-sweep-values", "bf-open-submitted", "bf-preview-button"):
        assert css in widgets, css
    panes = {c for obj in layout.select(pn.viewable.Viewable) for c in getattr(obj, "css_classes", [])}
    assert {"bf-preview", "bf-bed-error", "bf-preview-stats"} <= panes


# -- form ⇄ text -----------------------------------------------------------------------------------------
def test_widget_edit_rewrites_the_text(page: DefinePage) -> None:
    page.widgets["particles.count"].value = 120
    page.widgets["cfd.regime"].value = "rans_komega_sst"
    page.widgets["export.formats"].value = ["stl", "obj"]
    page.widgets["name"].value = "my bed"
    parsed = pipeline.parse_bed(page.text)
    assert parsed.particles.count == 120 and parsed.cfd.regime == "rans_komega_sst"
    assert parsed.export.formats == ["stl", "obj"] and parsed.name == "my bed"
    assert page.text == pipeline.format_bed(parsed)
    assert page.valid and page.spec == parsed
    assert page.download.filename == "my_bed.bed"


def test_setting_one_of_an_exclusive_pair_clears_the_other(page: DefinePage) -> None:
    page.widgets["particles.target_porosity"].value = 0.42
    assert page.widgets["particles.count"].value is None
    assert page.valid, page.problems
    assert page.spec.particles.count is None and page.spec.particles.target_porosity == 0.42
    assert "count = none;" in page.text and "target_porosity = 0.42;" in page.text
    page.widgets["cfd.inlet_velocity"].value = 0.01
    assert page.widgets["cfd.particle_reynolds"].value is None
    assert page.spec.cfd.inlet_velocity == 0.01 and page.spec.cfd.particle_reynolds is None


def test_text_edit_updates_the_widgets(page: DefinePage) -> None:
    text = page.text.replace("diameter = 25 mm;", "diameter = 30 mm; // wider").replace(
        "count = 90;", "count = 70;").replace("kind = sphere;", "kind = sphere;\n    seed = 7;").replace(
        "    seed = 42;\n", "")
    page.editor.value = text
    assert page.valid, page.problems
    assert page.widgets["bed.diameter"].value == 30
    assert page.widgets["particles.count"].value == 70
    assert page.widgets["particles.seed"].value == 7
    assert page.text == text  # the user's text (comment, units) is kept, not rewritten
    assert page.spec.bed.diameter == pytest.approx(0.03)


def test_invalid_text_shows_line_and_column_and_leaves_the_widgets(page: DefinePage) -> None:
    before = {path: w.value for path, w in page.widgets.items()}
    text = page.text.replace("height = 40 mm;", "height = 40 mmm;")
    line, column = position(text, "mmm")
    page.editor.value = text
    assert not page.valid
    assert page.error_pane.visible
    assert f"editor.bed:{line}:{column}: unknown unit 'mmm'" in page.error_pane.object
    assert f"editor.bed:{line}:{column}" in page.problems[0]
    assert page.editor.annotations and page.editor.annotations[0]["row"] == line - 1
    assert page.editor.annotations[0]["column"] == column - 1
    assert {path: w.value for path, w in page.widgets.items()} == before
    assert page.spec == BedSpec()  # the last valid spec
    assert all(b.disabled for b in page.buttons)
    assert page.text == text  # the editor keeps what the user typed

    # a value out of range: a validation error, located too
    text = page.text.replace("height = 40 mmm;", "height = 40 mm;").replace("count = 90;", "count = 0;")
    line, column = position(text, "count = 0")
    page.editor.value = text
    assert not page.valid
    assert any(p.startswith(f"editor.bed:{line}:") and "particles.count" in p for p in page.problems)
    assert page.widgets["particles.count"].value == 90

    page.editor.value = text.replace("count = 0;", "count = 60;")
    assert page.valid and not page.error_pane.visible and page.editor.annotations == []
    assert not any(b.disabled for b in page.buttons)
    assert page.widgets["particles.count"].value == 60 and page.widgets["bed.height"].value == 40



def test_edited_text_is_parsed_off_the_event_loop_and_a_stale_parse_never_wins(page: DefinePage,
                                                                                monkeypatch) -> None:
    """Two edits: the first one's parse is held in its thread until the second's is shown. ``parse_bed`` is
    wrapped (the real parse, held back by an event) to order them: a truly slow parse needs a slow machine."""
    threads: list[threading.Thread] = []
    finished: list[str] = []
    release = threading.Event()
    real_parse = pipeline.parse_bed

    def parse(text: str, filename: str | None = None) -> BedSpec:
        threads.append(threading.current_thread())
        if "count = 11;" in text:
            release.wait(10)  # the older edit's parse: it ends last
        try:
            return real_parse(text, filename=filename)
        finally:
            finished.append(text)

    monkeypatch.setattr(pipeline, "parse_bed", parse)
    original = page.text

    async def until(condition, what: str) -> None:
        deadline = time.monotonic() + 60
        while not condition():
            assert time.monotonic() < deadline, what
            await asyncio.sleep(0.02)

    async def main() -> None:
        page.editor.value = original.replace("count = 90;", "count = 11;")
        page.editor.value = original.replace("count = 90;", "count = 12;")
        await until(lambda: page.spec.particles.count == 12, "the newer edit to be shown")
        release.set()
        await until(lambda: len(finished) == 2, "the older parse to end")
        for _ in range(10):
            await asyncio.sleep(0.02)  # its continuation runs on the loop: it must drop the result

    asyncio.run(main())
    assert threads and all(thread is not threading.main_thread() for thread in threads)
    assert page.spec.particles.count == 12 and page.widgets["particles.count"].value == 12 and page.valid
    assert "count = 12;" in page.text


def test_a_huge_text_is_refused_at_once_with_the_limit(page: DefinePage) -> None:
    page.editor.value = 'name = "' + "a" * 5_000_000 + '";\n'  # a paste from the browser
    assert not page.valid and page.error_pane.visible
    assert page.problems == ["editor.bed: too long: a .bed text may take at most 1,000,000 bytes (UTF-8), this one "
                             "takes 5,000,011"]
    assert page.spec == BedSpec() and all(b.disabled for b in page.buttons)
    page.editor.value = 'name = "' + "b" * 201 + '";'
    assert page.problems == ["editor.bed:1:8: name: must be at most 200 characters, got 201"]


def test_cross_field_violations_from_widgets_are_listed_and_disable_the_buttons(
        page: DefinePage, session: RecordingSession) -> None:
    page.widgets["particles.diameter"].value = 30  # mm, ≥ the column diameter (25 mm): two rules break
    assert not page.valid
    joined = "\n".join(page.problems)
    assert "particles.diameter: must be < bed.diameter" in joined
    assert "particles.count" in joined  # 90 such particles cannot fit either: every problem is listed
    assert len(page.problems) >= 2
    line, _ = position(page.text, "diameter = 30 mm")
    assert f"editor.bed:{line}:" in page.error_pane.object and page.error_pane.visible
    assert all(b.disabled for b in page.buttons)
    assert page.widgets["particles.diameter"].value == 30  # the user's entry stays to be fixed
    assert page.spec.particles.diameter == 0.005  # the last valid spec
    # a click that reaches the server anyway queues nothing
    assert asyncio.run(page.submit("pack")) is None
    assert session.errors and list_runs(services=session.services) == []

    page.widgets["bed.diameter"].value = 100
    page.widgets["bed.height"].value = 300
    assert page.valid, page.problems
    assert not page.error_pane.visible and not any(b.disabled for b in page.buttons)


def test_a_required_field_left_empty_is_a_problem(page: DefinePage) -> None:
    page.widgets["bed.diameter"].value = None
    assert not page.valid
    assert any("bed.diameter" in p and "required" in p for p in page.problems)
    page.widgets["bed.diameter"].value = 25
    assert page.valid


# -- presets, files ----------------------------------------------------------------------------------------
def test_presets_load_into_the_form_and_the_editor(page: DefinePage) -> None:
    names = preset_names()
    assert list(page.preset.options.values())[1:] == names
    for name in names:
        page.preset.value = name
        expected = load_preset(name)
        assert page.valid, page.problems
        assert page.spec == expected
        assert page.text == preset_path(name).read_text(encoding="utf-8")
        for path in BedSpec.field_paths():
            value, shown = page.widgets[path].value, to_display(BedSpec.parameter(path), expected.get(path))
            assert value == shown or value == pytest.approx(shown), (name, path)
        assert page.widgets["name"].value == expected.name
        assert page.preset.value == ""  # back to the placeholder, so that the same preset can be reloaded
    page.widgets["particles.seed"].value = 1234
    page.preset.value = names[-1]
    assert page.spec == load_preset(names[-1])


def test_upload_and_download_round_trip(page: DefinePage, session: RecordingSession) -> None:
    uploaded = BedSpec().updated({"name": "uploaded", "bed.diameter": 0.04, "particles.count": 150,
                                  "cfd.particle_reynolds": 20.0})
    page.upload.param.update(filename="uploaded.bed", value=pipeline.format_bed(uploaded).encode())
    assert page.valid and page.spec == uploaded
    assert page.widgets["bed.diameter"].value == 40 and page.widgets["particles.count"].value == 150

    page.widgets["particles.seed"].value = 9  # edit after loading: the download has it
    page.download._clicks += 1  # what a click on the download button does
    header, _, payload = page.download.data.partition(",")
    assert header.endswith(";base64") and page.download.filename == "uploaded.bed"
    downloaded = pipeline.parse_bed(base64.b64decode(payload).decode("utf-8"))
    assert downloaded == uploaded.updated({"particles.seed": 9})

    page.upload.param.update(filename="uploaded.bed", value=pipeline.format_bed(uploaded).encode())  # same file
    assert page.spec == uploaded and page.widgets["particles.seed"].value == 42

    page.upload.value = b"\xff\xfe not utf-8"
    assert session.errors and "UTF-8" in session.errors[-1]
    assert page.spec == uploaded


# -- submitting --------------------------------------------------------------------------------------------
def test_pack_only_records_a_queued_run_of_the_form_spec(page: DefinePage, session: RecordingSession) -> None:
    page.widgets["particles.count"].value = 55
    page.widgets["name"].value = "pack me"
    click(page.pack_button)
    run_id = page.submitted_id
    assert run_id is not None, session.errors
    run = get_run(run_id, services=session.services)
    assert run.status.value == "queued" and run.until == "pack" and run.created_by == "tester"
    assert BedSpec.from_dict(run.spec) == page.spec and BedSpec.from_dict(run.spec).particles.count == 55
    assert any(str(run_id) in message for message in session.infos)
    assert page.open_button.visible and str(run_id) in page.open_button.label
    click(page.open_button)
    assert session.page == "run" and session.run_id == run_id
    assert not any(b.disabled for b in page.buttons)  # enabled again after the submit


def test_run_cfd_queues_a_full_run(page: DefinePage, session: RecordingSession) -> None:
    click(page.run_button)
    run = get_run(page.submitted_id, services=session.services)
    assert run.status.value == "queued" and run.until == "solve"
    assert BedSpec.from_dict(run.spec) == BedSpec()


def test_sweep_creates_one_queued_run_per_value(page: DefinePage, session: RecordingSession) -> None:
    assert "particles.count" in page.sweep_parameter.options.values()
    assert "particles.kind" not in page.sweep_parameter.options.values()  # numeric fields only
    page.sweep_parameter.value = "particles.diameter"
    page.sweep_values.value = "3 mm, 4 mm, 0.0045"
    page.sweep_until.value = "pack"
    click(page.sweep_button)
    assert not session.errors, session.errors
    runs = sorted(list_runs(services=session.services), key=lambda r: r.id)
    assert len(runs) == 3 and {r.sweep_id for r in runs} == {runs[0].sweep_id} and runs[0].sweep_id is not None
    assert [BedSpec.from_dict(r.spec).particles.diameter for r in runs] == pytest.approx([0.003, 0.004, 0.0045])
    assert all(r.status.value == "queued" and r.until == "pack" for r in runs)
    assert page.submitted_id == runs[0].id
    assert asyncio.run(page.submit_sweep()) is not None  # again, through the coroutine
    assert len(list_runs(services=session.services)) == 6


@pytest.mark.parametrize("values, message", [("1, x", "not a number"), ("", "at least one value"),
                                             ("3 kg", "takes a length"), ("0.03", "bed.diameter")])
def test_bad_sweep_values_queue_nothing(page: DefinePage, session: RecordingSession, values: str,
                                        message: str) -> None:
    page.sweep_parameter.value = "particles.diameter"
    page.sweep_values.value = values
    assert asyncio.run(page.submit_sweep()) is None
    assert session.errors and message in session.errors[-1]
    assert list_runs(services=session.services) == []
    assert "Not queued" in page.submit_status.object


def test_an_unreachable_queue_is_a_notification(session: RecordingSession) -> None:
    settings = dataclasses.replace(session.services.settings, queue_url="redis://127.0.0.1:1/0")
    broken = RecordingSession(open_services(settings), user="tester")
    page = DefinePage(broken)
    click(page.run_button)
    assert page.submitted_id is None
    assert broken.errors and "cannot reach the job queue" in broken.errors[-1]
    assert "Not queued" in page.submit_status.object
    assert not any(b.disabled for b in page.buttons)


# -- preview -----------------------------------------------------------------------------------------------
def test_preview_packs_off_the_event_loop_and_shows_the_scene(page: DefinePage, monkeypatch) -> None:
    from pipeline.correlations import expected_porosity
    from vtkmodules.vtkRenderingCore import vtkRenderWindow

    threads: list[threading.Thread] = []
    real_pack = pipeline.pack

    def pack(spec, *args, **kwargs):
        threads.append(threading.current_thread())
        time.sleep(0.3)  # long enough for the ticker below to notice a blocked loop
        return real_pack(spec, *args, **kwargs)

    monkeypatch.setattr(pipeline, "pack", pack)
    page.widgets["particles.count"].value = 60

    async def main() -> tuple[bool, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        task = asyncio.ensure_future(ticker())
        shown = await page.update_preview()
        task.cancel()
        return shown, ticks

    shown, ticks = asyncio.run(main())
    assert shown, page.preview_status.object
    assert threads and threads[0] is not threading.main_thread()
    assert ticks >= 10  # the loop kept running while the packing was made
    result = page.preview
    packing = result.packing
    assert packing.count == 60 and packing.kind == "sphere"
    pane = page.scene_pane
    assert pane in page.scene_holder.objects and pane.visible and not page.scene_placeholder.visible
    assert pane.object is result.scene.render_window and isinstance(pane.object, vtkRenderWindow)
    assert pane.scene and pane.scene["dependencies"] and pane._arrays  # the serialised scene for vtk.js
    model = pane.get_root()  # what a browser gets: the scene, not an empty view
    assert model.scene == pane.scene and set(model.arrays) == set(result.scene.arrays)
    assert "bf-preview-scene" in pane.css_classes

    stats = page.preview_stats.object
    assert f"{packing.porosity():.3f}" in stats and f"{packing.core_porosity():.3f}" in stats
    assert f"{expected_porosity('sphere', packing.aspect_ratio):.3f}" in stats
    assert 0.3 < packing.porosity() < 0.7

    page.widgets["particles.count"].value = PREVIEW_LIMIT + 1  # refused: the old scene is hidden, not shown
    page.widgets["bed.diameter"].value = 200
    page.widgets["bed.height"].value = 200
    assert asyncio.run(page.update_preview()) is False
    assert not pane.visible and page.scene_placeholder.visible
    assert page.preview_stats.object == ""


def test_previews_are_shared_between_sessions(session: RecordingSession, monkeypatch) -> None:
    components.PACKINGS.clear()
    components.SCENES.clear()
    calls = []
    real_pack = pipeline.pack
    monkeypatch.setattr(pipeline, "pack", lambda spec, *a, **k: calls.append(spec) or real_pack(spec, *a, **k))
    first, second = DefinePage(session), DefinePage(RecordingSession(session.services, user="other"))
    for page in (first, second):
        page.widgets["particles.count"].value = 40
        assert asyncio.run(page.update_preview())
    assert len(calls) == 1
    assert first.preview.scene is second.preview.scene  # one serialised scene for both sessions
    assert first.scene_pane is not second.scene_pane and first.scene_pane._arrays is second.scene_pane._arrays


def test_preview_refuses_too_many_particles(page: DefinePage, monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "pack", lambda *a, **k: pytest.fail("a refused preview must not pack"))
    page.widgets["bed.diameter"].value = 200
    page.widgets["bed.height"].value = 200
    page.widgets["particles.count"].value = PREVIEW_LIMIT + 1
    assert page.valid, page.problems
    assert asyncio.run(page.update_preview()) is False
    assert "5,000" in page.preview_status.object and page.preview is None
    # a target porosity counts as the particles it would take
    page.widgets["particles.target_porosity"].value = 0.4
    assert define.preview_count(page.spec) > PREVIEW_LIMIT
    assert asyncio.run(page.update_preview()) is False


def test_a_packing_error_becomes_a_message(page: DefinePage, session: RecordingSession) -> None:
    page.widgets["particles.count"].value = 215  # passes the rules, but the packer cannot fit them
    assert page.valid, page.problems
    assert asyncio.run(page.update_preview()) is False
    assert "No preview" in page.preview_status.object and "do not fit" in page.preview_status.object
    assert page.preview is None and not session.errors
    page.preset.value = "cylinders"  # the native packer packs spheres only: a message too
    assert asyncio.run(page.update_preview()) is False
    assert "spheres only" in page.preview_status.object


def test_a_preview_of_a_spec_changed_meanwhile_is_dropped(page: DefinePage) -> None:
    page.debounce_seconds = 3600  # keep the debounced preview out of this test

    async def main() -> None:
        stale = asyncio.ensure_future(page.update_preview())
        await asyncio.sleep(0)  # it starts, takes the current spec and goes to its thread
        page.widgets["particles.count"].value = 45
        assert await stale is False
        assert page.preview is None
        assert await page.update_preview()

    asyncio.run(main())
    assert page.preview.packing.count == 45


def test_previews_are_debounced(page: DefinePage) -> None:
    page.debounce_seconds = 0.3
    calls = []
    real = page.update_preview

    async def counted() -> bool:
        calls.append(page.spec.particles.count)
        return await real()

    page.update_preview = counted  # type: ignore[method-assign]

    async def main() -> None:
        for count in (30, 31, 32, 33):  # typed quickly: one preview, of the last
            page.widgets["particles.count"].value = count
            await asyncio.sleep(0.05)
        page.editor.value = page.text.replace("count = 33;", "count = 3x;")  # invalid: no preview
        page.editor.value = page.text.replace("count = 3x;", "count = 34;")
        deadline = time.monotonic() + 60
        while page.preview is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)

    asyncio.run(main())
    assert calls == [34]
    assert page.preview is not None and page.preview.packing.count == 34


def test_a_spec_valid_again_is_previewed_even_if_unchanged(page: DefinePage) -> None:
    page.debounce_seconds = 0.2
    original = page.text

    async def main() -> None:
        page.editor.value = original.replace("count = 90;", "count = ;")
        await asyncio.sleep(0.5)
        assert page.preview is None and not page.valid
        page.editor.value = original  # the same spec as before: still never previewed
        deadline = time.monotonic() + 60
        while page.preview is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    asyncio.run(main())
    assert page.preview is not None and page.preview.spec == BedSpec()


def test_the_page_builds_without_packing(session: RecordingSession) -> None:
    page = DefinePage(session)
    pn.panel(page).get_root()
    assert page.preview is None  # nothing packed while building: the preview comes later, off the loop
    assert page.widgets["bed.diameter"].value == 25
