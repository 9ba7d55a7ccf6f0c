"""3D scenes of packed beds, meshes and flow fields (PyVista), for notebooks, files and papers.

Each ``*_scene`` function returns a :class:`pyvista.Plotter`: a notebook shows it
interactively, :func:`to_png` saves a picture and :func:`to_html` a standalone
interactive page. Rendering is offscreen (see :mod:`viz.headless`, which every
scene calls first); ``pyvista`` is imported only then, so importing this
module is cheap and cannot crash a process without OpenGL.

All scenes share one look: white background, black text, a camera from the
front right and 30° above (:data:`PACKING_VIEW`, :data:`CASE_VIEW`) that fits
the tall, thin column between the title and the colour bar, perceptually
uniform colour maps, anti-aliasing. Lengths are in metres, as in
:mod:`pipeline`; the colour bars say their units.
"""

from __future__ import annotations

import base64
import io
import json
import math
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.folder import FOAM_FILE

from . import headless

if TYPE_CHECKING:
    import pyvista as pv

    from pipeline.packing import Packing

#: Colour of each OpenFOAM patch in :func:`mesh_scene` (Okabe–Ito colour-blind-safe palette).
PATCH_COLOURS: dict[str, str] = {
    "inlet": "#0072B2",  # blue
    "outlet": "#D55E00",  # vermillion
    "wall": "#A0A0A0",  # mid grey
    "particles": "#E69F00",  # orange
}
#: Patches not named above.
OTHER_PATCH_COLOUR = "#CC79A7"  # reddish purple
#: The volume cells on the clip plane of :func:`mesh_scene`: faces and edges.
CELL_COLOUR = "#F2F2F2"
CELL_EDGE_COLOUR = "#303030"
#: Velocity colour bars end at this percentile of the sliced values (faster: the top colour, flagged).
SPEED_PERCENTILE = 99.0
#: The particles cut by the slices of :func:`fields_scene`.
SECTION_COLOUR = "#C8C8C8"
#: Normal of the plane through the axis that clips meshes and slices fields; the half it points to is removed.
CUT_NORMAL = (0.0, -1.0, 0.0)

#: ``color_by`` of :func:`packing_scene`: scalar bar title (with unit) and colour map.
PACKING_COLOURINGS: dict[str, tuple[str, str]] = {
    "height": ("Height z (mm)", "viridis"),
    "radius": ("Radial position r/R (-)", "cividis"),
    "local_porosity": ("Local radial porosity ε (-)", "plasma"),
}
#: ``field`` of :func:`fields_scene`: scalar bar title (with unit) and colour map. simpleFoam's p is p/ρ.
FIELD_STYLES: dict[str, tuple[str, str]] = {
    "U": ("Velocity magnitude (m/s)", "viridis"),
    "p": ("Kinematic pressure p/ρ (m²/s²)", "cividis"),
}

#: Directions from the column towards the camera, 30° above the horizon: packings are seen from
#: 25° right of the cutaway quadrant's middle (its two faces look different), meshes and fields
#: from 35° off the normal of their cut plane (y = 0), so that some of the outer wall shows too.
PACKING_VIEW = (math.cos(math.radians(-25)), math.sin(math.radians(-25)), math.tan(math.radians(30)))
CASE_VIEW = (math.cos(math.radians(-55)), math.sin(math.radians(-55)), math.tan(math.radians(30)))
#: Colour of the translucent column wall in :func:`packing_scene`.
WALL_COLOUR = "#9DB4C8"
#: The quadrant ``cutaway`` of :func:`packing_scene` removes: x > 0, y < 0, between these angles (radians).
CUTAWAY = (-0.5 * math.pi, 0.0)
#: Width of the coaxial shells of the ``local_porosity`` colouring, in particle diameters.
SHELL_WIDTH = 0.25
#: About this many surface points for all particles together (sets each particle's tessellation).
POINT_BUDGET = 1_000_000  # particle surface points for pictures
INTERACTIVE_POINT_BUDGET = 150_000  # for scenes sent to a browser (HTML export, dashboard): a few MB

