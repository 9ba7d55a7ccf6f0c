"""Fixes for Panel 1.9.4's browser side, as invisible components the template includes once per page."""

from __future__ import annotations

from panel.custom import JSComponent


class VTKRemovalFix(JSComponent):
    """An invisible component that fixes Panel 1.9's VTK view removal in the browser, once per page.

    ``VTKSynchronizedPlotView.remove`` deletes its vtk.js render window and then calls
    ``AbstractVTKView.remove``, which reads that deleted window and throws (holoviz/panel#5809). The
    exception aborts the document update, so leaving a page that shows a VTK pane (the navigation of
    :mod:`app.main` swaps pages) leaves the old page on screen. This patches the view class to let
    ``AbstractVTKView.remove`` do the clean-up alone. Put one in any page that shows a VTK pane.
    """

    _esm = """
    export function render({ el }) {
      const Model = window.Bokeh?.Models?.get?.("panel.models.vtk.VTKSynchronizedPlot")
      const View = Model?.prototype?.default_view
      if (View != null && !View.prototype.__bedflow_remove_fix) {
        const abstractVTK = Object.getPrototypeOf(View.prototype)      // AbstractVTKView
        const htmlBox = Object.getPrototypeOf(abstractVTK)             // what AbstractVTKView extends
        View.prototype.remove = function () {
          if (this._vtk_renwin == null) {  // between a scene rebuild and its render: nothing of vtk.js to free
            htmlBox.remove.call(this)
          } else {
            abstractVTK.remove.call(this)  // frees the interactor, then the render window, once
          }
        }
        View.prototype.__bedflow_remove_fix = true
      }
      el.style.display = "none"
    }
    """


class AceEchoFix(JSComponent):
    """An invisible component that stops Panel 1.9.4's code editor from echoing the server's own text back.

    When the server sets a ``CodeEditor``'s value, the browser's Ace editor applies it with ``setValue``,
    which fires two "change" events (remove everything, then insert the new text). With ``on_keyup`` each
    one sends the editor's content to the server as if typed: first an *empty* text, then the server's text.
    The define page parses every text it receives; an empty `.bed` is the default bed, so each form edit
    briefly reset the form to the defaults on the server, and under load that echo arrived after the user's
    next edits and undid them (a Run then submitted a bed the user had not defined). This patches the
    editor's view so that changes applied from the model are not sent back. Put one in any page with a
    ``CodeEditor``.
    """

    _esm = """
    export function render({ el }) {
      const Model = window.Bokeh?.Models?.get?.("panel.models.ace.AcePlot")
      const View = Model?.prototype?.default_view
      if (View != null && !View.prototype.__bedflow_echo_fix) {
        const proto = View.prototype
        const fromModel = proto._update_code_from_model
        const fromEditor = proto._update_code_from_editor
        const inputFromEditor = proto._update_code_input_from_editor
        proto._update_code_from_model = function () {
          this.__bedflow_applying = true
          try { fromModel.call(this) } finally { this.__bedflow_applying = false }
        }
        proto._update_code_from_editor = function () {
          if (!this.__bedflow_applying) fromEditor.call(this)
        }
        proto._update_code_input_from_editor = function () {
          if (!this.__bedflow_applying) inputFromEditor.call(this)
        }
        proto.__bedflow_echo_fix = true
      }
      el.style.display = "none"
    }
    """
