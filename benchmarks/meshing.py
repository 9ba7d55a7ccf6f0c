"""Benchmark: what the meshing settings cost, against the previous settings measured in the same run.

Meshes one 90-sphere bed (D/d = 5, d/10, the default refinement: one surface level and two prism layers) on
2 MPI ranks twice:
  * baseline: the settings before this benchmark existed (10 feature-snapping passes of snappyHexMesh's
    morph, with no feature edges to snap to; prism layers down to a tenth of a cell thick; ASCII files);
  * now: one snapping pass, layers of at least a quarter cell, binary files (``pipeline.cfd.snappy``,
    ``pipeline.cfd.tube.control_dict``).
Prints the cells, each snappyHexMesh phase and the whole mesh stage as ratios to the baseline.
Run: .venv/bin/python benchmarks/meshing.py
"""

from __future__ import annotations

import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from pipeline import parse_bed
from pipeline.cfd import bed, tube
from pipeline.workflow import mesh

BED = """name = "bench-meshing";
bed { diameter = 25 mm; height = 40 mm; }
particles { kind = sphere; diameter = 5 mm; count = 90; seed = 42; }
cfd { particle_reynolds = 5; mesh_cells_per_diameter = 10; processes = 2; }
"""


@contextmanager
def previous_settings() -> Iterator[None]:
    """The snappyHexMesh and controlDict settings as they were: 10 morph passes, thin layers, ASCII files."""
    snappy, control = bed.snappy_dictionary, tube.control_dict

    def old_snappy(*args: Any, **kwargs: Any) -> dict[str, Any]:
        contents = snappy(*args, **kwargs)
        contents["snapControls"]["nFeatureSnapIter"] = 10
        contents["addLayersControls"]["minThickness"] = 0.1
        return contents

    def old_control(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**control(*args, **kwargs), "writeFormat": "ascii"}

    bed.snappy_dictionary, tube.control_dict = old_snappy, old_control
    try:
        yield
    finally:
        bed.snappy_dictionary, tube.control_dict = snappy, control


def timed_mesh(folder: Path) -> tuple[float, dict[str, Any]]:
    """Seconds and mesh quality, with ``layer_passes``: how often snappyHexMesh extruded the layers."""
    started = time.perf_counter()
    quality = mesh(parse_bed(BED), folder)
    seconds = time.perf_counter() - started
    log = (folder / "case" / "log.snappyHexMesh").read_text(errors="replace")
    return seconds, {**quality, "layer_passes": log.count("Layer addition iteration")}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with previous_settings():
            base_seconds, base = timed_mesh(Path(tmp) / "baseline")
        seconds, now = timed_mesh(Path(tmp) / "now")
    print(f"90-sphere bed, d/10, one surface level + 2 layers, 2 ranks: baseline {base['cells']:,} cells, "
          f"now {now['cells']:,} cells")
    print(f"  {'phase':<22}{'baseline (s)':>13}{'now / baseline':>16}")
    for phase, spent in base["phase_seconds"].items():
        print(f"  snappyHexMesh {phase:<8}{spent:>13.1f}{now['phase_seconds'][phase] / spent:>16.2f}")
    print(f"  {'mesh stage (all)':<22}{base_seconds:>13.1f}{seconds / base_seconds:>16.2f}")
    print(f"  layer extrusion passes: baseline {base['layer_passes']}, now {now['layer_passes']}")


if __name__ == "__main__":
    main()