_REFERENCE_HEIGHT = 900  # font sizes below are for a window this many pixels tall


# -- common -----------------------------------------------------------------------------------------
def _pyvista() -> Any:
    """``pyvista``, imported after :func:`viz.headless.configure` chose a working OpenGL."""
    headless.configure()
    import pyvista as pv

    return pv


def _plotter(window_size: Sequence[int]) -> "pv.Plotter":
    """An empty plotter with the shared look (offscreen when the OpenGL window is an offscreen one)."""
    pv = _pyvista()
    theme = pv.themes.DocumentTheme()
    theme.background = "white"
    theme.font.color = "black"
    theme.font.family = "arial"
    theme.smooth_shading = True
    theme.show_scalar_bar = False  # scenes add their own, with titles and units
    plotter = pv.Plotter(off_screen=headless.is_offscreen(headless.configure()), window_size=list(window_size),
                         theme=theme)
    plotter.enable_anti_aliasing("ssaa")
    return plotter


def _font(plotter: "pv.Plotter", size: float) -> int:
    """A font size for ``plotter``'s window, ``size`` being right for a 900 px tall one."""
    return max(6, round(size * plotter.window_size[1] / _REFERENCE_HEIGHT))


def _scalar_bar(plotter: "pv.Plotter", title: str, fmt: str = "%.3g") -> dict[str, Any]:
    """Arguments of a horizontal scalar bar along the bottom, readable at the plotter's size."""
    return {
        "title": title, "vertical": False, "position_x": 0.2, "position_y": 0.03, "width": 0.6, "height": 0.09,
        "title_font_size": _font(plotter, 22), "label_font_size": _font(plotter, 20), "n_labels": 5, "fmt": fmt,
        "color": "black",
    }


def _title(plotter: "pv.Plotter", text: str) -> None:
    # VTK drops "|" from text (and the space before it): titles avoid it
    plotter.add_text(text, position="upper_left", font_size=_font(plotter, 15), color="black",
                     font_file=_font_file(), name="title")


def _font_file() -> str | None:
    """DejaVu Sans, shipped with Matplotlib (which PyVista requires): VTK's own fonts have no Greek letters."""
    try:
        import matplotlib
    except ImportError:
        return None
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return str(path) if path.is_file() else None


def _use_font_file(plotter: "pv.Plotter") -> None:
    """Draw the colour bars' and the legend's text in :func:`_font_file` (ρ, ε, ² and all)."""
    path = _font_file()
    if path is None:
        return
    properties = []
    for bar in plotter.scalar_bars.values():
        properties += [bar.GetTitleTextProperty(), bar.GetLabelTextProperty()]
    if plotter.legend is not None:
        properties.append(plotter.legend.GetEntryTextProperty())
    for prop in properties:
        prop.SetFontFamily(4)  # VTK_FONT_FILE
        prop.SetFontFile(path)


def _frame(plotter: "pv.Plotter", points: np.ndarray, view: Sequence[float],
           band: tuple[float, float, float, float] = (0.03, 0.16, 0.97, 0.91)) -> None:
    """Look along ``-view`` (z up, a narrow lens) and fit ``points`` to ``band`` of the window.

    ``band`` is (left, bottom, right, top) as fractions of the window: room is
    left for the title above and the colour bar below.
    """
    camera = plotter.camera
    camera.view_angle = 25.0
    plotter.view_vector(list(view), viewup=(0.0, 0.0, 1.0))
    plotter.reset_camera()
    lo_target, hi_target = 2.0 * np.array(band[:2]) - 1.0, 2.0 * np.array(band[2:]) - 1.0
    for _ in range(4):  # zoom, then pan; perspective makes both slightly approximate, so repeat
        ndc = _project(plotter, points)
        lo, hi = ndc.min(axis=0), ndc.max(axis=0)
        camera.zoom(float(np.min((hi_target - lo_target) / np.maximum(hi - lo, 1e-12))))
        ndc = _project(plotter, points)
        shift = 0.5 * (lo_target + hi_target) - 0.5 * (ndc.min(axis=0) + ndc.max(axis=0))
        distance = camera.distance
        half_height = distance * math.tan(math.radians(camera.view_angle) / 2.0)
        half_width = half_height * plotter.window_size[0] / plotter.window_size[1]
        up = np.array(camera.up)
        right = np.cross(np.array(camera.focal_point) - np.array(camera.position), up)
        right /= np.linalg.norm(right)
        move = -(shift[0] * half_width * right + shift[1] * half_height * up)
        camera.position = (np.array(camera.position) + move).tolist()
        camera.focal_point = (np.array(camera.focal_point) + move).tolist()
    plotter.reset_camera_clipping_range()


