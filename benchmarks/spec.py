"""Benchmark: reading and identifying bed specifications.

Prints ratios against baselines measured in the same run (absolute times on shared machines are noise):
  parse_bed(text)            vs  json.loads(canonical JSON) + BedSpec.from_dict   (cost of the .bed language)
  BedSpec.from_dict(data)    vs  json.loads(canonical JSON)                       (cost of validation)
  spec.digest()              vs  json.dumps(spec.to_dict())                       (cost of hashing)
and the lexer on texts near the size limit (MAX_BED_BYTES), time and peak memory (tracemalloc):
  a string literal filling the limit   vs  ordinary .bed text of the same size  (linear, no per-character state)
  the same literal, old string regex   vs  the lexer's                          (what the possessive pattern saves)
"""

from __future__ import annotations

import json
import re
import timeit
import tracemalloc
from collections.abc import Callable

from pipeline import BedSpec, parse_bed, read_bed
from pipeline.dsl.lexer import _TOKEN, MAX_BED_BYTES, Source, tokenize
from pipeline.presets import preset_names, preset_path

#: The string rule the lexer had before: an alternation repeated per character (about 260 bytes of
#: backtracking state per character of a string). Kept here only to be measured against.
OLD_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def best(fn, number: int) -> float:
    """Best time per call (s) over 5 repeats."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def main() -> None:
    print(f"{'bed':<16} {'parse/json+dict':>16} {'from_dict/json':>15} {'digest/dumps':>13} {'parse (µs)':>11}")
    for name in preset_names():
        spec = read_bed(preset_path(name))
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



def measured(fn: Callable[[], object]) -> tuple[float, float]:
    """Seconds of one call (the best of 3, untraced) and its peak traced memory (MB: tracemalloc slows calls)."""
    seconds = min(timeit.repeat(fn, number=1, repeat=3))
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds, peak


def lexing() -> None:
    """The lexer on a string literal and on ordinary text of the same size, near MAX_BED_BYTES."""
    size = MAX_BED_BYTES - 100
    literal = 'name = "' + "a" * (size - 11) + '";\n'
    line = "bed { diameter = 25 mm; height = 40 mm; } // a comment\n"
    ordinary = (line * (size // len(line) + 1))[:size]
    string_token = _TOKEN.match(literal, 7)
    assert string_token is not None and string_token.lastgroup == "string"
    t_literal, m_literal = measured(lambda: tokenize(Source(literal)))
    t_ordinary, m_ordinary = measured(lambda: tokenize(Source(ordinary)))
    t_new, m_new = measured(lambda: _TOKEN.match(literal, 7))
    t_old, m_old = measured(lambda: OLD_STRING.match(literal, 7))
    print(f"\nlexing {size:,} bytes      {'time ratio':>10} {'memory ratio':>13}   (absolute: time, peak)")
    print(f"{'literal / ordinary':<24} {t_literal / t_ordinary:>10.3f} {m_literal / m_ordinary:>13.3f}   "
          f"{t_literal * 1e3:.1f} ms, {m_literal:.1f} MB / {t_ordinary * 1e3:.0f} ms, {m_ordinary:.1f} MB")
    print(f"{'old regex / lexer regex':<24} {t_old / t_new:>10.1f} {m_old / max(m_new, 1e-6):>13.0f}   "
          f"{t_old * 1e3:.0f} ms, {m_old:.0f} MB / {t_new * 1e3:.1f} ms, {m_new:.3f} MB")


if __name__ == "__main__":
    main()
    lexing()
