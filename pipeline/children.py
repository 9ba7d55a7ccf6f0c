"""The programs this process has started (OpenFOAM, Blender), so a cancelled run can stop them.

Each child runs in its own process group (``start_new_session``) and is told
by the kernel to die with the thread that started it (``PR_SET_PDEATHSIG``):
a worker killed with SIGKILL does not leave solvers running behind it.
:func:`terminate_all` stops every registered group (what cancelling does).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_PR_SET_PDEATHSIG = 1
_lock = threading.Lock()
_groups: set[int] = set()


def die_with_parent() -> None:
    """``preexec_fn`` for children: SIGKILL when the starting thread dies (Linux only; no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def popen(command: list[str], **options: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen`` in a new process group that dies with its parent. Register it with :func:`tracked`."""
    return subprocess.Popen(command, start_new_session=True, preexec_fn=die_with_parent, **options)


@contextmanager
def tracked(process: subprocess.Popen[Any]) -> Iterator[subprocess.Popen[Any]]:
    """Keep ``process``'s group in the registry while the block runs."""
    with _lock:
        _groups.add(process.pid)
    try:
        yield process
    finally:
        with _lock:
            _groups.discard(process.pid)


def running_groups() -> list[int]:
    """Process groups of the children running now."""
    with _lock:
        return sorted(_groups)


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> bool:
    """Signal a process group; False if it is already gone."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False


def terminate_all(sig: int = signal.SIGTERM) -> list[int]:
    """Signal every registered child group; return the groups signalled."""
    return [pgid for pgid in running_groups() if kill_group(pgid, sig)]
