"""Benchmark: what recording a run costs over running its stages bare, on the same bed in the same process.

Prints ratios measured in this run (absolute times on shared 2-core machines are noise):
  * pack only: a recorded run to ``until="pack"`` (database rows, uploads of the packing and its geometry, the
    heartbeat, progress rows) against :func:`pipeline.packing.pack_to_folder` on the same spec; each repeat
    packs a new seed on both sides (so neither reuses a packing), the two sides interleaved;
  * full CFD (``cfd`` argument): a recorded ``pipeline.runs.run`` against :func:`pipeline.workflow.run` of the
    same coarse bed (pack, mesh, solve, results; the mesh archive and the solved case uploaded on the recorded
    side).
Embedded services: SQLite and a local store in a scratch data folder.
Run: .venv/bin/python benchmarks/recorded_run.py [repeats] [cfd]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipeline import BedSpec
from pipeline.packing import pack_to_folder
from pipeline.runs import create_run, execute, open_services
from pipeline.runs import run as recorded_run
from pipeline.settings import Settings
from pipeline.workflow import run as bare_run

PACK_BED = {"name": "bench-recorded", "bed": {"diameter": 0.025, "height": 0.06},
            "particles": {"count": 150, "diameter": 0.005}, "export": {"formats": ["stl"]}}
CFD_BED = {"name": "bench-recorded-cfd", "bed": {"diameter": 0.025, "height": 0.025},
           "particles": {"count": 40, "diameter": 0.005, "seed": 7},
           "cfd": {"particle_reynolds": 5.0, "mesh_cells_per_diameter": 6, "surface_refinement": 0,
                   "boundary_layers": 0, "max_iterations": 150}}


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def pack_only(root: Path, repeats: int) -> tuple[float, float]:
    services = open_services(Settings.from_env({"BEDFLOW_DATA_DIR": str(root / "data")}, dotenv=None))
    bare, recorded = [], []
    for k in range(repeats):
        spec = BedSpec.from_dict({**PACK_BED, "particles": {**PACK_BED["particles"], "seed": 100 + 2 * k}})
        other = BedSpec.from_dict({**PACK_BED, "particles": {**PACK_BED["particles"], "seed": 101 + 2 * k}})
        bare.append(timed(lambda: pack_to_folder(spec, root / f"bare-{k}")))
        recorded.append(timed(lambda: execute(create_run(other, until="pack", services=services), services=services)))
    return statistics.median(bare), statistics.median(recorded)


def full_cfd(root: Path) -> tuple[float, float]:
    services = open_services(Settings.from_env({"BEDFLOW_DATA_DIR": str(root / "cfd-data")}, dotenv=None))
    spec = BedSpec.from_dict(CFD_BED)
    other = spec.updated({"particles.seed": 8})
    bare = timed(lambda: bare_run(spec, folder=root / "cfd-bare"))
    recorded = timed(lambda: recorded_run(other, services=services))
    return bare, recorded


def main(argv: list[str]) -> None:
    repeats = int(argv[0]) if argv and argv[0].isdigit() else 5
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        pack_only(root / "warm", 1)  # imports, numba compilation and the first database set-up
        bare, recorded = pack_only(root, repeats)
        print(f"pack only ({PACK_BED['particles']['count']} spheres, median of {repeats}): bare {bare:.2f} s, "
              f"recorded {recorded:.2f} s -> recorded / bare = {recorded / bare:.3f} "
              f"({(recorded / bare - 1) * 100:+.1f} %)")
        if "cfd" in argv:
            bare, recorded = full_cfd(root)
            print(f"full CFD ({CFD_BED['particles']['count']} spheres, d/6): bare {bare:.1f} s, recorded "
                  f"{recorded:.1f} s -> recorded / bare = {recorded / bare:.3f} ({(recorded / bare - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main(sys.argv[1:])
