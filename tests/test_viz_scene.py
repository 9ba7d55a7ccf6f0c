"""3D scenes (viz.scene) and headless OpenGL (viz.headless), rendered for real and looked at by numbers.

Pictures are rendered offscreen at small sizes and checked for what a person
would look for: not blank, the colours that should be there (colour-map ends,
patch colours), the column framed inside the window. Packings are real (native
packer; cylinders and cubes with Blender), and so is the OpenFOAM case
(a tiny bed through pipeline.workflow.run). The HTML export is checked for
being self-contained and for carrying the scene's own data; where Debian's
Chromium is installed, the page is also opened headless and its screenshot checked.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import rgb_to_hsv
from PIL import Image

from pipeline import BedSpec, pack
from pipeline.packing import Packing
from pipeline.packing.shapes import rotation_matrices
from pipeline.results.profiles import ResultsError
from viz import headless, scene

SIZE = (360, 360)
VIRIDIS_ENDS = ("#440154", "#fde725")
PLASMA_ENDS = ("#0d0887", "#f0f921")
CIVIDIS_ENDS = ("#00224e", "#fee838")


# -- picture checks ----------------------------------------------------------------------------------
def picture(plotter, path: Path, size=SIZE) -> np.ndarray:
    """Render through :func:`viz.scene.to_png` and read the PNG back as an (h, w, 3) uint8 array."""
    written = scene.to_png(plotter, path, window_size=size)
    assert written == path and path.is_file()
    return np.asarray(Image.open(path).convert("RGB"))


def assert_not_blank(image: np.ndarray, min_std: float = 20.0, min_drawn: float = 0.05) -> None:
    """Enough contrast, and enough pixels that are not the white background."""
    drawn = (np.abs(image.astype(int) - 255).sum(axis=2) > 30).mean()
    assert image.std() > min_std and drawn > min_drawn, f"blank picture: std {image.std():.1f}, drawn {drawn:.3f}"


def fraction_like(image: np.ndarray, colour: str, hue_tolerance: float = 0.02, min_saturation: float = 0.35) -> float:
    """Fraction of pixels of ``colour``'s hue, saturated enough: the colour under any shading or highlight."""
    target = rgb_to_hsv(np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0)
    hsv = rgb_to_hsv(image.reshape(-1, 3) / 255.0)
    distance = np.abs(hsv[:, 0] - target[0])
    close = (np.minimum(distance, 1.0 - distance) < hue_tolerance) & (hsv[:, 1] > min_saturation)
    return float(close.mean())


def title_of(plotter) -> str:
    return plotter.actors["title"].GetText(2)  # upper-left corner annotation


def assert_framed(plotter, points: np.ndarray, band=(0.03, 0.16, 0.97, 0.91)) -> None:
    """The column's outline fills the band of the window left between the title and the colour bar."""
    ndc = 0.5 * (scene._project(plotter, points) + 1.0)  # 0..1 across the window
    slack = 0.01
    assert (ndc >= np.array(band[:2]) - slack).all() and (ndc <= np.array(band[2:]) + slack).all(), \
        "the column reaches under the title or the colour bar, or out of the picture"
    filled = np.ptp(ndc, axis=0) / (np.array(band[2:]) - np.array(band[:2]))
    assert filled.max() > 0.97, f"the column fills only {filled.max():.0%} of the room it has"


