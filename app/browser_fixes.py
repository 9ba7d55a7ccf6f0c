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
