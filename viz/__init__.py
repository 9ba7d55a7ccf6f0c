"""Rendering for bedflow: PyVista scenes and HoloViews plots of packings, meshes, fields and results.

Every function here draws objects produced by :mod:`pipeline`; none computes science of its own.

* :mod:`viz.headless` — picks a working offscreen OpenGL (EGL, else OSMesa) before VTK loads;
* :mod:`viz.scene` — 3D: ``packing_scene``, ``mesh_scene``, ``fields_scene`` → ``pyvista.Plotter``;
  ``to_png``, ``to_html`` (self-contained vtk.js page);
* :mod:`viz.plots` — 2D (HoloViews): porosity profiles, residuals, the friction-factor chart, sweeps,
  mesh independence, pressure along the bed; ``save`` to PNG/SVG (matplotlib) or HTML (Bokeh);
* :mod:`viz.figures` — all of a run's or a packing's pictures as files (``render_run``).
* :mod:`viz.notebook` — ``setup``, the one call at the top of every research notebook.

Importing :mod:`viz` loads neither VTK nor HoloViews.
"""