def _project(plotter: "pv.Plotter", points: np.ndarray) -> np.ndarray:
    """Normalised device coordinates (-1..1) of world ``points`` in ``plotter``'s current view."""
    width, height = plotter.window_size
    matrix = plotter.camera.GetCompositeProjectionTransformMatrix(width / height, -1.0, 1.0)
    m = np.array([[matrix.GetElement(i, j) for j in range(4)] for i in range(4)])
    h = np.c_[points, np.ones(len(points))] @ m.T
    return h[:, :2] / h[:, 3:4]


def _cylinder_outline(radius: float, z0: float, z1: float, count: int = 96) -> np.ndarray:
    """Points on the rims of a vertical cylinder: what framing has to fit."""
    a = np.linspace(0.0, 2.0 * math.pi, count, endpoint=False)
    ring = np.column_stack([radius * np.cos(a), radius * np.sin(a)])
    return np.vstack([np.c_[ring, np.full(count, z0)], np.c_[ring, np.full(count, z1)]])


# -- packings ---------------------------------------------------------------------------------------
def _particle_template(packing: "Packing", resolution: int) -> "pv.PolyData":
    """One particle in its own frame (cylinder axis along z), triangulated, with outward point normals."""
    pv = _pyvista()
    d = packing.diameter
    if packing.kind == "sphere":
        shape = pv.Sphere(radius=d / 2.0, theta_resolution=resolution, phi_resolution=resolution)
    elif packing.kind == "cylinder":
        shape = pv.Cylinder(center=(0, 0, 0), direction=(0, 0, 1), radius=d / 2.0, height=packing.length,
                            resolution=resolution, capping=True)
    else:
        shape = pv.Cube(x_length=d, y_length=d, z_length=d)
    # split vertices at sharp edges so cylinder rims and cube edges stay crisp under smooth shading
    return shape.triangulate().compute_normals(split_vertices=True, feature_angle=40.0, auto_orient_normals=True)


def particle_surface(packing: "Packing", values: np.ndarray | None = None, name: str = "value",
                     resolution: int | None = None, point_budget: int = POINT_BUDGET) -> "pv.PolyData":
    """All particles as ONE triangulated :class:`pyvista.PolyData` (instanced from one template).

    Each particle's template is rotated by its orientation quaternion and moved
    to its centre; ``values`` (one per particle) become the point array ``name``.
    ``resolution`` (tessellation) defaults to what keeps about ``point_budget`` points.
    """
    pv = _pyvista()
    if packing.count == 0:
        return pv.PolyData()
    if resolution is None:
        resolution = int(np.clip(math.sqrt(point_budget / max(packing.count, 1)), 8, 32))
    template = _particle_template(packing, resolution)
    points, normals = np.asarray(template.points), np.asarray(template.point_data["Normals"])
    triangles = np.asarray(template.regular_faces)
    n, m = packing.count, len(points)
    if packing.orientations is None or packing.kind == "sphere":
        world, world_normals = points[None] + packing.centres[:, None, :], np.broadcast_to(normals, (n, m, 3))
    else:
        from pipeline.packing.shapes import rotation_matrices

        rotations = rotation_matrices(packing.orientations)
        world = np.einsum("nij,mj->nmi", rotations, points) + packing.centres[:, None, :]
        world_normals = np.einsum("nij,mj->nmi", rotations, normals)
    faces = triangles[None] + (np.arange(n) * m)[:, None, None]
    # float32 points: ample for a picture (0.1 µm in a 10 cm column) and half the size in an HTML export
    surface = pv.PolyData.from_regular_faces(world.reshape(-1, 3).astype(np.float32), faces.reshape(-1, 3))
    surface.point_data["Normals"] = np.ascontiguousarray(world_normals.reshape(-1, 3), dtype=np.float32)
    surface.point_data.active_normals_name = "Normals"
    surface.point_data["particle"] = np.repeat(np.arange(n), m)
    if values is not None:
        surface.point_data[name] = np.repeat(np.asarray(values, dtype=float), m)
        surface.point_data.active_scalars_name = name
    return surface


