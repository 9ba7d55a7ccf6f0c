"""Benchmark: reading and identifying bed specifications.

Prints ratios against baselines measured in the same run (absolute times on shared machines are noise):
  parse_bed(text)            vs  json.loads(canonical JSON) + BedSpec.from_dict   (cost of the .bed language)
  BedSpec.from_dict(data)    vs  json.loads(canonical JSON)                       (cost of validation)
  spec.digest()              vs  json.dumps(spec.to_dict())                       (cost of hashing)
"""

from __future__ import annotations

import json
import timeit

from pipeline import BedSpec, parse_bed
from pipeline.presets import preset_names, preset_path


def best(fn, number: int) -> float:
    """Best time per call (s) over 5 repeats."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def main() -> None:
    print(f"{'bed':<16} {'parse/json+dict':>16} {'from_dict/json':>15} {'digest/dumps':>13} {'parse (µs)':>11}")
    for name in preset_names():
        spec = parse_bed(preset_path(name))
        text = spec.to_bed()  # every field written, so both routes set the same 50 values
        canonical = spec.to_json()
        data = json.loads(canonical)
        t_parse = best(lambda: parse_bed(text), 200)
        t_json = best(lambda: json.loads(canonical), 2000)
        t_from_dict = best(lambda: BedSpec.from_dict(json.loads(canonical)), 200)
        t_digest = best(spec.digest, 200)
        t_dumps = best(lambda: json.dumps(spec.to_dict()), 200)
        assert BedSpec.from_dict(data) == spec
        print(
            f"{name:<16} {t_parse / t_from_dict:>16.2f} {t_from_dict / t_json:>15.1f} "
            f"{t_digest / t_dumps:>13.2f} {t_parse * 1e6:>11.0f}"
        )


if __name__ == "__main__":
    main()
