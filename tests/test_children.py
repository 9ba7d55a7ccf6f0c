"""Signalling process groups: only the programs this process, or the worker a run's row names, started.

The victims are real ``sleep`` programs in their own sessions (as :func:`pipeline.children.popen` starts
them), signalled for real. ``os.killpg`` is wrapped by a spy (:func:`killpg_calls`) that records every call
and refuses to pass on a signal to a group below 2 or this process's own group: sending one cannot run
here (it would stop the test run, or init), so the spy stands in for the kernel for those only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator

import pytest

from pipeline import BedSpec, children
from pipeline.db import RunStatus, Simulation
from pipeline.jobs import cancel
from pipeline.runs import create_run, open_services
from pipeline.settings import Settings


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """A program in its own session (group = its pid) started by this process."""
    process = subprocess.Popen(["sleep", "300"], start_new_session=True)
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


@pytest.fixture
def killpg_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every ``os.killpg(pgid, sig)`` made; the real call except for groups below 2 and our own (see above)."""
    calls: list[tuple[int, int]] = []
    real = os.killpg

    def spy(pgid: int, sig: int) -> None:
        calls.append((pgid, sig))
        if pgid < 2 or pgid == os.getpgrp():
            return  # never reaches the kernel; the test fails on the recorded call
        real(pgid, sig)

    monkeypatch.setattr(os, "killpg", spy)
    return calls


@pytest.mark.parametrize("pgid", [0, 1, -1, "own", children.PID_MAX + 1, 2**31 - 1, 2**63, 2**80, True, 3.0])
def test_kill_group_refuses_what_cannot_be_a_program(pgid, killpg_calls: list) -> None:
    pgid = os.getpgrp() if pgid == "own" else pgid
    with pytest.raises(children.SignalRefused):
        children.kill_group(pgid, signal.SIGTERM)
    assert killpg_calls == []


def test_kill_group_checks_the_parent_of_a_group_read_from_elsewhere(victim, killpg_calls: list) -> None:
    with pytest.raises(children.SignalRefused, match=f"process group {victim.pid} is not a program started by "
                                                     "process 1"):
        children.kill_group(victim.pid, signal.SIGTERM, parent=1)
    with pytest.raises(children.SignalRefused):
        children.kill_group(victim.pid, signal.SIGTERM, parent=os.getppid())
    assert victim.poll() is None and killpg_calls == []
    assert children.kill_group(victim.pid, signal.SIGTERM, parent=os.getpid())  # its parent: signalled
    assert victim.wait(timeout=30) == -signal.SIGTERM
    assert not children.kill_group(victim.pid, signal.SIGTERM, parent=os.getpid())  # gone: nothing to do
    assert not children.kill_group(victim.pid, signal.SIGTERM)


# -- cancel: the process group comes from the database --------------------------------------------------
def running_row(database_url: str, monkeypatch: pytest.MonkeyPatch, group: int, worker_pid: int) -> int:
    """A run recorded as running on this host in process ``worker_pid``, with ``group`` as its programs."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    found = open_services(Settings.from_env())
    run_id = create_run(BedSpec.from_dict({"name": "tampered", "particles": {"count": 10}}), services=found)
    with found.db.session() as session:
        row = session.get(Simulation, run_id)
        row.status, row.worker, row.process_group = RunStatus.running, f"{socket.gethostname()}:{worker_pid}", group
    return run_id


@pytest.mark.parametrize("group", [0, 1, "own", 2**31 - 1, "foreign"])
def test_cancel_never_signals_a_tampered_process_group(database_url, monkeypatch, victim, killpg_calls,
                                                       group) -> None:
    """0, 1, our own group, a number no pid reaches, or a real program the row's worker did not start."""
    worker_pid = 1 if group == "foreign" else os.getpid()
    group = {"own": os.getpgrp(), "foreign": victim.pid}.get(group, group)
    run_id = running_row(database_url, monkeypatch, group, worker_pid)
    info = cancel(run_id)
    assert info["status"] == "cancelled" and "not signalled from here" in info["message"], info
    assert killpg_calls == [] and victim.poll() is None


def test_cancel_signals_the_programs_its_worker_started(database_url, monkeypatch, victim) -> None:
    run_id = running_row(database_url, monkeypatch, victim.pid, os.getpid())  # this process started the victim
    info = cancel(run_id)
    assert info["status"] == "cancelled" and info["message"] == "cancelled by request"
    assert victim.wait(timeout=30) == -signal.SIGTERM


def test_the_cancel_command_refuses_tampered_groups_with_a_message(bedflow_cmd, tmp_path, monkeypatch,
                                                                   victim) -> None:
    database_url = f"sqlite:///{tmp_path / 'runs.db'}"  # SQLite keeps 8-byte integers: os.killpg overflowed
    for group, worker_pid in ((2**40, os.getpid()), (victim.pid, os.getppid())):  # not the victim's parent
        run_id = running_row(database_url, monkeypatch, group, worker_pid)
        done = subprocess.run([*bedflow_cmd, "cancel", str(run_id), "--json"], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "DATABASE_URL": database_url})
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        info = json.loads(done.stdout)
        assert info["status"] == "cancelled" and "not signalled from here" in info["message"]
        assert victim.poll() is None
