"""Benchmark: what surface refinement and MPI meshing buy, measured against a baseline in the same run.

Prints, for the sc-array verification case (φ = 0.125, Zick & Homsy K = 4.292):
  * background d/8 without refinement (the baseline), d/8 with one surface level, d/12 without and d/12 with
    one level and two prism layers (the verified default): cells, error against the exact K, and each one's
    time as a ratio to the baseline's;
  * snappyHexMesh of a 90-sphere bed (D/d = 5, d/10) on 2 MPI ranks against 1: the time ratio and the
    cell counts (equal to a few cells).
Run: .venv/bin/python benchmarks/verification.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from pipeline import parse_bed
from pipeline.cfd.snappy import Refinement
from pipeline.verification import verify
from pipeline.workflow import mesh

BED = """name = "bench-mesh";
bed { diameter = 25 mm; height = 40 mm; }
particles { kind = sphere; diameter = 5 mm; count = 90; seed = 42; }
cfd { particle_reynolds = 5; mesh_cells_per_diameter = 10; surface_refinement = 0; boundary_layers = 0; }
"""


def sc_array(resolution: int, level: int, layers: int = 0) -> tuple[int, float, float]:
    started = time.perf_counter()
    row = verify(["sc-array"], {"sc-array": [0.125]}, [resolution], Refinement(level, 0, layers)).rows[0]
    return row.cells, row.error, time.perf_counter() - started


def main() -> None:
    base = sc_array(8, 0)
    print(f"{'sc-array φ 0.125':<28}{'cells':>9}  {'error':>8}   time / baseline")
    print(f"  {'d/8,  level 0':<26}{base[0]:>9,}  {100 * base[1]:+6.2f} %   1.00 (baseline, {base[2]:.1f} s)")
    for label, resolution, level, layers in (("d/8,  level 1", 8, 1, 0), ("d/12, level 0", 12, 0, 0),
                                             ("d/12, level 1 + 2 layers", 12, 1, 2)):
        cells, error, seconds = sc_array(resolution, level, layers)
        print(f"  {label:<26}{cells:>9,}  {100 * error:+6.2f} %   {seconds / base[2]:.2f}")
    spec = parse_bed(BED)
    with tempfile.TemporaryDirectory() as tmp:
        timings = {}
        for ranks in (1, 2):
            started = time.perf_counter()
            quality = mesh(spec.updated({"cfd.processes": ranks}), Path(tmp) / f"r{ranks}")
            timings[ranks] = (time.perf_counter() - started, quality.cells)
    print(f"meshing a 90-sphere bed at d/10: 1 rank {timings[1][0]:.1f} s ({timings[1][1]:,} cells), "
          f"2 ranks {timings[2][0]:.1f} s ({timings[2][1]:,} cells): speed-up {timings[1][0] / timings[2][0]:.2f}x")


if __name__ == "__main__":
    main()
