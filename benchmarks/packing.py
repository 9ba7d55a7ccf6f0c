"""Benchmark: the two packing engines on the same bed, and the native packer at scale.

Prints ratios against baselines measured in this run (absolute times on shared machines are noise):
  * 1000 spheres, D/d = 10: time blender/native (target >= 20x), both porosities vs Benyahia-O'Neill;
  * native at 10 000 spheres: time and its ratio to the 1000-sphere run (O(N log N) would be ~10-13x).
Run: .venv/bin/python benchmarks/packing.py [--skip-blender]
"""

from __future__ import annotations

import sys
import time

from pipeline import BedSpec, pack
from pipeline.correlations import expected_porosity


def bed(count: int, height: float) -> BedSpec:
    return BedSpec.from_dict(
        {"name": f"bench-{count}", "bed": {"diameter": 0.05, "height": height},
         "particles": {"count": count, "diameter": 0.005, "seed": 7}}
    )


def timed(spec: BedSpec, engine: str):
    started = time.perf_counter()
    packing = pack(spec, engine=engine)
    return time.perf_counter() - started, packing


def line(label: str, seconds: float, packing) -> None:
    print(f"{label:<28} {seconds:8.2f} s  N={packing.count:<6} porosity {packing.porosity():.4f} "
          f"(core {packing.core_porosity():.4f})  settled={packing.settled} ({packing.simulated_time:.2f} s simulated)")


def main() -> None:
    correlation = expected_porosity("sphere", 10.0)
    print(f"bed: spheres d = 5 mm in D = 50 mm (D/d = 10); Benyahia-O'Neill porosity {correlation:.4f}")
    pack(bed(50, 0.1), engine="native")  # compile the native kernels outside the timings
    t_native, native = timed(bed(1000, 0.1), "native")
    line("native, 1000 spheres", t_native, native)
    if "--skip-blender" not in sys.argv:
        t_blender, blender = timed(bed(1000, 0.1), "blender")
        line("blender, 1000 spheres", t_blender, blender)
        print(f"ratio blender/native time: {t_blender / t_native:.1f}x (target >= 20x)")
        print(f"porosity minus correlation: native {native.porosity() - correlation:+.4f}, "
              f"blender {blender.porosity() - correlation:+.4f}")
    t_big, big = timed(bed(10_000, 0.8), "native")
    line("native, 10000 spheres", t_big, big)
    print(f"ratio native 10000/1000 time: {t_big / t_native:.1f}x for 10x the spheres (target: 10000 under 30 s)")


if __name__ == "__main__":
    main()
