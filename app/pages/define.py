"""The define page: describe a bed (form or `.bed` text, kept in sync), preview a quick packing, submit.

* The form is generated from the :class:`~pipeline.BedSpec` param declarations (:mod:`app.spec_form`).
* The `.bed` editor and the form mirror each other: an edited widget rewrites the text
  (:func:`pipeline.format_bed`), edited text is parsed (:func:`pipeline.parse_bed`, in a worker thread
  where an event loop runs: a text may take up to ``MAX_BED_BYTES``; the newest edit wins) and fills the
  widgets. Errors (syntax, field and cross-field rules) are listed with their ``editor.bed:LINE:COL``
  and annotated in the editor; the widgets keep the last valid spec and the submit buttons are
  disabled until the spec is valid again.
* A 3D preview of a quick native packing, made in a worker thread, a second after the last valid
  change (or on "Preview"); a result for a spec that changed meanwhile is dropped. Packings and their
  scenes are shared between sessions (the dashboard's caches, :data:`app.components.PACKINGS` and
  :data:`~app.components.SCENES`; scenes are built in its one VTK thread).
* "Pack only", "Run CFD" and "Sweep" queue runs through :mod:`pipeline.jobs`, off the event loop.

CSS classes (for browser tests): ``bf-field-<section>-<field>``, ``bf-field-name``,
``bf-field-description`` (see :mod:`app.spec_form`), ``bf-section-<section>`` (cards), ``bf-preset``,
``bf-bed-editor``, ``bf-bed-error``, ``bf-upload-bed``, ``bf-download-bed``, ``bf-summary``,
``bf-preview`` (the preview column), ``bf-preview-scene`` (the VTK pane, a :class:`~app.components.SceneView`),
``bf-preview-stats``, ``bf-preview-status``, ``bf-preview-button``, ``bf-pack``, ``bf-run``, ``bf-sweep``,
``bf-sweep-parameter``, ``bf-sweep-values``, ``bf-sweep-until``, ``bf-submit-status``,
``bf-open-submitted``.
"""

from __future__ import annotations

import asyncio
import html
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import panel as pn
import param

import pipeline
from app import icons
from app.browser_fixes import AceEchoFix, VTKRemovalFix
from app.components import PACKINGS, SCENES, VTK_EXECUTOR, SceneData, SceneView, soon
from pipeline.jobs.control import parse_sweep_values
from app.session import AppSession
from app.spec_form import SpecForm, numeric_paths, parameter_of, spec_values
from pipeline.errors import BedflowError, BedSyntaxError, BedValidationError, SourceLocation
from pipeline.spec import BedSpec
from pipeline.spec.bedspec import exclusive_partner
from pipeline.spec.fields import unit_of

#: The name parse errors of the editor's text carry (``editor.bed:2:16: ...``).
EDITOR_FILENAME = "editor.bed"
#: Previews of more particles than this are refused (a message, not a long packing).
PREVIEW_LIMIT = 5_000
#: Seconds after the last valid change before the preview packs.
DEBOUNCE_SECONDS = 1.0
#: Targets of the submit buttons and sweeps (``pipeline.jobs.submit(until=...)``).
UNTIL = ("solve", "mesh", "pack")

_PLACEHOLDER = "Choose a preset…"
_SCENE_HEIGHT = 520


@dataclass
class Preview:
    """A finished preview: the spec, its packing, its serialised scene and the correlation's porosity."""

    spec: BedSpec
    packing: Any
    scene: SceneData
    expected_porosity: float
    correlation: str


def preview_count(spec: BedSpec) -> int:
    """How many particles a preview of ``spec`` packs (estimated from the target porosity if no count)."""
    p = spec.particles
    if p.count is not None:
        return int(p.count)
    return round((1.0 - p.target_porosity) * spec.bed.volume() / p.volume())


def build_preview(spec: BedSpec) -> Preview:
    """Pack ``spec`` with the native packer and build its scene (slow: call it in a worker thread).

    Raises :class:`~pipeline.BedflowError` (``PackingError``, or ``BedValidationError`` for a spec the
    native packer cannot take) for a user to read.
    """
    from pipeline.correlations import expected_porosity, porosity_correlation
    from pipeline.packing import packing_digest
    from viz import scene

    native = spec.updated({"packing.method": "native"})
    key = ("preview", packing_digest(native))
    packing = PACKINGS.get(key, lambda: pipeline.pack(native)).result()

    def serialise() -> SceneData:  # in the VTK thread
        return SceneData.capture(scene.packing_scene(packing, point_budget=scene.INTERACTIVE_POINT_BUDGET,
                                                     window_size=(600, 600)))

    serialised = SCENES.get(key, serialise, VTK_EXECUTOR).result()
    return Preview(spec, packing, serialised, expected_porosity(packing.kind, packing.aspect_ratio),
                   porosity_correlation(packing.kind).name)


