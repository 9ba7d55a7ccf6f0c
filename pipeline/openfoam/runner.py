"""Run OpenFOAM programs: logged, streamed, in their own process group.

:func:`run_foam` starts a program with an argument list (never a shell string)
in the case directory, copies its merged stdout/stderr line by line into
``log.<program>`` and to an optional ``on_line`` consumer, and turns a failure
(non-zero exit, or a ``FOAM FATAL ERROR`` even with exit 0) into :class:`FoamError`
carrying the log's tail.

An MPI program never runs on more ranks than this process has CPUs (``os.sched_getaffinity``):
:func:`run_foam` refuses it (:class:`TooManyRanks`) instead of oversubscribing. ``mpirun`` still gets
``--oversubscribe``: Open MPI counts its slots as physical *cores* (hwloc), not the CPUs the kernel gives this
process, so on a machine or container with two hardware threads per core (or where hwloc misreads the
container's cores) it refuses a rank count the CPUs can run; the check here is the limit, on the count that
matters, and ``--oversubscribe`` only keeps Open MPI's own, different count out of the way.
"""

from __future__ import annotations

import collections
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from pipeline import children
from pipeline.errors import BedflowError
from pipeline.limits import available_cpus
from pipeline.openfoam.environment import foam_environment

FATAL_MARKERS = ("FOAM FATAL ERROR", "FOAM FATAL IO ERROR")
TAIL_LINES = 40
MPI_ROOT_VARIABLES = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


class FoamError(BedflowError):
    """An OpenFOAM program failed; carries its name, exit code and the log's tail."""

    def __init__(
        self, program: str, returncode: int | None, tail: Sequence[str], log_path: Path, reason: str = ""
    ) -> None:
        self.program = program
        self.returncode = returncode
        self.tail = list(tail)
        self.log_path = log_path
        why = reason or f"exit code {returncode}"
        text = "\n".join(self.tail)
        super().__init__(f"{program} failed ({why}); see {log_path}. Last lines:\n{text}")


class TooManyRanks(BedflowError):
    """An MPI program asked for more ranks than this machine (or container) gives this process CPUs."""

    def __init__(self, program: str, processes: int, cpus: int) -> None:
        self.program, self.processes, self.cpus = program, processes, cpus
        super().__init__(f"{program} asks for {processes} MPI ranks, but this worker may use only {cpus} CPUs "
                         "(os.sched_getaffinity) and does not oversubscribe them: set cfd.processes to at most "
                         f"{cpus}, or run it on a worker with more CPUs")


def check_ranks(program: str, processes: int) -> None:
    """Raise :class:`TooManyRanks` if ``processes`` ranks would oversubscribe this process's CPUs."""
    cpus = available_cpus()
    if processes > cpus:
        raise TooManyRanks(program, processes, cpus)


def foam_command(program: str, args: Sequence[str] = (), processes: int = 1) -> list[str]:
    """The argument list running ``program`` (under ``mpirun`` if ``processes > 1``)."""
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    if processes == 1:
        return [program, *args]
    mpi = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(processes)]
    return [*mpi, program, "-parallel", *args]


def _environment(case_dir: Path, processes: int) -> dict[str, str]:
    environment = dict(foam_environment())
    environment["PWD"] = str(case_dir.resolve())  # else OpenFOAM warns "PWD is not the cwd()"
    if processes > 1:
        environment.update(MPI_ROOT_VARIABLES)
    return environment


def _kill_group(process: subprocess.Popen[str]) -> None:
    """Kill the program and everything it started (its own process group)."""
    children.kill_group(process.pid)


def _expire(process: subprocess.Popen[str], expired: threading.Event) -> None:
    expired.set()
    _kill_group(process)


def _stream(
    process: subprocess.Popen[str],
    log: TextIO,
    tail: collections.deque[str],
    on_line: Callable[[str], None] | None,
) -> bool:
    """Copy the program's output to the log, ``tail`` and ``on_line``; True if it reported a fatal error."""
    assert process.stdout is not None
    fatal = False
    for raw in process.stdout:
        line = raw.rstrip("\n")
        log.write(raw)
        log.flush()  # a supervisor may follow the log file live
        tail.append(line)
        fatal = fatal or any(marker in line for marker in FATAL_MARKERS)
        if on_line is not None:
            on_line(line)
    return fatal


def run_foam(
    program: str,
    case_dir: Path,
    args: Sequence[str] = (),
    log_name: str | None = None,
    on_line: Callable[[str], None] | None = None,
    processes: int = 1,
    timeout: float | None = None,
) -> Path:
    """Run an OpenFOAM ``program`` in ``case_dir`` and return its log's path.

    Output (stdout and stderr merged) goes line by line to ``case_dir/log.<program>``
    (or ``log_name``) and to ``on_line``. The program runs in a new session (its own
    process group) so a supervisor can kill it with everything it spawned. With
    ``processes > 1`` it runs as ``mpirun ... -np N program -parallel``.

    Raises :class:`FoamError` on a non-zero exit, a fatal OpenFOAM error in the
    output, or when ``timeout`` seconds pass (the process group is then killed), and
    :class:`TooManyRanks` (starting nothing) for more ranks than this process has CPUs.
    """
    check_ranks(program, processes)
    case_dir = Path(case_dir)
    log_path = case_dir / (log_name or f"log.{program}")
    command = foam_command(program, args, processes)
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    with log_path.open("w", encoding="utf-8") as log:
        try:
            process = children.popen(
                command,
                cwd=case_dir,
                env=_environment(case_dir, processes),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                bufsize=1,
            )
        except OSError as exc:
            raise FoamError(program, None, [str(exc)], log_path, reason="could not start") from exc
        expired = threading.Event()
        timer = threading.Timer(timeout, _expire, args=(process, expired)) if timeout else None
        if timer:
            timer.start()
        try:
            with children.tracked(process):
                fatal = _stream(process, log, tail, on_line)
                returncode = process.wait()
        except BaseException:
            _kill_group(process)
            process.wait()
            raise
        finally:
            if timer:
                timer.cancel()
    if expired.is_set():
        raise FoamError(program, returncode, tail, log_path, reason=f"timed out after {timeout} s")
    if returncode < 0:
        raise FoamError(program, returncode, tail, log_path, reason=f"stopped by signal {-returncode}")
    if returncode != 0 or fatal:
        raise FoamError(program, returncode, tail, log_path, reason="" if returncode else "FOAM FATAL ERROR")
    return log_path
