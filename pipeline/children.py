"""The programs this process has started (OpenFOAM, Blender), so a cancelled run can stop them.

Each child runs in its own process group (``start_new_session``) and is told
by the kernel to die with the thread that started it (``PR_SET_PDEATHSIG``):
a worker killed with SIGKILL does not leave solvers running behind it.
:func:`terminate_all` stops every registered group (what cancelling does).

:func:`kill_group` never signals group 0 or 1 (``killpg`` would take them as "my own group" or reach
``init``), this process's own group, or a number that cannot be a process id; given the process that started
the group (a number read from the database), it checks the group is still that process's child first.
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
from pathlib import Path
from typing import Any

from .errors import BedflowError

_PR_SET_PDEATHSIG = 1
#: The largest process id Linux hands out (``PID_MAX_LIMIT``): a larger number is no process group.
PID_MAX = 2**22
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


class SignalRefused(BedflowError):
    """A process group that is not safe to signal: not a program this process (or the given one) started."""


def _leader(pgid: int) -> tuple[int, int, int] | None:
    """``(parent pid, process group, session)`` of process ``pgid`` (from ``/proc``), ``None`` if it is gone."""
    try:
        stat = Path(f"/proc/{pgid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (command) ": state, ppid, pgrp, session, ...
    return int(fields[1]), int(fields[2]), int(fields[3])


def kill_group(pgid: int, sig: int = signal.SIGKILL, *, parent: int | None = None) -> bool:
    """Signal a process group; False if it is already gone.

    Raises :class:`SignalRefused` (and signals nothing) for a number that is no one's group (≤ 1, over
    :data:`PID_MAX`, not an int) or this process's own group. With ``parent`` (the pid that started the
    program, for a group read from the database), the group's leader must be a child of ``parent`` that
    leads its own session, as :func:`popen` starts them; a leader that is gone is not signalled (False).
    """
    if isinstance(pgid, bool) or not isinstance(pgid, int) or not 1 < pgid <= PID_MAX:
        raise SignalRefused(f"{pgid!r} is not the process group of a program (those go from 2 to {PID_MAX:,})")
    if pgid == os.getpgrp():
        raise SignalRefused(f"process group {pgid} is this process's own")
    if parent is not None:
        leader = _leader(pgid)
        if leader is None:
            return False
        if leader != (parent, pgid, pgid) or parent <= 1:
            raise SignalRefused(f"process group {pgid} is not a program started by process {parent}")
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False


def terminate_all(sig: int = signal.SIGTERM) -> list[int]:
    """Signal every registered child group; return the groups signalled."""
    return [pgid for pgid in running_groups() if kill_group(pgid, sig)]
