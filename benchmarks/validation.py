"""The validation study: packed-bed Δp/L against Ergun, Eisfeld–Schnitzlein, Carman and the DNS law.

Runs :func:`pipeline.study.study_cases` (long beds at D/d = 5 and 10: three seeds at Re_p 1 and 20 at the
default resolution and contact treatment (bridges), the first seed on a finer mesh and with a gap and caps), each a
recorded run in one sweep, and prints each case's Δp/L, its ratios to the correlations (for the packing as
packed) and its cost as it finishes; then per bed and Re_p the seeds' mean with the seed scatter, the GCI and
their combination. Writes every row and the summary as JSON for ``notebooks/05_validation.ipynb``.

Run: .venv/bin/python benchmarks/validation.py [--quick] [--beds dd5,dd10] [--resolution 8] [--finer 10]
     [--seeds 1,2,3] [--reynolds 1,20] [--treatments gap,cap] [--processes 2]
     [--out benchmarks/results/validation.json] [--no-record]
The JSON is rewritten after every case, so a study stopped part-way keeps what it ran.
``--quick``: the 90-sphere demo bed, two seeds, Re_p 1, d/6 and d/8 without refinement (a look at the machinery
in about a minute; its numbers are not a validation).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Callable

from pipeline.study import BEDS, QUICK_BED, REYNOLDS, SEEDS, TREATMENTS, StudyRow, run_study, study_cases, summarize

OUT = Path(__file__).parent / "results" / "validation.json"
SHOWN = ("ergun", "eisfeld_schnitzlein", "carman", "beetstra")


def print_row(row: StudyRow) -> None:
    ratios = "  ".join(f"{name} {row.ratios[name]:.3f}" for name in SHOWN)
    print(f"{row.case.label:<42} {row.cells:>9,} cells  Δp/L {row.dp_dz:9.4g} ± {row.dp_dz_uncertainty:.2g} Pa/m  "
          f"ε {row.porosity_nominal:.3f}/{row.porosity_solved:.3f}/{row.porosity_mesh:.3f}  {ratios}  "
          f"wall {row.wall_share:.1%} of the drag ({row.wall_share_reichelt:.1%} of the surface), "
          f"{row.near_wall_flow_share:.1%} of the flow within d/2 of it ({row.near_wall_area_share:.1%} of the area)  "
          f"{row.seconds:6.0f} s", flush=True)


def listed(kind: type) -> Callable[[str], tuple]:
    """An argparse type: a comma-separated list of ``kind`` (an empty string is the empty tuple)."""
    return lambda text: tuple(kind(part) for part in text.split(",") if part.strip())


def write(out: Path, rows: list[StudyRow], seconds: float, quick: bool) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cases": [row.to_dict() for row in rows], "summary": summarize(rows) if rows else [],
                               "seconds": seconds, "quick": quick}, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--beds", default=",".join(BEDS))
    # d/8 and d/10 (each with one surface level and two prism layers): the D/d 5 bed's 8 cases take about an
    # hour on 2 cores; at the verified default d/12 the study would take most of a day (README)
    parser.add_argument("--resolution", type=int, default=8)
    parser.add_argument("--finer", type=int, default=10, help="0: no finer mesh (no GCI)")
    parser.add_argument("--seeds", type=listed(int), default=SEEDS)
    parser.add_argument("--reynolds", type=listed(float), default=REYNOLDS)
    parser.add_argument("--treatments", type=listed(str), default=TREATMENTS)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    overrides = {"cfd.processes": args.processes}
    if args.quick:
        beds = {"quick": QUICK_BED}
        cases = study_cases(("quick",), resolution=6, finer=8, seeds=(1, 2), reynolds=(1.0,), treatments=("gap",))
        overrides.update({"cfd.surface_refinement": 0, "cfd.boundary_layers": 0})
    else:
        beds = BEDS
        cases = study_cases(tuple(args.beds.split(",")), resolution=args.resolution, finer=args.finer,
                            seeds=args.seeds, reynolds=args.reynolds, treatments=args.treatments)
    print(f"{len(cases)} cases; Δp/L with the fit's 95 % interval; porosity as packed / solved / meshed; "
          "ratios CFD / correlation for the packing as packed")
    started = time.perf_counter()
    done: list[StudyRow] = []

    def on_row(row: StudyRow) -> None:
        print_row(row)
        done.append(row)
        write(args.out, done, time.perf_counter() - started, args.quick)

    rows = run_study(cases, beds, overrides=overrides, record=not args.no_record, on_row=on_row,
                     name="validation study (quick)" if args.quick else "validation study")
    summary = summarize(rows)
    print("\nbed    Re_p  seeds  Δp/L (Pa/m)   seeds ±  GCI     total ±   " + "  ".join(SHOWN))
    for entry in summary:
        ratios = "  ".join(f"{entry['ratios'][name]:.3f}" for name in SHOWN)
        gci = f"{entry['gci']:.1%}" if math.isfinite(entry["gci"]) else "–"
        print(f"{entry['bed']:<6} {entry['reynolds']:>4g}  {entry['seeds']:>5}  {entry['dp_dz']:11.4g}  "
              f"{entry['seed_scatter']:7.1%}  {gci:>6}  {entry['uncertainty']:7.1%}   {ratios}   "
              f"wall {entry['wall_share']:.1%} of the drag, {entry['wall_share_reichelt']:.1%} of the surface; "
              f"E&S with that wall factor {entry['eisfeld_schnitzlein_measured_wall']:.3f}")
        for treatment, values in entry["treatments"].items():
            print(f"        {treatment:<7} Δp/L {values['dp_dz']:.4g} ({values['change']:+.1%} vs the seed's), "
                  f"porosity solved {values['porosity_solved']:.4f}, mesh {values['porosity_mesh']:.4f}")
    total = time.perf_counter() - started
    print(f"\nthe study took {total / 60:.1f} min on this machine")
    write(args.out, rows, total, args.quick)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