def particle_values(packing: "Packing", color_by: str) -> np.ndarray:
    """One value per particle for ``color_by`` (see :data:`PACKING_COLOURINGS`), in the bar's unit."""
    centres, radius = packing.centres, packing.container.radius
    if color_by == "height":
        return centres[:, 2] * 1e3
    rho = np.hypot(centres[:, 0], centres[:, 1])
    if color_by == "radius":
        return rho / radius
    if color_by == "local_porosity":
        bins = max(4, round(radius / (SHELL_WIDTH * packing.diameter)))
        _, porosity = packing.radial_porosity(bins)
        shell = np.floor((radius - rho) / (radius / bins)).astype(int)
        return porosity[np.clip(shell, 0, bins - 1)]
    raise ValueError(f"color_by must be one of {', '.join(PACKING_COLOURINGS)}, not {color_by!r}")


def _sector(radius: float, z0: float, z1: float, theta: tuple[float, float], inner: float | None = None,
            resolution: int = 180) -> "pv.PolyData":
    """A cylinder wall piece (``inner is None``) or a flat annulus sector at ``z0`` (angles in radians)."""
    pv = _pyvista()
    angles = np.linspace(theta[0], theta[1], max(4, round(resolution * (theta[1] - theta[0]) / (2 * math.pi))))
    if inner is None:
        a, z = np.meshgrid(angles, [z0, z1], indexing="ij")
        x, y = radius * np.cos(a), radius * np.sin(a)
    else:
        a, r = np.meshgrid(angles, [inner, radius], indexing="ij")
        x, y, z = r * np.cos(a), r * np.sin(a), np.full_like(a, z0)
    return pv.StructuredGrid(x, y, z).extract_surface(algorithm="dataset_surface").triangulate()


def _column(plotter: "pv.Plotter", packing: "Packing", cutaway: bool) -> None:
    """The container: a translucent wall and floor, and its rims as dark lines."""
    pv = _pyvista()
    box = packing.container
    theta = (CUTAWAY[1], CUTAWAY[0] + 2.0 * math.pi) if cutaway else (0.0, 2.0 * math.pi)
    style = {"color": WALL_COLOUR, "opacity": 0.18, "specular": 0.3, "smooth_shading": True}
    plotter.add_mesh(_sector(box.radius, 0.0, box.height, theta), name="wall", **style)
    plotter.add_mesh(_sector(box.radius, 0.0, 0.0, theta, inner=0.0), name="floor", **{**style, "opacity": 0.3})
    angles = np.linspace(*theta, 241)
    rims = [np.column_stack([box.radius * np.cos(angles), box.radius * np.sin(angles), np.full_like(angles, z)])
            for z in (0.0, box.height)]
    lines = [pv.lines_from_points(rim) for rim in rims]
    if cutaway:
        for a in theta:
            edge = [box.radius * math.cos(a), box.radius * math.sin(a)]
            lines.append(pv.lines_from_points(np.array([[0, 0, 0], [*edge, 0], [*edge, box.height]])))
    plotter.add_mesh(pv.merge(lines), color="#4A5A68", line_width=max(1.0, plotter.window_size[1] / 600),
                     name="rims")