def _event_loop_available() -> bool:
    """Whether async work can be scheduled (a served session, or a running asyncio loop)."""
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        return True
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _annotation(location: SourceLocation | None, message: str) -> list[dict[str, Any]]:
    if location is None or location.line < 1:
        return []
    return [{"row": location.line - 1, "column": max(0, location.column - 1), "text": message, "type": "error"}]


def _parse_editor_text(text: str) -> BedSpec | BedSyntaxError | BedValidationError:
    """The spec of the editor's text, or why it is not one (blocking: a long text takes a second)."""
    try:
        return pipeline.parse_bed(text, filename=EDITOR_FILENAME)
    except (BedSyntaxError, BedValidationError) as error:
        return error


def _error_message(error: BaseException) -> str:
    if isinstance(error, BedValidationError):
        return "; ".join(str(p) for p in error.problems)
    return str(error) if isinstance(error, BedflowError) else f"{type(error).__name__}: {error}"


class DefinePage(pn.viewable.Viewer):
    """The define page of one session. Build it with the session, show :meth:`panel`.

    State: :attr:`spec` (the last valid spec), :attr:`valid` (the editor and form hold a valid spec),
    :attr:`problems` (the lines of the error pane), :attr:`preview` (the last preview shown),
    :attr:`submitted_id` (the run the "open" button opens).
    """

    title = "define"

    def __init__(self, session: AppSession, spec: BedSpec | None = None) -> None:
        super().__init__()
        self.session = session
        self.spec: BedSpec = spec or BedSpec()
        self.valid = True
        self.problems: list[str] = []
        self.preview: Preview | None = None
        self.submitted_id: int | None = None
        self.debounce_seconds = DEBOUNCE_SECONDS
        self._draft: dict[str, Any] = spec_values(self.spec)  # the form's values, SI (may break rules)
        self._text_quiet = False
        self._text_version = 0  # bumped on every edit of the text or the form: older parses are dropped
        self._busy = False
        self._spec_version = 0  # bumped on every new valid spec: previews of older ones are dropped
        self._debounce_token = 0
        self._preview_token = 0
        self._previewed_version = -1  # the spec version the last finished preview (or refusal) was for
        self._previewing_version = -1  # the spec version being packed now

        # -- form and text -------------------------------------------------------------------------
        self.form = SpecForm(self.spec)
        self.form.on_change(self._on_field)
        self.editor = pn.widgets.CodeEditor(
            value=pipeline.format_bed(self.spec), language="c_cpp", height=620,
            sizing_mode="stretch_width", css_classes=["bf-bed-editor"])
        self.editor.param.watch(self._on_text, "value")
        self.error_pane = pn.pane.HTML("", visible=False, sizing_mode="stretch_width", css_classes=["bf-bed-error"],
                                       styles={"color": "#8a1c1c", "background": "#fdecea",
                                               "border-left": "4px solid #d32f2f", "padding": "4px 10px"})
        self.summary_pane = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bf-summary"])

        from pipeline.presets import preset_names

        self.preset = pn.widgets.Select(label="Preset", options={_PLACEHOLDER: "", **{n: n for n in preset_names()}},
                                        value="", css_classes=["bf-preset"], sizing_mode="stretch_width")
        self.preset.param.watch(self._on_preset, "value")
        self.upload = pn.widgets.FileInput(accept=".bed", multiple=False, css_classes=["bf-upload-bed"],
                                           sizing_mode="stretch_width")
        self.upload.param.watch(self._on_upload, "value", onlychanged=False)  # the same file again reloads it
        self.download = pn.widgets.FileDownload(callback=self._download_file, filename=self._filename(),
                                                color="default", css_classes=["bf-download-bed"],
                                                sizing_mode="stretch_width")

        # -- preview -------------------------------------------------------------------------------
        self.scene_placeholder = pn.pane.HTML("The preview appears here.", height=_SCENE_HEIGHT,
                                              sizing_mode="stretch_width",
                                              styles={"color": "#777", "background": "#f6f6f6"})
        self.scene_pane: SceneView | None = None  # made with the first scene (building one imports VTK)
        self.scene_holder = pn.Column(self.scene_placeholder, height=_SCENE_HEIGHT, sizing_mode="stretch_width")
        self._vtk_fix = VTKRemovalFix(width=0, height=0, margin=0)
        self._ace_fix = AceEchoFix(width=0, height=0, margin=0)
        self.preview_stats = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bf-preview-stats"])
        self.preview_status = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bf-preview-status"])
        self.preview_button = pn.widgets.Button(label="Preview", color="default", icon=icons.CUBE,
                                                css_classes=["bf-preview-button"])
        self.preview_button.on_click(self._on_preview_click)

        # -- submission ----------------------------------------------------------------------------
        self.pack_button = pn.widgets.Button(label="Pack only", color="default", css_classes=["bf-pack"])
        self.run_button = pn.widgets.Button(label="Run CFD", color="primary", css_classes=["bf-run"])
        self.pack_button.on_click(self._on_pack_click)
        self.run_button.on_click(self._on_run_click)
        self.sweep_parameter = pn.widgets.Select(
            label="Sweep parameter", options={f"{p} ({unit_of(parameter_of(p))})" if unit_of(parameter_of(p)) else p: p
                                             for p in numeric_paths()},
            value="cfd.particle_reynolds", css_classes=["bf-sweep-parameter"], sizing_mode="stretch_width")
        self.sweep_values = pn.widgets.TextInput(
            label="Values (comma-separated; SI or with a unit)", placeholder="1, 5, 10",
            css_classes=["bf-sweep-values"], sizing_mode="stretch_width")
        self.sweep_until = pn.widgets.Select(label="Sweep runs until", options=list(UNTIL), value="solve",
                                             css_classes=["bf-sweep-until"], sizing_mode="stretch_width")
        self.sweep_button = pn.widgets.Button(label="Sweep", color="default", css_classes=["bf-sweep"])
        self.sweep_button.on_click(self._on_sweep_click)
        self.submit_status = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bf-submit-status"])
        self.open_button = pn.widgets.Button(label="Open run", color="success", visible=False,
                                             css_classes=["bf-open-submitted"])
        self.open_button.on_click(lambda event: self.open_submitted())

        self._show_valid(self.spec, update_widgets=False)  # schedules the first preview where a loop runs

    # -- public API ----------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """The `.bed` text in the editor."""
        return self.editor.value

    @property
    def widgets(self) -> dict[str, pn.widgets.Widget]:
        """The form's widget of every field path (``name``, ``description``, ``section.field``)."""
        return self.form.widgets

    @property
    def buttons(self) -> list[pn.widgets.Button]:
        """The submit buttons (disabled while the spec is invalid)."""
        return [self.pack_button, self.run_button, self.sweep_button]

    def set_text(self, text: str) -> None:
        """Put ``text`` in the editor and apply it (as if typed)."""
        with self._quiet_text():
            self.editor.value = text
        self._accept_text(text, from_form=False)

    def load_preset(self, name: str) -> None:
        """Load a shipped example bed (:mod:`pipeline.presets`) into the editor and the form."""
        from pipeline.presets import preset_path

        self.set_text(preset_path(name).read_text(encoding="utf-8"))

    def load_file(self, content: bytes | str) -> None:
        """Load an uploaded `.bed` file into the editor and the form."""
        if isinstance(content, bytes):
            try:
                content = content.decode("utf-8")
            except UnicodeDecodeError as error:
                self.session.error(f"The uploaded file is not UTF-8 text ({error.reason}).")
                return
        self.set_text(content)

    def open_submitted(self) -> None:
        """Open the run last submitted (the first run of a sweep) on the run page."""
        if self.submitted_id is not None:
            self.session.open_run(self.submitted_id)

    async def update_preview(self) -> bool:
        """Pack the current spec natively off the event loop and show it; ``True`` if a preview was shown.

        Refuses (with a message) an invalid spec or more than :data:`PREVIEW_LIMIT` particles; a packing
        error becomes a message; a result whose spec changed meanwhile is dropped.
        """
        self._preview_token += 1
        token, version, spec = self._preview_token, self._spec_version, self.spec
        self.scene_holder.loading, self._previewing_version = False, -1  # an older preview in flight is stale now
        if not self.valid:
            self._preview_message("Fix the specification to preview it.")
            return False
        count = preview_count(spec)
        if count > PREVIEW_LIMIT:
            self._previewed_version = version
            self._clear_preview(f"No preview for {count:,} particles: previews pack at most {PREVIEW_LIMIT:,}. "
                                f"Submit “Pack only” to pack this bed on a worker.")
            return False
        self._preview_message(f"Packing {count:,} particles…")
        self.scene_holder.loading = True
        self._previewing_version = version
        try:
            result = await asyncio.to_thread(build_preview, spec)
        except BedflowError as error:  # PackingError (they do not fit), a spec the native packer refuses
            if token == self._preview_token and version == self._spec_version:
                self._previewed_version = version
                self._clear_preview(f"No preview: {html.escape(_error_message(error), quote=False)}")
            return False
        except Exception as error:  # noqa: BLE001 - a failed preview must not kill the page
            if token == self._preview_token:
                self._clear_preview("The preview failed.")
                self.session.error(error)
            return False
        finally:
            if token == self._preview_token:
                self.scene_holder.loading = False
                self._previewing_version = -1
        if token != self._preview_token or version != self._spec_version:
            return False  # stale: a newer spec (or preview) arrived while this one was packing
        self._previewed_version = version
        self._show_preview(result)
        return True

    async def submit(self, until: str = "solve") -> int | None:
        """Queue a run of the current spec up to ``until``; the run id, or ``None`` (the error is notified)."""
        if until not in UNTIL:
            raise ValueError(f"until must be one of {UNTIL}")
        if not self.valid:
            self.session.error("The specification is invalid: fix the problems listed under the editor first.")
            return None
        spec = self.spec
        from pipeline import jobs

        with self._submitting():
            try:
                run_id = await asyncio.to_thread(jobs.submit, spec, until=until, created_by=self.session.user,
                                                 settings=self.session.services.settings)
            except Exception as error:  # noqa: BLE001 - invalid spec, queue unreachable: a notification
                self._failed_submit(error)
                return None
        what = {"solve": "run", "mesh": "run (up to the mesh)", "pack": "packing run"}[until]
        self._submitted(run_id, f"Queued {what} {run_id} of “{spec.name}”.")
        return run_id

    async def submit_sweep(self) -> int | None:
        """Queue a sweep of the chosen parameter over the typed values; the sweep id, or ``None``."""
        if not self.valid:
            self.session.error("The specification is invalid: fix the problems listed under the editor first.")
            return None
        parameter, spec, until = self.sweep_parameter.value, self.spec, self.sweep_until.value
        try:
            values = parse_sweep_values(parameter, self.sweep_values.value_input or self.sweep_values.value)
        except ValueError as error:
            self._failed_submit(f"Sweep values: {error}")
            return None
        from pipeline import jobs

        with self._submitting():
            try:
                sweep = await asyncio.to_thread(jobs.submit_sweep, spec, parameter, values, until=until,
                                                created_by=self.session.user, settings=self.session.services.settings)
            except Exception as error:  # noqa: BLE001
                self._failed_submit(error)
                return None
        self._submitted(sweep.run_ids[0], f"Queued sweep {sweep.id} of {parameter}: {len(sweep.run_ids)} runs "
                                          f"({', '.join(str(i) for i in sweep.run_ids)}).")
        return sweep.id

    def __panel__(self) -> pn.viewable.Viewable:
        toolbar = pn.Row(self.preset, self.upload, self.download, sizing_mode="stretch_width")
        form = pn.Column("### Bed", self.form.layout(), sizing_mode="stretch_width", min_width=320)
        text = pn.Column("### `.bed` text", self.editor, self.error_pane, self.summary_pane,
                         sizing_mode="stretch_width", min_width=360)
        sweep = pn.Card(self.sweep_parameter, self.sweep_values, self.sweep_until, self.sweep_button,
                        title="Sweep", collapsed=False, sizing_mode="stretch_width")
        actions = pn.Column("### Submit", pn.Row(self.pack_button, self.run_button), sweep, self.submit_status,
                            self.open_button, sizing_mode="stretch_width")
        preview = pn.Column("### Preview", self.scene_holder, self.preview_status, self.preview_stats,
                            self.preview_button, actions, sizing_mode="stretch_width", min_width=360,
                            css_classes=["bf-preview"])
        return pn.Column(toolbar, pn.Row(form, text, preview, sizing_mode="stretch_width"), self._vtk_fix, self._ace_fix,
                         sizing_mode="stretch_width")

    # -- form → text ----------------------------------------------------------------------------------
    def _on_field(self, path: str, value: Any) -> None:
        self._text_version += 1  # the form's state wins over a text parse still in its thread
        try:
            self._draft[path] = value
            partner = exclusive_partner(path)
            if partner is not None and value is not None:  # setting one of a pair clears the other
                self._draft[partner] = None
                self.form.show({partner: None})
            try:  # each field checked; the cross-field rules are the text parse's, with line and column
                spec = BedSpec.from_paths(self._draft, rules=False)
            except BedValidationError as error:
                self._show_invalid([str(p) for p in error.problems], [])
                return
            text = pipeline.format_bed(spec)
            with self._quiet_text():
                self.editor.value = text
            self._accept_text(text, from_form=True)
        except Exception as error:  # noqa: BLE001
            self.session.error(error)

    # -- text → form ----------------------------------------------------------------------------------
    def _on_text(self, event: param.parameterized.Event) -> None:
        if self._text_quiet:
            return
        try:
            self._accept_text(event.new, from_form=False)
        except Exception as error:  # noqa: BLE001
            self.session.error(error)

    def _accept_text(self, text: str, from_form: bool) -> None:
        """Parse ``text`` and show the outcome. Where an event loop runs, an edited text is parsed in a
        worker thread and an outcome is shown only if no newer edit came meanwhile; text written from the
        form (a few kB of checked values) and text in scripts and tests are parsed at once."""
        self._text_version += 1
        version = self._text_version
        if from_form or not _event_loop_available():
            self._show_parsed(_parse_editor_text(text), from_form)
            return

        async def parse() -> None:
            try:
                outcome = await asyncio.to_thread(_parse_editor_text, text)
                if version == self._text_version:  # else stale: a newer edit is parsed or shown
                    self._show_parsed(outcome, from_form)
            except Exception as error:  # noqa: BLE001 - a failed parse must not kill the page
                self.session.error(error)

        soon(parse)

    def _show_parsed(self, outcome: BedSpec | BedSyntaxError | BedValidationError, from_form: bool) -> None:
        if isinstance(outcome, BedSyntaxError):
            where = outcome.location
            line = f"{where.prefix()}: {outcome.message}"
            if where.line >= 1:
                line += f" (line {where.line}, column {where.column})"
            self._show_invalid([line], _annotation(where, outcome.message), detail=where.caret() if where.line else "")
        elif isinstance(outcome, BedValidationError):
            annotations = [a for p in outcome.problems for a in _annotation(p.location, f"{p.path}: {p.message}")]
            self._show_invalid([str(p) for p in outcome.problems], annotations)
        else:
            self._show_valid(outcome, update_widgets=not from_form)

    # -- showing the state ------------------------------------------------------------------------------
    def _show_valid(self, spec: BedSpec, update_widgets: bool) -> None:
        changed = spec != self.spec
        self.spec, self.valid, self.problems = spec, True, []
        if update_widgets:
            self.form.show(spec)
        self._draft = spec_values(spec)
        self.error_pane.param.update(object="", visible=False)
        self.editor.annotations = []
        self.download.filename = self._filename()
        rows = "".join(f"<tr><th style='text-align:left;padding-right:8px'>{html.escape(k)}</th>"
                       f"<td>{html.escape(v)}</td></tr>" for k, v in spec.summary().items())
        self.summary_pane.object = f"<table style='font-size:90%'>{rows}</table>"
        self._update_buttons()
        if changed:
            self._spec_version += 1
        if changed or self._spec_version not in (self._previewed_version, self._previewing_version):
            self._schedule_preview()  # a new spec, or one valid again that was never previewed

    def _show_invalid(self, lines: list[str], annotations: list[dict[str, Any]], detail: str = "") -> None:
        self.valid, self.problems = False, list(lines)
        count = len(lines)
        items = "".join(f"<li>{html.escape(line, quote=False)}</li>" for line in lines)
        caret = f"<pre style='margin:4px 0'>{html.escape(detail, quote=False)}</pre>" if detail else ""
        self.error_pane.param.update(
            object=f"<b>{count} problem{'s' if count > 1 else ''}</b> (the form keeps the last valid bed):"
                   f"<ul style='margin:4px 0'>{items}</ul>{caret}",
            visible=True)
        self.editor.annotations = annotations
        self._update_buttons()

    def _update_buttons(self) -> None:
        for button in self.buttons:
            button.disabled = self._busy or not self.valid

    def _filename(self) -> str:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.spec.name).strip("._") or "bed"
        return f"{safe}.bed"

    # -- presets, files -----------------------------------------------------------------------------------
    def _on_preset(self, event: param.parameterized.Event) -> None:
        if event.new:
            self.session.guard(self.load_preset, event.new)
            self.preset.value = ""  # back to the placeholder: choosing the same preset again reloads it

    def _on_upload(self, event: param.parameterized.Event) -> None:
        if event.new:
            self.session.guard(self.load_file, event.new)

    def _download_file(self) -> io.StringIO:
        return io.StringIO(self.editor.value)

    @contextmanager
    def _quiet_text(self) -> Iterator[None]:
        previous, self._text_quiet = self._text_quiet, True
        try:
            yield
        finally:
            self._text_quiet = previous

    # -- preview --------------------------------------------------------------------------------------
    def _schedule_preview(self) -> None:
        """Preview the current spec :attr:`debounce_seconds` after the last call (only where a loop runs)."""
        self._debounce_token += 1
        token = self._debounce_token
        if not _event_loop_available():
            return  # a script or a test: previews only on demand (update_preview)

        async def later() -> None:
            await asyncio.sleep(self.debounce_seconds)
            if token == self._debounce_token and self.valid:
                await self.update_preview()

        soon(later)

    async def _on_preview_click(self, event: Any) -> None:
        self._debounce_token += 1  # a pending debounced preview is now redundant
        await self.update_preview()

    def _show_preview(self, result: Preview) -> None:
        packing = result.packing
        self.preview = result
        if self.scene_pane is None:  # added to the page once, then only updated and hidden
            self.scene_pane = SceneView(height=_SCENE_HEIGHT, sizing_mode="stretch_width",
                                        css_classes=["bf-preview-scene"])
            self.scene_pane.show(result.scene)
            self.scene_holder.objects = [self.scene_placeholder, self.scene_pane]
        else:
            self.scene_pane.show(result.scene)
        self.scene_pane.visible, self.scene_placeholder.visible = True, False
        rows = [
            ("particles", f"{packing.count} {packing.kind}s, D/d = {packing.aspect_ratio:.2f}"),
            ("porosity ε", f"{packing.porosity():.3f}"),
            ("core porosity", f"{packing.core_porosity():.3f}"),
            ("correlation", f"{result.expected_porosity:.3f} ({html.escape(result.correlation)})"),
        ]
        cells = "".join(f"<tr><th style='text-align:left;padding-right:8px'>{k}</th><td>{v}</td></tr>" for k, v in rows)
        self.preview_stats.object = f"<table>{cells}</table>"
        self.preview_status.object = "Quick native packing of this bed (the run packs it again with its own engine)."

    def _clear_preview(self, message: str) -> None:
        self.preview = None
        if self.scene_pane is not None:
            self.scene_pane.visible = False
        self.scene_placeholder.param.update(object="", visible=True)
        self.preview_stats.object = ""
        self._preview_message(message)

    def _preview_message(self, message: str) -> None:
        self.preview_status.object = message

    # -- submission ---------------------------------------------------------------------------------------
    async def _on_pack_click(self, event: Any) -> None:
        await self.submit("pack")

    async def _on_run_click(self, event: Any) -> None:
        await self.submit("solve")

    async def _on_sweep_click(self, event: Any) -> None:
        await self.submit_sweep()

    @contextmanager
    def _submitting(self) -> Iterator[None]:
        self._busy = True
        self._update_buttons()
        try:
            yield
        finally:
            self._busy = False
            self._update_buttons()

    def _submitted(self, run_id: int | None, message: str) -> None:
        self.submitted_id = run_id
        self.session.info(message)
        self.submit_status.object = html.escape(message, quote=False)
        if run_id is not None:
            self.open_button.param.update(label=f"Open run {run_id}", visible=True)

    def _failed_submit(self, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else _error_message(error)
        self.session.error(error)
        self.submit_status.object = f"<span style='color:#b00020'>Not queued: {html.escape(text, quote=False)}</span>"


__all__ = ["DEBOUNCE_SECONDS", "EDITOR_FILENAME", "PREVIEW_LIMIT", "DefinePage", "Preview",
           "build_preview", "parse_sweep_values", "preview_count"]
