"""Benchmark: what running the heavy stages (mesh, solve) as Slurm batch jobs costs over running them on the
worker, on the same small CFD case (a one-node Slurm cluster on this machine: pipeline.testing.SlurmCluster; needs
root and Debian's slurmctld, slurmd and munge).

Prints the ratio of mesh + solve wall time, batch jobs (submission, scheduling, the job's own start-up, the
worker's 2 s follow-up) over the local executor, in the same run: four beds of different seeds, alternated
local, Slurm, Slurm, local, so a drift of the machine's load touches both alike.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

SPEC = {"name": "bench-slurm", "bed": {"diameter": 0.025, "height": 0.025},
        "particles": {"count": 40, "diameter": 0.005},
        "cfd": {"particle_reynolds": 5, "mesh_cells_per_diameter": 6, "surface_refinement": 0, "boundary_layers": 0,
                "max_iterations": 150, "processes": 2}}
ORDER = (("local", 1), ("slurm", 2), ("slurm", 3), ("local", 4))


def heavy_stages(executor: str, seed: int) -> float:
    """Pack here, then time mesh + solve of a new run (bed of ``seed``) on ``executor``."""
    from pipeline import BedSpec
    from pipeline.db import Simulation
    from pipeline.jobs.cluster import run_as_batch_job
    from pipeline.runs import claim, create_run, open_services, run_stage
    from pipeline.runs.execute import stage_spans

    found = open_services()
    spec = BedSpec.from_dict({**SPEC, "particles": {**SPEC["particles"], "seed": seed}}).validate()
    run_id = create_run(spec, services=found)
    taken = claim(run_id, worker=f"bench:{os.getpid()}", services=found)
    with found.db.session() as session:
        spans = stage_spans(session.get(Simulation, run_id))
    run_stage(run_id, "pack", span=spans["pack"], services=found, claim=taken)
    started = time.perf_counter()
    for stage in ("mesh", "solve"):
        if executor == "slurm":
            run_as_batch_job(found, run_id, stage, taken, processes=spec.cfd.processes)
        else:
            run_stage(run_id, stage, span=spans[stage], services=found, claim=taken)
    return time.perf_counter() - started


def main() -> None:
    from pipeline.testing import SlurmCluster

    folder = Path(tempfile.mkdtemp(prefix="bedflow-bench-slurm-"))
    os.environ["BEDFLOW_DATA_DIR"] = str(folder / "data")
    os.environ["BEDFLOW_SHARED_DIR"] = str(folder / "shared")
    for name in ("DATABASE_URL", "BEDFLOW_STORE", "BEDFLOW_QUEUE"):
        os.environ.pop(name, None)
    cluster = SlurmCluster().start()
    os.environ.update({**cluster.env, "BEDFLOW_SLURM_PARTITION": cluster.partition})
    try:
        seconds = {"local": 0.0, "slurm": 0.0}
        for executor, seed in ORDER:
            took = heavy_stages(executor, seed)
            seconds[executor] += took
            print(f"  {executor:<6} seed {seed}: mesh + solve {took:6.1f} s")
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"mesh + solve as Slurm jobs / on the worker: {seconds['slurm'] / seconds['local']:.2f} "
          f"({seconds['slurm'] / 2:.1f} s vs {seconds['local'] / 2:.1f} s a run)")


if __name__ == "__main__":
    main()