def packing_scene(packing: "Packing", color_by: str = "height", cutaway: bool = False,
                  plotter: "pv.Plotter | None" = None, window_size: Sequence[int] = (900, 900),
                  resolution: int | None = None, point_budget: int = POINT_BUDGET) -> "pv.Plotter":
    """The particles in their column, coloured by ``height``, ``radius`` (r/R) or ``local_porosity``.

    All particles are one instanced surface (scales to many thousands; the
    tessellation keeps about ``point_budget`` points — :data:`INTERACTIVE_POINT_BUDGET`
    for scenes sent to a browser — unless ``resolution`` sets it). The wall is translucent; ``cutaway`` removes the
    particles whose centres lie in the quadrant facing the camera (x > 0, y < 0),
    and the wall there, to show the inside. ``local_porosity`` colours each
    particle by the porosity of the coaxial shell (:data:`SHELL_WIDTH` d wide) its
    centre sits in (:meth:`~pipeline.packing.Packing.radial_porosity`).
    """
    title, cmap = PACKING_COLOURINGS.get(color_by, ("", ""))
    values = particle_values(packing, color_by)
    pl = plotter if plotter is not None else _plotter(window_size)
    c = packing.centres
    keep = ~((c[:, 0] > 0) & (c[:, 1] < 0)) if cutaway else np.ones(packing.count, dtype=bool)
    surface = particle_surface(_subset(packing, keep), values[keep], name=title, resolution=resolution,
                               point_budget=point_budget)
    low, high = float(values.min()), float(values.max())
    if surface.n_points:
        pl.add_mesh(surface, scalars=title, cmap=cmap, clim=(low, high) if high > low else (low - 1.0, high + 1.0),
                    smooth_shading=True, specular=0.35, specular_power=20, show_scalar_bar=True,
                    scalar_bar_args=_scalar_bar(pl, title, "%.1f" if color_by == "height" else "%.2f"),
                    name="particles")
    _column(pl, packing, cutaway)
    kinds = {"sphere": "spheres", "cylinder": "cylinders", "cube": "cubes"}
    size = f"d = {packing.diameter * 1e3:.3g} mm" + (
        f", L = {packing.length * 1e3:.3g} mm" if packing.kind == "cylinder" else "")
    _title(pl, f"{packing.count} {kinds.get(packing.kind, packing.kind)}, {size}\n"
               f"D = {packing.container.diameter * 1e3:.3g} mm, D/d = {packing.aspect_ratio:.2f}")
    # ambient occlusion darkens the crevices between particles: depth in a dense bed
    pl.enable_ssao(radius=packing.diameter / 2.0, bias=packing.diameter * 0.005, kernel_size=64)
    _use_font_file(pl)
    _frame(pl, _cylinder_outline(packing.container.radius, 0.0, packing.container.height), PACKING_VIEW)
    return pl


def _subset(packing: "Packing", keep: np.ndarray) -> "Packing":
    """A shallow copy of ``packing`` with only the particles where ``keep``."""
    orientations = None if packing.orientations is None else packing.orientations[keep]
    return replace(packing, centres=packing.centres[keep], orientations=orientations)


# -- OpenFOAM cases -----------------------------------------------------------------------------------
def _reader(case_dir: str | Path) -> Any:
    """A :class:`pyvista.OpenFOAMReader` of the case (``case.foam`` is created if missing), all patches on."""
    pv = _pyvista()
    case = Path(case_dir)
    if not (case / "constant" / "polyMesh").is_dir():
        from pipeline.results.profiles import ResultsError

        raise ResultsError(f"{case} is not a meshed OpenFOAM case (no constant/polyMesh)")
    foam = case / FOAM_FILE
    foam.touch()
    reader = pv.OpenFOAMReader(str(foam))
    reader.enable_all_patch_arrays()
    return reader


def read_case(case_dir: str | Path, latest: bool = True) -> "pv.MultiBlock":
    """The case at its latest (else its first) time: blocks ``internalMesh`` and ``boundary`` (one per patch).

    Fields are cell data and, interpolated, point data (named as in OpenFOAM: ``U``, ``p``).
    """
    reader = _reader(case_dir)
    reader.set_active_time_value(reader.time_values[-1 if latest else 0])
    return reader.read()


def solved_time(case_dir: str | Path) -> float:
    """The latest solution time (for simpleFoam: iteration) of a case; ResultsError when it was never solved."""
    times = _reader(case_dir).time_values
    if len(times) < 2:
        from pipeline.results.profiles import ResultsError

        raise ResultsError(f"{case_dir} has no solution time beyond {times[0] if times else 0:g} "
                           "(run the solver first)")
    return float(times[-1])


