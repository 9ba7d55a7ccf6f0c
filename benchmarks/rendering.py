"""Benchmark: drawing packings — one instanced surface (viz.scene) against one actor per particle.

Prints, for native packings of 1 000 and 5 000 spheres, measured in this run (800×800, offscreen, Mesa):
  * time to build the scene and write the first PNG, and time per re-render once built (what rotating the
    view costs);
  * for the same spheres (16×16 tessellation) in a plain plotter: all in one instanced PolyData
    (`viz.scene.particle_surface`) against a `pv.Sphere` actor per particle — the structural gain;
  * bedflow's full `packing_scene` (finer tessellation, ambient occlusion, supersampling): the price of
    a paper-quality picture;
  * the size of the self-contained HTML export at the picture and the interactive point budgets.
Run: .venv/bin/python benchmarks/rendering.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from pipeline import BedSpec, pack
from viz import headless

SIZE = (800, 800)


def bed(count: int) -> BedSpec:
    height = 0.03 * max(1.0, count / 300)
    return BedSpec.from_dict({"name": f"bench-viz-{count}", "bed": {"diameter": 0.05, "height": height},
                              "particles": {"count": count, "diameter": 0.004}})


RESOLUTION = 16


def per_actor_scene(packing, pv):
    plotter = pv.Plotter(off_screen=True, window_size=list(SIZE))
    template = pv.Sphere(radius=packing.radius, theta_resolution=RESOLUTION, phi_resolution=RESOLUTION)
    for k, centre in enumerate(packing.centres):
        plotter.add_mesh(template.translate(centre, inplace=False), color="#3b528b", smooth_shading=True,
                         name=f"p{k}")
    return plotter


def instanced_scene(packing, pv, scene):
    plotter = pv.Plotter(off_screen=True, window_size=list(SIZE))
    plotter.add_mesh(scene.particle_surface(packing, resolution=RESOLUTION), color="#3b528b", smooth_shading=True)
    return plotter


def measure(build, path: Path, frames: int = 10) -> tuple[float, float]:
    started = time.perf_counter()
    plotter = build()
    plotter.screenshot(str(path))
    first = time.perf_counter() - started
    started = time.perf_counter()
    for k in range(frames):
        plotter.camera.azimuth = 5.0 * k
        plotter.render()
    frame = (time.perf_counter() - started) / frames
    plotter.close()
    return first, frame


def main() -> None:
    headless.configure()
    import pyvista as pv

    from viz import scene

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("spheres  scene          first PNG (s)  per frame (ms)")
        for count in (1000, 5000):
            packing = pack(bed(count))
            ours = measure(lambda: instanced_scene(packing, pv, scene), folder / "ours.png")
            naive = measure(lambda: per_actor_scene(packing, pv), folder / "naive.png")
            full = measure(lambda: scene.packing_scene(packing, window_size=SIZE), folder / "full.png")
            print(f"{count:>7}  one surface    {ours[0]:12.2f}  {ours[1] * 1e3:14.1f}")
            print(f"{count:>7}  actor/particle {naive[0]:12.2f}  {naive[1] * 1e3:14.1f}   "
                  f"-> one surface is {naive[0] / ours[0]:.1f}x faster to draw, {naive[1] / ours[1]:.1f}x per frame")
            print(f"{count:>7}  packing_scene  {full[0]:12.2f}  {full[1] * 1e3:14.1f}   (picture quality: "
                  f"{full[1] / ours[1]:.1f}x the plain frame)")
            for budget in (scene.POINT_BUDGET, scene.INTERACTIVE_POINT_BUDGET):
                page = scene.to_html(scene.packing_scene(packing, window_size=SIZE, point_budget=budget),
                                     folder / "p.html")
                print(f"{count:>7}  HTML export at {budget:,} points: {page.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
