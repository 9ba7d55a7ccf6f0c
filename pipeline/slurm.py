"""Slurm, as bedflow talks to it: the executor settings, batch jobs submitted with argument lists, their states.

``BEDFLOW_EXECUTOR=slurm`` (default ``local``) names Slurm as where heavy stages are to run, with
``BEDFLOW_SLURM_PARTITION``, ``BEDFLOW_SLURM_ACCOUNT``, ``BEDFLOW_SLURM_TIME_LIMIT`` (Slurm's ``--time``:
``30``, ``2:00:00``, ``1-00:00:00``), ``BEDFLOW_SLURM_NODES`` and ``BEDFLOW_SLURM_EXTRA`` (more ``sbatch`` options,
each ``--name=value``). Every value is checked here before it reaches a command line, and commands are run with
argument lists, never through a shell.

This module is the client only: :func:`submit` (``sbatch --parsable``), :func:`job` (``scontrol show job``, which
needs no accounting daemon; Slurm forgets a finished job after ``MinJobAge``, 300 s by default), :func:`cancel`
(``scancel``) and :func:`wait`. :data:`FAILED_STATES` says, for each way a job ends badly, what a run's error
says.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BedflowError

EXECUTORS = ("local", "slurm")
#: Slurm job states a job is still alive in, and the ones it ended well or badly in.
ALIVE_STATES = ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING")
#: How each bad end reads in a run's error.
FAILED_STATES = {
    "FAILED": "the job failed (non-zero exit code)",
    "TIMEOUT": "the job reached its time limit",
    "CANCELLED": "the job was cancelled",
    "NODE_FAIL": "a node of the job failed",
    "OUT_OF_MEMORY": "the job ran out of memory",
    "PREEMPTED": "the job was preempted",
    "BOOT_FAIL": "a node of the job failed to boot",
    "DEADLINE": "the job missed its deadline",
}
_TIME = re.compile(r"(\d{1,6}|\d{1,4}:\d{2}(:\d{2})?|\d{1,4}-\d{1,2}(:\d{2}(:\d{2})?)?)\Z")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
_OPTION = re.compile(r"--[a-z][a-z0-9-]{0,40}(=[A-Za-z0-9_.,:@%/+=-]{1,200})?\Z")
_JOB_ID = re.compile(r"\d{1,12}\Z")


class SlurmError(BedflowError):
    """Slurm refused or could not be asked (the message says which command and what it said)."""


@dataclass(frozen=True)
class SlurmSettings:
    """Where and how heavy stages run on Slurm (every value already checked)."""

    partition: str = ""
    account: str = ""
    time_limit: str = ""
    nodes: int = 0  # 0: as Slurm sees fit
    extra: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SlurmSettings":
        """Read ``BEDFLOW_SLURM_*``; :class:`SlurmError` naming every bad value."""
        values = os.environ if env is None else env
        get = lambda name: values.get(f"BEDFLOW_SLURM_{name}", "").strip()  # noqa: E731
        problems = []
        for name in ("PARTITION", "ACCOUNT"):
            if get(name) and not _NAME.match(get(name)):
                problems.append(f"BEDFLOW_SLURM_{name} is a plain name (letters, digits, _ . -), got {get(name)!r}")
        if get("TIME_LIMIT") and not _TIME.match(get("TIME_LIMIT")):
            problems.append("BEDFLOW_SLURM_TIME_LIMIT is Slurm's --time (minutes, H:MM:SS or D-HH:MM:SS), got "
                            f"{get('TIME_LIMIT')!r}")
        nodes = get("NODES") or "0"
        if not nodes.isdigit() or not 0 <= int(nodes) <= 10_000:
            problems.append(f"BEDFLOW_SLURM_NODES is a whole number of nodes, got {nodes!r}")
        try:
            extra = tuple(shlex.split(get("EXTRA")))
        except ValueError as error:
            extra, problems = (), [*problems, f"BEDFLOW_SLURM_EXTRA cannot be read: {error}"]
        bad = [item for item in extra if not _OPTION.match(item)]
        if bad:
            problems.append(f"BEDFLOW_SLURM_EXTRA takes sbatch options as --name or --name=value, not {bad}")
        if problems:
            raise SlurmError("; ".join(problems))
        return cls(get("PARTITION"), get("ACCOUNT"), get("TIME_LIMIT"), int(nodes), extra)

    def sbatch_options(self, *, tasks: int, name: str, output: Path) -> list[str]:
        """The options of one batch job with ``tasks`` MPI ranks."""
        if not 1 <= tasks <= 100_000:
            raise SlurmError(f"a job has 1 to 100000 tasks, not {tasks}")
        if not _NAME.match(name):
            raise SlurmError(f"a job name is a plain name, not {name!r}")
        options = ["--parsable", f"--job-name={name}", f"--ntasks={tasks}", f"--output={output}"]
        options += [f"--partition={self.partition}"] if self.partition else []
        options += [f"--account={self.account}"] if self.account else []
        options += [f"--time={self.time_limit}"] if self.time_limit else []
        options += [f"--nodes={self.nodes}"] if self.nodes else []
        return options + list(self.extra)


def executor(env: Mapping[str, str] | None = None) -> str:
    """``BEDFLOW_EXECUTOR``: ``local`` (default) or ``slurm``."""
    value = (os.environ if env is None else env).get("BEDFLOW_EXECUTOR", "").strip().lower() or "local"
    if value not in EXECUTORS:
        raise SlurmError(f"BEDFLOW_EXECUTOR is local or slurm, got {value!r}")
    return value


@dataclass(frozen=True)
class JobInfo:
    """What Slurm says of a job: its state (``PENDING``, ``RUNNING``, ``COMPLETED``, ``TIMEOUT``, ...), the reason
    it waits or ended (``Priority``, ``Resources``, ``TimeLimit``, ``None``), its exit code and nodes."""

    job_id: str
    state: str
    reason: str = ""
    exit_code: str = ""
    nodes: str = ""

    @property
    def alive(self) -> bool:
        return self.state in ALIVE_STATES

    @property
    def failure(self) -> str | None:
        """Why the job ended badly, as a run's error says it; ``None`` while alive or once it completed."""
        if self.alive or self.state == "COMPLETED":
            return None
        text = FAILED_STATES.get(self.state, f"the job ended {self.state}")
        return f"Slurm job {self.job_id}: {text}" + (f" (exit code {self.exit_code})" if self.exit_code not in
                                                     ("", "0:0") else "")