def read_fields(case_dir: str | Path) -> "pv.UnstructuredGrid":
    """The internal mesh at the latest solution time, with ``U`` and ``p`` (kinematic) as point and cell data."""
    solved_time(case_dir)
    return read_case(case_dir)["internalMesh"]


def _case_name(case_dir: str | Path) -> str:
    """The bed's name from the case's ``bed.json``, else the folder's name."""
    case = Path(case_dir).resolve()
    try:
        return str(json.loads((case / "bed.json").read_text())["name"]) or case.name
    except (OSError, ValueError, KeyError, TypeError):
        return case.name


def _patches(case: "pv.MultiBlock") -> dict[str, "pv.PolyData"]:
    """The case's boundary patches by name, as surfaces."""
    boundary = case["boundary"]
    return {name: boundary[name].extract_surface(algorithm="dataset_surface")
            for name in boundary.keys() if boundary[name] is not None}


def mesh_scene(case_dir: str | Path, clip: bool = True, window_size: Sequence[int] = (900, 900),
               plotter: "pv.Plotter | None" = None) -> "pv.Plotter":
    """The snappyHexMesh mesh of an OpenFOAM case: patches in :data:`PATCH_COLOURS`, with their faces' edges.

    ``clip`` removes the half of the domain facing the camera (y < 0) and shows
    the volume cells on the cut plane (their cross-sections, light with dark
    edges): the refinement near particles and wall shows, and the particles'
    surface mesh through the holes they leave. Without the clip the wall is
    translucent. The title gives the cell count.
    """
    case = read_case(case_dir, latest=False)  # the mesh alone: no fields needed
    internal = case["internalMesh"]
    pl = plotter if plotter is not None else _plotter(window_size)
    width = max(0.5, pl.window_size[1] / 1200)
    cut = _cut_origin(internal)
    patches = _patches(case)
    for name, patch in patches.items():
        colour = PATCH_COLOURS.get(name, OTHER_PATCH_COLOUR)
        shown = patch.clip(normal=CUT_NORMAL, origin=cut) if clip else patch
        if shown.n_cells:
            pl.add_mesh(shown, color=colour, show_edges=True, line_width=width,
                        edge_color=_darker(colour, 0.8 if name == "wall" else 0.6),
                        opacity=0.3 if (name == "wall" and not clip) else 1.0, specular=0.2, name=f"patch-{name}")
    if clip:
        section = internal.slice(normal=CUT_NORMAL, origin=cut)
        pl.add_mesh(section, color=CELL_COLOUR, show_edges=True, edge_color=CELL_EDGE_COLOUR, line_width=width,
                    lighting=False, name="cells")
    legend = [[name, PATCH_COLOURS.get(name, OTHER_PATCH_COLOUR)] for name in patches]
    pl.add_legend(legend, bcolor="white", border=False, size=(0.2, 0.15), loc="lower right", face="rectangle",
                  font_family="arial")
    _title(pl, f"{_case_name(case_dir)}: {internal.n_cells:,} cells")
    _use_font_file(pl)
    x0, x1, _, _, z0, z1 = internal.bounds
    _frame(pl, _cylinder_outline((x1 - x0) / 2.0, z0, z1), CASE_VIEW, band=(0.03, 0.05, 0.97, 0.91))
    return pl


def _cut_origin(internal: "pv.UnstructuredGrid") -> tuple[float, float, float]:
    """A point of the cut plane: on the axis, nudged off the background mesh's face planes by a fraction of a cell."""
    cell = (internal.volume / internal.n_cells) ** (1.0 / 3.0) if internal.n_cells else 0.0
    return (0.0, 0.137 * cell, 0.0)


def _darker(colour: str, factor: float = 0.6) -> str:
    """``colour`` (``#rrggbb``) darkened, for the edges of faces drawn in it."""
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c * factor):02x}" for c in rgb)


