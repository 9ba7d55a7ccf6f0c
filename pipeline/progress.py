"""Progress reporting shared by long-running stages.

A stage takes an optional ``progress(fraction, message)`` callback: ``fraction``
goes from 0 to 1, ``message`` says what is happening. The CLI draws it as a bar,
the job system (later) writes it to the run's database row.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:  # noqa: ARG001 - the null callback
    """A callback that ignores progress."""


def scaled(progress: ProgressCallback | None, start: float, stop: float) -> ProgressCallback:
    """A callback mapping a sub-stage's 0..1 onto ``start..stop`` of ``progress``."""
    target = progress or no_progress

    def report(fraction: float, message: str) -> None:
        target(start + (stop - start) * min(1.0, max(0.0, fraction)), message)

    return report