def _command(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SlurmError(f"the Slurm command {name!r} is not on PATH (install slurm-client on this machine)")
    return found


def _run(argv: Sequence[str], timeout: float = 60.0, env: Mapping[str, str] | None = None) -> str:
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                                env={**os.environ, **env} if env else None)
    except subprocess.TimeoutExpired:
        raise SlurmError(f"{Path(argv[0]).name} did not answer within {timeout:g} s") from None
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip().splitlines()
        raise SlurmError(f"{Path(argv[0]).name} failed (exit code {result.returncode}): "
                         f"{said[-1] if said else 'no message'}")
    return result.stdout


def submit(script: Path, settings: SlurmSettings, *, tasks: int, name: str, output: Path,
           env: Mapping[str, str] | None = None) -> str:
    """``sbatch`` ``script`` (a file this process wrote: no user text in it) as job ``name`` with ``tasks`` ranks,
    in this environment plus ``env`` (the job inherits it: the database, store and queue settings); the job's
    id."""
    argv = [_command("sbatch"), *settings.sbatch_options(tasks=tasks, name=name, output=output), str(script)]
    answer = _run(argv, env=env).strip().split(";")[0]
    if not _JOB_ID.match(answer):
        raise SlurmError(f"sbatch answered {answer!r}, not a job id")
    return answer


def job(job_id: str) -> JobInfo | None:
    """The job's state from ``scontrol show job`` (no accounting daemon needed); ``None`` when Slurm no longer
    knows it."""
    if not _JOB_ID.match(str(job_id)):
        raise SlurmError(f"a Slurm job id is a number, not {job_id!r}")
    try:
        text = _run([_command("scontrol"), "show", "job", "--oneliner", str(job_id)])
    except SlurmError as error:
        if "Invalid job id" in str(error):
            return None
        raise
    fields = dict(item.split("=", 1) for item in text.split() if "=" in item)
    return JobInfo(str(job_id), fields.get("JobState", "UNKNOWN"), fields.get("Reason", ""),
                   fields.get("ExitCode", ""), fields.get("NodeList", ""))


def cancel(job_id: str) -> None:
    """``scancel`` the job (a job already gone is fine)."""
    if not _JOB_ID.match(str(job_id)):
        raise SlurmError(f"a Slurm job id is a number, not {job_id!r}")
    _run([_command("scancel"), str(job_id)])


def wait(job_id: str, *, interval: float = 1.0, timeout: float | None = None) -> JobInfo:
    """Poll the job until it is no longer alive (sleeping between looks: no CPU held); its last state."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        info = job(job_id)
        if info is None:
            raise SlurmError(f"Slurm job {job_id} is unknown (finished more than MinJobAge ago, or never ran)")
        if not info.alive:
            return info
        if deadline is not None and time.monotonic() > deadline:
            raise SlurmError(f"Slurm job {job_id} still {info.state} after {timeout:g} s")
        time.sleep(interval)