def fields_scene(case_dir: str | Path, field: str = "U", streamlines: bool = True, radial_slices: int = 3,
                 window_size: Sequence[int] = (900, 900), plotter: "pv.Plotter | None" = None) -> "pv.Plotter":
    """A solved field on the axial slice through the axis (y = 0) and ``radial_slices`` horizontal slices.

    ``field`` is ``"U"`` (velocity magnitude, m/s) or ``"p"`` (simpleFoam's
    kinematic pressure p/ρ, m²/s²) at the latest time. The horizontal slices
    are spread over the height of the bed; the particles behind the axial slice
    show through its holes. ``streamlines`` adds streamlines seeded on the
    inlet's half in front of the axial slice, coloured by velocity magnitude.
    """
    if field not in FIELD_STYLES:
        raise ValueError(f"field must be one of {', '.join(FIELD_STYLES)}, not {field!r}")
    pv = _pyvista()
    latest = solved_time(case_dir)
    case = read_case(case_dir)
    internal, patches = case["internalMesh"], _patches(case)
    title, cmap = FIELD_STYLES[field]
    speed = "velocity magnitude"
    internal.point_data[speed] = np.linalg.norm(internal.point_data["U"], axis=1)
    scalars = speed if field == "U" else "p"
    pl = plotter if plotter is not None else _plotter(window_size)
    x0, x1, _, _, z0, z1 = internal.bounds
    cut = _cut_origin(internal)
    bed = patches.get("particles")
    b0, b1 = (bed.bounds[4], bed.bounds[5]) if bed is not None and bed.n_points else (z0, z1)
    pieces = [internal.slice(normal=CUT_NORMAL, origin=cut)]
    for k in range(radial_slices):  # shelves in front of the axial slice (behind it they would be hidden)
        disc = internal.slice(normal="z", origin=(0.0, 0.0, b0 + (k + 0.5) / radial_slices * (b1 - b0)))
        pieces.append(disc.clip(normal=tuple(-v for v in CUT_NORMAL), origin=cut) if disc.n_points else disc)
    pieces = [piece for piece in pieces if piece.n_points]
    values = np.concatenate([piece.point_data[scalars] for piece in pieces])
    if field == "U":  # jets between particles would leave the rest of the bed in the darkest colour
        clim = (0.0, float(np.percentile(values, SPEED_PERCENTILE)))
    else:
        clim = (float(values.min()), float(values.max()))
    bar = _scalar_bar(pl, title)
    saturate = {}
    if float(values.max()) > clim[1]:  # faster than the bar's end: its top colour, flagged on the bar
        saturate = {"above_color": pv.LookupTable(cmap, scalar_range=(0.0, 1.0)).map_value(1.0, opacity=False)}
        bar["above_label"] = "above"
    for k, piece in enumerate(pieces):
        pl.add_mesh(piece, scalars=scalars, cmap=cmap, clim=clim, show_scalar_bar=k == 0, scalar_bar_args=bar,
                    name=f"slice-{k}", ambient=0.3, diffuse=0.7, **saturate)
    if bed is not None and bed.n_points:
        # light and softly shaded, so they read as solid particles without competing with the colours
        pl.add_mesh(bed.clip(normal=CUT_NORMAL, origin=cut), color=SECTION_COLOUR, ambient=0.5, diffuse=0.5,
                    smooth_shading=True, name="particles")
    rims = _cylinder_outline((x1 - x0) / 2.0, z0, z1, 180)
    pl.add_mesh(pv.merge([pv.lines_from_points(np.vstack([ring, ring[:1]])) for ring in (rims[:180], rims[180:])]),
                color="#505050", line_width=max(1.0, pl.window_size[1] / 600), name="rims")
    if streamlines:
        lines = _streamlines(internal, z0, (x1 - x0) / 2.0)
        if lines.n_points:
            lines.point_data[speed] = np.linalg.norm(lines.point_data["U"], axis=1)
            style = {"scalars": speed, "clim": clim, "cmap": cmap} if field == "U" else {"color": "#404040"}
            pl.add_mesh(lines.tube(radius=(x1 - x0) / 300.0, n_sides=10), show_scalar_bar=False,
                        smooth_shading=True, name="streamlines", **style)
    _title(pl, f"{_case_name(case_dir)}: {title.split(' (')[0].lower()}, iteration {latest:g}\n"
               f"{internal.n_cells:,} cells")
    _use_font_file(pl)
    _frame(pl, _cylinder_outline((x1 - x0) / 2.0, z0, z1), CASE_VIEW)
    return pl


