"""Benchmark: one packed bed at three mesh resolutions, Richardson extrapolation, and the MPI speed-up.

Prints, for a 90-sphere bed (D/d = 5, Re_p = 5, water):
  * per resolution: cells, dp/dz and its ratio to Ergun, Eisfeld-Schnitzlein and Carman (solved geometry),
    seconds per stage;
  * the observed order and the extrapolated dp/dz with its ratios (goal: within ±15 % of E&S, or why not);
  * the solver speed-up with 2 MPI ranks against 1 on the finest mesh (ratio measured in this run).
Run: .venv/bin/python benchmarks/cfd.py [n1 n2 n3]   (cells per particle diameter; default 10 12 16)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from pipeline import BedSpec
from pipeline.workflow import mesh_study, solve

BED = {
    "name": "bench-cfd",
    "bed": {"diameter": 0.025, "height": 0.04},
    "particles": {"count": 90, "diameter": 0.005, "seed": 42},
    "cfd": {"particle_reynolds": 5.0, "convergence": 1e-5, "max_iterations": 3000},
}


def ratios(correlations: dict[str, float], dp_dz: float) -> str:
    return ", ".join(f"{name} {dp_dz / correlations[name]:.3f}" for name in ("ergun", "eisfeld_schnitzlein", "carman"))


def main() -> None:
    resolutions = [int(a) for a in sys.argv[1:4]] or [10, 12, 16]
    spec = BedSpec.from_dict(BED)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        study = mesh_study(spec, resolutions, folder=root)
        print("cells/d    cells     dp/dz (Pa/m)  ratios (solved geometry)                 seconds")
        for n, result in zip(study.resolutions, study.results):
            stages = ", ".join(f"{k} {v:.0f}" for k, v in result.seconds.items())
            print(f"d/{n:<6} {result.cells:>9}  {result.dp_dz:12.4f}  {ratios(result.as_meshed.correlations, result.dp_dz)}"
                  f"  {stages}")
        ex = study.extrapolation
        finest = study.results[-1]
        print(f"observed order {ex.order:.2f} ({'monotonic' if ex.monotonic else 'oscillating'}), "
              f"extrapolated dp/dz {ex.value:.4f} Pa/m, GCI(fine) {ex.gci_fine:.1%}")
        print(f"extrapolated ratios: {ratios(finest.as_meshed.correlations, ex.value)}")

        case = root / f"d{study.resolutions[-1]}" / "case"
        serial = finest.seconds["solve"]
        started = time.perf_counter()
        parallel = solve(case, processes=2)
        wall = time.perf_counter() - started
        print(f"MPI: 1 rank {serial:.1f} s, 2 ranks {wall:.1f} s (with decompose/reconstruct): "
              f"speed-up {serial / wall:.2f}x; dp/dz {parallel.dp_dz:.4f} vs {finest.dp_dz:.4f} Pa/m")


if __name__ == "__main__":
    main()