# -- headless OpenGL ---------------------------------------------------------------------------------
@pytest.fixture
def fresh_headless(monkeypatch):
    """viz.headless as in a new process: no choice made, no window variable, no cache folders set."""
    monkeypatch.setattr(headless, "_chosen", None)
    for name in (headless.WINDOW_VARIABLE, "MPLCONFIGDIR", "MESA_SHADER_CACHE_DIR", "MESA_GLSL_CACHE_DIR",
                 "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_configure_probes_caches_and_keeps_caches_in_the_data_dir(fresh_headless, tmp_path):
    window = headless.configure(tmp_path)
    assert window in headless.CANDIDATES.values()
    assert os.environ[headless.WINDOW_VARIABLE] == window
    record = json.loads((tmp_path / "cache" / headless.CACHE_FILE).read_text())
    assert record["window"] == window and record["vtk"]
    for name in ("MPLCONFIGDIR", "MESA_SHADER_CACHE_DIR", "XDG_CACHE_HOME"):
        assert Path(os.environ[name]).is_relative_to(tmp_path / "cache"), name
    # a new process reads the verdict instead of probing again
    fresh_headless.setattr(headless, "_chosen", None)
    fresh_headless.delenv(headless.WINDOW_VARIABLE)
    fresh_headless.setattr(headless, "probe", lambda *_: pytest.fail("probed although the verdict is cached"))
    assert headless.configure(tmp_path) == window
    assert headless.configure(tmp_path) == window  # and again, from memory


def test_configure_keeps_the_users_choice(fresh_headless, tmp_path):
    fresh_headless.setenv(headless.WINDOW_VARIABLE, "vtkOSOpenGLRenderWindow")
    fresh_headless.setattr(headless, "probe", lambda *_: pytest.fail("probed although the user chose"))
    assert headless.configure(tmp_path) == "vtkOSOpenGLRenderWindow"
    assert not (tmp_path / "cache" / headless.CACHE_FILE).exists()


def test_both_backends_render_in_a_child(fresh_headless):
    for window in headless.CANDIDATES.values():
        assert headless.probe(window) == (True, "ok"), window


def test_a_segfaulting_backend_only_kills_the_probe(fresh_headless, tmp_path):
    """VTK dies with SIGSEGV when EGL/OSMesa are missing: the probe reports it, configure names the packages."""
    fresh_headless.setattr(headless, "_PROBE", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    works, why = headless.probe("vtkEGLRenderWindow")
    assert not works and "signal 11" in why
    with pytest.raises(headless.RenderingError) as caught:
        headless.configure(tmp_path)
    message = str(caught.value)
    assert "libegl1 libegl-mesa0 libgl1-mesa-dri" in message and "libosmesa6" in message
    assert isinstance(caught.value, headless.BedflowError)
    assert not (tmp_path / "cache" / headless.CACHE_FILE).exists()  # a failure is not cached


def test_importing_the_scenes_loads_no_vtk():
    code = "import sys, viz.scene; print(any(m.split('.')[0] in ('vtk', 'vtkmodules', 'pyvista') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


# -- packings ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spheres() -> Packing:
    return pack(BedSpec.from_dict({"name": "viz", "particles": {"count": 40, "seed": 7}}))


def test_blank_pictures_fail_the_check(tmp_path):
    empty = scene._plotter(SIZE)
    with pytest.raises(AssertionError, match="blank"):
        assert_not_blank(picture(empty, tmp_path / "empty.png"))


def test_packing_is_one_instanced_surface(spheres):
    plotter = scene.packing_scene(spheres, window_size=SIZE)
    particles = plotter.actors["particles"].mapper.dataset
    per_particle = particles.n_points // spheres.count
    assert particles.n_points == per_particle * spheres.count and per_particle > 100
    assert set(np.unique(particles.point_data["particle"])) == set(range(spheres.count))
    # every particle's points sit on its sphere
    ids = particles.point_data["particle"]
    distance = np.linalg.norm(particles.points - spheres.centres[ids], axis=1)
    assert np.allclose(distance, spheres.radius, rtol=1e-3)


def test_packing_picture_by_height(spheres, tmp_path):
    plotter = scene.packing_scene(spheres, window_size=SIZE)
    image = picture(plotter, tmp_path / "packing.png")
    assert_not_blank(image)
    for end in VIRIDIS_ENDS:  # the lowest and the highest particles
        assert fraction_like(image, end) > 0.002, end
    assert "Height z (mm)" in plotter.scalar_bars
    assert "40 spheres" in title_of(plotter) and "D/d = 5.00" in title_of(plotter)
    assert_framed(plotter, scene._cylinder_outline(spheres.container.radius, 0, spheres.container.height))


def test_packing_picture_by_local_porosity_with_cutaway(spheres, tmp_path):
    whole = picture(scene.packing_scene(spheres, color_by="local_porosity", window_size=SIZE), tmp_path / "a.png")
    plotter = scene.packing_scene(spheres, color_by="local_porosity", cutaway=True, window_size=SIZE)
    cut = picture(plotter, tmp_path / "cut.png")
    assert_not_blank(cut)
    assert fraction_like(cut, PLASMA_ENDS[0], hue_tolerance=0.03) + fraction_like(cut, PLASMA_ENDS[1]) > 0.002
    shown = plotter.actors["particles"].mapper.dataset
    ids = shown.point_data["particle"]
    centres = np.array([shown.points[ids == i].mean(axis=0) for i in np.unique(ids)])
    in_quadrant = (spheres.centres[:, 0] > 0) & (spheres.centres[:, 1] < 0)
    assert in_quadrant.any() and len(centres) == spheres.count - in_quadrant.sum()
    assert not ((centres[:, 0] > 0) & (centres[:, 1] < 0)).any()
    assert np.abs(whole.astype(int) - cut.astype(int)).mean() > 2  # the cutaway shows something else
    values = scene.particle_values(spheres, "local_porosity")
    assert ((values > 0) & (values < 1)).all() and np.ptp(values) > 0.05


def test_packing_by_radius_and_bad_colouring(spheres):
    values = scene.particle_values(spheres, "radius")
    assert ((values >= 0) & (values <= 1)).all()
    assert "Radial position r/R (-)" in scene.packing_scene(spheres, color_by="radius", window_size=SIZE).scalar_bars
    with pytest.raises(ValueError, match="height, radius, local_porosity"):
        scene.packing_scene(spheres, color_by="colour")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["cylinder", "cube"])
def test_oriented_particles_render(kind, tmp_path):
    """Cylinders and cubes from the rigid-body packer, each turned by its own quaternion."""
    packing = pack(BedSpec.from_dict({
        "name": f"viz-{kind}", "packing": {"method": "rigid_body"},
        "particles": {"kind": kind, "count": 30, "diameter": 0.004, "length": 0.006},
    }))
    plotter = scene.packing_scene(packing, window_size=SIZE)
    image = picture(plotter, tmp_path / f"{kind}.png")
    assert_not_blank(image)
    surface = plotter.actors["particles"].mapper.dataset
    axes = rotation_matrices(packing.orientations)
    for i in range(packing.count):  # back in its own frame, each particle is the template's shape
        local = (surface.points[surface.point_data["particle"] == i] - packing.centres[i]) @ axes[i]
        if kind == "cylinder":
            assert np.ptp(local[:, 2]) == pytest.approx(packing.length, rel=1e-4)
            assert np.hypot(local[:, 0], local[:, 1]).max() == pytest.approx(packing.radius, rel=1e-4)
        else:
            assert np.ptp(local, axis=0) == pytest.approx([packing.diameter] * 3, rel=1e-4)


def test_to_png_makes_folders_and_sizes(spheres, tmp_path):
    path = tmp_path / "deep" / "er" / "p.png"
    plotter = scene.packing_scene(spheres, window_size=SIZE)
    assert scene.to_png(plotter, path, window_size=(200, 300)) == path
    assert Image.open(path).size == (200, 300)


# -- HTML ----------------------------------------------------------------------------------------------
def embedded_points(page: Path) -> list[np.ndarray]:
    """The point arrays of the scene embedded in an exported page, decoded."""
    found = []
    for entry in scene.html_scene(page)["hashes"].values():
        if entry["vtk"] == "vtkPoints":
            dtype = {"Float32Array": np.float32, "Float64Array": np.float64}[entry["type"]]
            found.append(np.frombuffer(base64.b64decode(entry["content"]), dtype=dtype).reshape(-1, 3))
    return found


def assert_self_contained(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert page.stat().st_size > 1_000_000  # the vtk.js viewer alone is about 1 MB
    assert not re.search(r"<script[^>]+src=", text, re.I), "loads a script from elsewhere"
    assert not re.search(r"<link[^>]+href=", text, re.I), "loads a style sheet from elsewhere"
    assert not re.search(r"""(fetch|import)\(\s*['"]https?://""", text), "fetches from the network"
    assert "OfflineLocalView.load" in text


def test_packing_html_is_self_contained_and_carries_the_particles(spheres, tmp_path):
    plotter = scene.packing_scene(spheres, window_size=SIZE)
    page = scene.to_html(plotter, tmp_path / "html" / "packing.html")
    assert page.is_file()
    assert_self_contained(page)
    particles = plotter.actors["particles"].mapper.dataset
    assert any(p.shape == particles.points.shape and np.allclose(p, particles.points) for p in embedded_points(page))
    kinds = [a["type"] for a in scene.html_scene(page)["scene"]["dependencies"][0]["dependencies"]]
    assert kinds.count("vtkOpenGLActor") == 4  # particles, wall, floor, rims
    assert "vtkScalarBarActor" in kinds


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None and os.environ.get("BEDFLOW_REQUIRE_SERVICES", "") in ("", "0"),
                    reason="Debian's chromium is not installed (make setup installs it)")
def test_packing_html_shows_in_a_browser(spheres, tmp_path):
    page = scene.to_html(scene.packing_scene(spheres, window_size=SIZE), tmp_path / "packing.html")
    shot = tmp_path / "browser.png"
    subprocess.run(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader",
                    "--enable-unsafe-swiftshader", "--window-size=500,500", "--virtual-time-budget=15000",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=180, check=True,
                   env={**os.environ, "HOME": str(tmp_path)})
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert_not_blank(image)
    for end in VIRIDIS_ENDS:
        assert fraction_like(image, end) > 0.002, end


# -- an OpenFOAM case ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """A tiny bed packed, meshed and solved for real (about 10 s): ``(case folder, RunResult)``."""
    from pipeline.workflow import run

    folder = tmp_path_factory.mktemp("viz-cfd")
    spec = BedSpec.from_dict({
        "name": "viz-cfd", "bed": {"diameter": 0.025, "height": 0.03}, "particles": {"count": 40, "diameter": 0.005},
        "cfd": {"mesh_cells_per_diameter": 6, "surface_refinement": 0, "boundary_layers": 0,
                "max_iterations": 60, "particle_reynolds": 5},
    })
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BEDFLOW_DATA_DIR", str(folder / "data"))
        result = run(spec, folder=folder / "run")
    return folder / "run" / "case", result


@pytest.mark.slow
def test_mesh_picture_shows_the_patches_in_their_colours(solved, tmp_path):
    case, result = solved
    from pipeline.cfd.bed import PATCHES

    assert set(scene.PATCH_COLOURS) == set(PATCHES)
    assert len(set(scene.PATCH_COLOURS.values())) == len(scene.PATCH_COLOURS)
    plotter = scene.mesh_scene(case, window_size=SIZE)
    assert plotter.legend.GetNumberOfEntries() == len(PATCHES)
    plotter.remove_legend()  # its swatches have the patch colours too: look at the scene alone
    image = picture(plotter, tmp_path / "mesh.png")
    assert_not_blank(image)
    for patch in ("outlet", "particles"):  # the inlet is under the bed, out of this view
        assert fraction_like(image, scene.PATCH_COLOURS[patch], hue_tolerance=0.015) > 0.005, patch
    wall = np.array([int(scene.PATCH_COLOURS["wall"][i:i + 2], 16) for i in (1, 3, 5)])
    greyish = (np.ptp(image, axis=2) < 12) & (np.abs(image.astype(int) - wall).max(axis=2) < 40)
    assert greyish.mean() > 0.002, "no wall"
    assert f"{result.cells:,} cells" in title_of(plotter)
    assert {"patch-inlet", "patch-outlet", "patch-wall", "patch-particles", "cells"} <= set(plotter.actors)
    section = plotter.actors["cells"].mapper.dataset
    assert section.n_cells > 100 and np.ptp(section.points[:, 1]) < 1e-3  # cells on the cut plane
    assert_framed(plotter, scene._cylinder_outline(0.0125, *section.bounds[4:]), band=(0.03, 0.05, 0.97, 0.91))
    whole = scene.mesh_scene(case, clip=False, window_size=SIZE)
    whole.remove_legend()
    unclipped = picture(whole, tmp_path / "whole.png")
    assert_not_blank(unclipped)
    assert fraction_like(unclipped, scene.PATCH_COLOURS["inlet"], hue_tolerance=0.03, min_saturation=0.15) > 0.002


@pytest.mark.slow
def test_velocity_picture(solved, tmp_path):
    case, result = solved
    plotter = scene.fields_scene(case, window_size=SIZE)
    image = picture(plotter, tmp_path / "u.png")
    assert_not_blank(image)
    for end in VIRIDIS_ENDS:
        assert fraction_like(image, end, hue_tolerance=0.03) > 0.002, end
    assert "Velocity magnitude (m/s)" in plotter.scalar_bars
    lines = plotter.actors["streamlines"].mapper.dataset
    assert lines.n_points > 100 and lines.bounds[5] - lines.bounds[4] > 0.02  # they run up through the bed
    assert "iteration 60" in title_of(plotter) and f"{result.cells:,} cells" in title_of(plotter)
    page = scene.to_html(plotter, tmp_path / "u.html")
    assert_self_contained(page)
    axial = plotter.actors["slice-0"].mapper.dataset
    assert any(p.shape == axial.points.shape and np.allclose(p, axial.points) for p in embedded_points(page))


@pytest.mark.slow
def test_pressure_picture_is_labelled_kinematic(solved, tmp_path):
    case, _ = solved
    plotter = scene.fields_scene(case, field="p", streamlines=False, window_size=SIZE)
    image = picture(plotter, tmp_path / "p.png")
    assert_not_blank(image)
    assert fraction_like(image, CIVIDIS_ENDS[0], hue_tolerance=0.03) > 0.002
    assert fraction_like(image, CIVIDIS_ENDS[1], hue_tolerance=0.03) > 0.002
    assert "Kinematic pressure p/ρ (m²/s²)" in plotter.scalar_bars
    assert "streamlines" not in plotter.actors
    with pytest.raises(ValueError, match="U, p"):
        scene.fields_scene(case, field="T")


@pytest.mark.slow
def test_fields_of_a_case_never_solved(solved, tmp_path):
    case, result = solved
    fields = scene.read_fields(case)
    assert fields.n_cells == result.cells and {"U", "p"} <= set(fields.point_data.keys())
    unsolved = tmp_path / "unsolved"
    for part in ("constant", "system", "0"):
        shutil.copytree(case / part, unsolved / part)
    with pytest.raises(ResultsError, match="no solution time"):
        scene.fields_scene(unsolved)
    assert_not_blank(picture(scene.mesh_scene(unsolved, window_size=SIZE), tmp_path / "mesh.png"))
    with pytest.raises(ResultsError, match="not a meshed OpenFOAM case"):
        scene.mesh_scene(tmp_path)