def _streamlines(internal: "pv.UnstructuredGrid", z_inlet: float, radius: float, seeds: int = 50) -> "pv.PolyData":
    """Streamlines of U from points spread over the inlet's half facing the camera (y < 0), just above it."""
    pv = _pyvista()
    golden = math.pi * (3.0 - math.sqrt(5.0))  # sunflower pattern: evenly spread points on a disc
    k = np.arange(2 * seeds)
    r, a = 0.95 * radius * np.sqrt((k + 0.5) / (2 * seeds)), k * golden
    points = np.column_stack([r * np.cos(a), r * np.sin(a), np.full_like(r, z_inlet + 1e-3 * radius)])
    points = points[points[:, 1] < -0.02 * radius]
    height = internal.bounds[5] - internal.bounds[4]
    return internal.streamlines_from_source(pv.PolyData(points), vectors="U", integration_direction="forward",
                                            max_length=4.0 * height, max_steps=20_000, initial_step_length=0.2,
                                            max_step_length=0.5, compute_vorticity=False,
                                            interpolator_type="cell")


# -- output -----------------------------------------------------------------------------------------
def to_png(plotter: "pv.Plotter", path: str | Path, window_size: Sequence[int] | None = None,
           scale: int | None = None) -> Path:
    """Render ``plotter`` offscreen into a PNG at ``path`` (folders created) and return the path.

    ``window_size`` (w, h) resizes the window first; ``scale`` multiplies the
    resolution with text and lines kept in proportion (e.g. 2 for print).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plotter.screenshot(str(path), window_size=list(window_size) if window_size else None, scale=scale)
    return path


def scene_export(plotter: "pv.Plotter") -> bytes:
    """The scene as a vtk.js ``OfflineLocalView`` archive (``.vtksz``: a zip with ``index.json``).

    Uses trame-vtk's serializers directly: no trame server is started.
    """
    from trame_vtk.modules.vtk.serializers import (
        SynchronizationContext,
        extract_array_hash,
        initialize_serializers,
        reference_id,
        serialize,
    )

    plotter.render()
    window = plotter.render_window
    initialize_serializers()
    context = SynchronizationContext()
    context.set_ignore_last_dependencies(True)  # a complete scene, not changes since a last one
    scene = serialize(None, window, reference_id(window), context, 1)
    camera = plotter.renderer.GetActiveCamera()
    scene["extra"] = {"vtkRefId": reference_id(window), "centerOfRotation": camera.GetFocalPoint(),
                      "camera": reference_id(camera)}
    context.set_ignore_last_dependencies(False)
    hashes = {entry["hash"]: {**entry, "content": context.get_cached_data_array(entry["hash"], False)}
              for entry in extract_array_hash(scene)}
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("index.json", json.dumps({"hashes": hashes, "scene": scene}))
    return archive.getvalue()


def to_html(plotter: "pv.Plotter", path: str | Path) -> Path:
    """Write the scene as one self-contained interactive HTML page (vtk.js, data embedded) and return its path.

    The page needs no server and fetches nothing: the vtk.js viewer and the
    scene (base64) are inside it. vtk.js draws its own colour bar; the title is not exported.
    """
    from trame_vtk.tools.vtksz2html import write_html

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = io.StringIO()
    write_html(scene_export(plotter), page)
    path.write_text(page.getvalue(), encoding="utf-8")
    return path


def html_scene(path: str | Path) -> dict[str, Any]:
    """The scene embedded in a page written by :func:`to_html` (its ``index.json``), e.g. for checks."""
    text = Path(path).read_text(encoding="utf-8")
    marker = 'const base64Str = "'
    start = text.index(marker) + len(marker)
    data = base64.b64decode(text[start:text.index('"', start)])
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        return json.loads(bundle.read("index.json"))
