"""Jobs on real queues with real worker processes: SqliteHuey (+ SQLite) and RedisHuey (+ PostgreSQL).

Workers are `bedflow worker` processes, as users start them. Runs are pack-only
(fast) except where a stage must be caught running: meshing for the SIGKILL
test, solving for the cancel test (a coarse mesh of the CI bed).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from conftest import wait_for
from sqlalchemy import func, select

from pipeline import BedSpec, BedValidationError
from pipeline.db import Artifact, Bed, RunStatus, Simulation, Sweep, utcnow
from pipeline.jobs import STATUS_KEYS, QueueError, cancel, queue_for, recover, status, submit, submit_sweep, watch
from pipeline.jobs.tasks import stage_task
from pipeline.runs import RunError, get_run, open_services, run_artifacts
from pipeline.settings import Settings
from pipeline.testing import LocalS3Server

TINY = {"name": "tiny", "particles": {"count": 10, "seed": 1}}
SOLVABLE = {
    "name": "queued-cfd", "bed": {"diameter": 0.025, "height": 0.04},
    "particles": {"count": 90, "diameter": 0.005, "seed": 42},
    "cfd": {"particle_reynolds": 5, "mesh_cells_per_diameter": 7, "surface_refinement": 0, "boundary_layers": 0,
            "convergence": 1e-12, "max_iterations": 20000},
}


def tiny(seed: int = 1) -> BedSpec:
    return BedSpec.from_dict({**TINY, "particles": {"count": 10, "seed": seed}})


@pytest.fixture
def env(deployment) -> dict[str, str]:
    return deployment


@pytest.fixture
def sqlite_env(tmp_path, monkeypatch) -> dict[str, str]:
    values = {"BEDFLOW_DATA_DIR": str(tmp_path / "data")}
    monkeypatch.setenv("BEDFLOW_DATA_DIR", values["BEDFLOW_DATA_DIR"])
    return values


def finished(run_ids: list[int]):
    return lambda: all(RunStatus(status(i)["status"]).finished for i in run_ids)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


# -- real workers --------------------------------------------------------------------------------------
def test_a_worker_runs_submitted_runs_and_status_comes_from_the_database(env, workers, bedflow_cmd, tmp_path):
    (tmp_path / "tiny.bed").write_text(tiny().to_bed())
    submitted = subprocess.run([*bedflow_cmd, "submit", "tiny.bed", "--until", "pack", "--json"], cwd=tmp_path,
                               env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert submitted.returncode == 0, submitted.stderr
    run_id = json.loads(submitted.stdout)["id"]
    queued = status(run_id)
    assert tuple(queued) == STATUS_KEYS and queued["status"] == "queued" and queued["attempts"] == 0
    never = submit(tiny(2), until="pack")
    cancel(never)  # cancelled while queued: it must never start
    workers.start(env, workers=2)
    watched = subprocess.run([*bedflow_cmd, "watch", str(run_id)], env={**os.environ, **env}, capture_output=True,
                             text=True, timeout=120)
    assert watched.returncode == 0, watched.stderr
    done = status(run_id)
    assert done["status"] == "succeeded" and done["progress"] == 1.0 and done["attempts"] == 1
    run = get_run(run_id)
    assert re.fullmatch(r"[^:/]+:\d+/\d+", run.worker) and run.completed_stage  # host:consumer/process == "pack" and run.packing_id
    time.sleep(2)
    skipped = get_run(never)
    assert skipped.status is RunStatus.cancelled and skipped.started_at is None


def test_two_workers_share_one_queue(env, workers):
    run_ids = [submit(tiny(seed), until="pack") for seed in range(6)]
    workers.start(env)
    workers.start(env)
    wait_for(finished(run_ids), what="six runs")
    runs = [get_run(i) for i in run_ids]
    assert {r.status for r in runs} == {RunStatus.succeeded}
    assert len({r.worker for r in runs}) >= 2, [r.worker for r in runs]


def test_a_hundred_queued_runs_each_complete_exactly_once(env, workers):
    run_ids = [submit(tiny(), until="pack") for _ in range(100)]
    workers.start(env, workers=2)
    wait_for(finished(run_ids), timeout=300, interval=1.0, what="100 runs")
    found = open_services()
    with found.db.session() as session:
        rows = list(session.scalars(select(Simulation).where(Simulation.id.in_(run_ids))))
        assert len(rows) == 100
        assert {r.status for r in rows} == {RunStatus.succeeded}
        assert {r.attempts for r in rows} == {1}
        assert all(set(r.timings) == {"pack"} for r in rows)
    log = workers.log()
    assert len(re.findall(r"queue\.stage: \S+ (?:\d+ retries )?executed in", log)) == 100 and "skipping" not in log  # once each


@pytest.mark.slow
def test_a_worker_killed_mid_stage_loses_nothing(sqlite_env, workers):
    """SIGKILL the worker while snappyHexMesh runs: the mesher dies with it, the run goes stale, the sweep
    re-queues it, a new worker resumes at the mesh stage and finishes."""
    run_id = submit(BedSpec.from_dict(SOLVABLE), until="mesh")
    first = workers.start(sqlite_env)
    wait_for(lambda: get_run(run_id).stage == "mesh" and get_run(run_id).process_group, timeout=120,
             what="the mesh stage to start a program")
    mesher = get_run(run_id).process_group
    workers.kill(first)
    first.wait(timeout=10)
    wait_for(lambda: not group_alive(mesher), timeout=10, what="the mesher to die with its worker")
    assert get_run(run_id).status is RunStatus.running  # nobody has noticed yet
    assert recover(stale_after=30) == []  # the heartbeat is still fresh
    time.sleep(3)
    actions = recover(stale_after=2)
    assert [{k: a[k] for k in ("id", "action", "stage", "attempts")} for a in actions] == [
        {"id": run_id, "action": "requeued", "stage": "mesh", "attempts": 2}]
    assert "stopped sending heartbeats during mesh" in actions[0]["reason"]
    workers.start(sqlite_env)
    final = list(watch(run_id, timeout=240))[-1]
    assert final["status"] == "succeeded" and final["attempts"] == 2, final
    run = get_run(run_id)
    assert run.mesh_id and run.completed_stage == "mesh" and "mesh" in {a.kind for a in run_artifacts(run_id)}


@pytest.mark.slow
def test_cancel_stops_a_running_solve_and_keeps_its_logs(sqlite_env, workers, bedflow_cmd):
    run_id = submit(BedSpec.from_dict(SOLVABLE))
    workers.start(sqlite_env)
    wait_for(lambda: get_run(run_id).stage == "solve" and get_run(run_id).process_group, timeout=180,
             what="the solver to start")
    solver = get_run(run_id).process_group
    # the residuals so far reach the run's row while it solves: what a dashboard on another machine shows
    wait_for(lambda: (get_run(run_id).residuals or {}).get("p"), timeout=60, what="live residuals on the row")
    from pipeline.runs import run_residuals

    elsewhere = get_run(run_id)
    elsewhere.folder = "/nonexistent/run"  # as seen from a machine without the worker's folder (not saved)
    live = run_residuals(elsewhere, services=open_services(Settings.from_env(sqlite_env, dotenv=None)))
    assert {"p", "Ux", "Uz"} <= set(live) and all(r > 0 for _, r in live["p"])
    assert [i for i, _ in live["p"]] == sorted(i for i, _ in live["p"])
    cancelled = subprocess.run([*bedflow_cmd, "cancel", str(run_id), "--json"], env={**os.environ, **sqlite_env},
                               capture_output=True, text=True, timeout=60)
    assert cancelled.returncode == 0 and json.loads(cancelled.stdout)["status"] == "cancelled"
    assert json.loads(cancelled.stdout)["message"] == "cancelled by request"  # signalled from here: one of ours
    wait_for(lambda: not group_alive(solver), timeout=15, what="simpleFoam to stop")
    wait_for(lambda: get_run(run_id).finished_at is not None, timeout=15, what="the worker to let go")
    run = get_run(run_id)
    assert run.status is RunStatus.cancelled and run.completed_stage == "mesh"
    assert "log.simpleFoam" in {a.name for a in run_artifacts(run_id, "log")}
    after = submit(tiny(), until="pack")  # the worker survived the cancel and takes the next run
    assert list(watch(after, timeout=60))[-1]["status"] == "succeeded"


@pytest.mark.slow
def test_sigint_lets_the_running_stage_finish_then_the_worker_exits(sqlite_env, workers):
    run_id = submit(BedSpec.from_dict(SOLVABLE), until="mesh")
    worker = workers.start(sqlite_env)
    wait_for(lambda: get_run(run_id).stage == "mesh" and get_run(run_id).process_group, timeout=120,
             what="the mesh stage to start a program")
    waiting = submit(tiny(), until="pack")  # queued behind it: a stopping worker must leave it alone
    os.kill(worker.pid, signal.SIGINT)
    assert worker.wait(timeout=120) == 0
    assert get_run(run_id).status is RunStatus.succeeded  # the mesh finished before the worker left
    assert get_run(waiting).status is RunStatus.queued and "Shutting down gracefully" in workers.log()


# -- the queue's bookkeeping, without workers --------------------------------------------------------
def test_recover_requeues_lost_runs_then_gives_up(sqlite_env):
    settings = Settings.from_env(sqlite_env, dotenv=None)
    found = open_services(settings)
    run_id = submit(tiny(), until="pack")
    queue = queue_for(settings)
    queue.huey.flush()  # the queue message is lost (a flushed Redis, say)
    assert recover(stale_after=3600) == []  # too recent to judge
    actions = recover(stale_after=0)
    assert actions[0]["reason"] == "its queue message was lost" and len(queue.huey.pending()) == 1
    with found.db.session() as session:
        run = session.get(Simulation, run_id)
        run.status, run.attempts, run.worker, run.stage = RunStatus.running, 1, "gone:1", "pack"
        run.heartbeat_at = utcnow() - timedelta(seconds=30)
    with ThreadPoolExecutor(4) as pool:  # four workers sweep at the same moment: one of them acts
        actions = [a for batch in pool.map(lambda _: recover(stale_after=10), range(4)) for a in batch]
    assert [a["action"] for a in actions] == ["requeued"] and get_run(run_id).attempts == 2
    with found.db.session() as session:
        run = session.get(Simulation, run_id)
        run.status, run.attempts = RunStatus.running, 3
    assert recover(stale_after=0) == [{
        "id": run_id, "action": "failed",
        "reason": get_run(run_id).error}]
    assert get_run(run_id).status is RunStatus.failed and "gave up after 3 attempts" in get_run(run_id).error


def test_transient_store_errors_retry_with_backoff_then_fail(tmp_path, monkeypatch):
    server = LocalS3Server().start()
    env = {"BEDFLOW_DATA_DIR": str(tmp_path / "data"), "BEDFLOW_STORE": "s3://flaky", **server.settings}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env(env, dotenv=None)
    run_id = submit(tiny(), until="pack", settings=settings)
    server.stop()
    huey = queue_for(settings).huey
    task = huey.dequeue()  # the message submit queued, run as the consumer runs it
    for delay, left in ((5, 3), (10, 2), (20, 1)):  # Huey's own retries: the same task again, each later
        assert task.retries == left
        assert huey.execute(task, task.eta) is None  # run when due, as the consumer runs it from the schedule
        assert task.eta is not None
        state = status(run_id, settings=settings)
        assert state["status"] == "queued" and state["message"].startswith(f"retrying pack in {delay} s"), state
        assert task.id in {t.id for t in huey.scheduled()}  # scheduled by Huey, not queued anew by bedflow
        assert huey.pending_count() == 0
        assert get_run(run_id).task_id == task.id  # so the recovery sweep sees the run is waiting
    assert task.retries == 0 and huey.execute(task, task.eta) == "failed"
    assert "after 3 retries" in status(run_id, settings=settings)["error"]


def test_a_stale_message_gives_the_run_back_untouched(sqlite_env):
    """A message for a stage the run has already done (a duplicate after a recovery) runs nothing: the run is
    queued again as it was, for its own message."""
    run_id = submit(tiny(), until="mesh")
    queue = queue_for()
    (own,) = queue.huey.pending()
    before = get_run(run_id)
    assert stage_task(queue, run_id, "mesh") == "stale"
    after = get_run(run_id)
    assert (after.status, after.completed_stage, after.message) == (RunStatus.queued, "", before.message)
    assert [t.id for t in queue.huey.pending()] == [own.id]


def test_a_sweep_queues_one_run_per_value_after_checking_them_all(sqlite_env):
    spec = tiny()
    submitted = submit_sweep(spec, "cfd.particle_reynolds", [1, 10, 100], until="pack")
    found = open_services()
    with found.db.session() as session:
        sweep = session.get(Sweep, submitted.id)
        runs = list(session.scalars(select(Simulation).where(Simulation.sweep_id == submitted.id)
                                    .order_by(Simulation.id)))
        assert [r.id for r in runs] == list(submitted.run_ids)  # the run ids, in the order of the values
        assert sweep.parameter == "cfd.particle_reynolds" and sweep.values == [1, 10, 100]
        assert [r.re_p for r in runs] == pytest.approx([1, 10, 100])
        assert {r.status for r in runs} == {RunStatus.queued}
        assert [BedSpec.from_dict(r.spec).cfd.particle_reynolds for r in runs] == [1, 10, 100]  # each its own
        assert session.get(Bed, sweep.bed_id).spec == spec.to_dict()  # the bed keeps the spec the sweep varies
        before = session.scalar(select(func.count(Simulation.id)))
    with pytest.raises(BedValidationError):
        submit_sweep(spec, "cfd.particle_reynolds", [1, -5])
    with pytest.raises(RunError, match="did you mean 'cfd.mesh_cells_per_diameter'"):
        submit_sweep(spec, "cfd.mesh_cell", [1])
    with found.db.session() as session:
        assert session.scalar(select(func.count(Simulation.id))) == before
        assert session.scalar(select(func.count(Artifact.id))) == 3  # the three runs' .bed files only


def test_an_unreachable_queue_is_a_clear_error_and_the_run_says_so(tmp_path, monkeypatch):
    env = {"BEDFLOW_DATA_DIR": str(tmp_path / "data"), "BEDFLOW_QUEUE": "redis://127.0.0.1:1/0"}
    monkeypatch.setenv("BEDFLOW_QUEUE", env["BEDFLOW_QUEUE"])
    with pytest.raises(QueueError, match="cannot reach the job queue"):
        submit(tiny(), until="pack")
    run = open_services().db
    with run.session() as session:
        failed = session.scalars(select(Simulation)).one()
        assert failed.status is RunStatus.failed and "could not be queued" in failed.error
    with pytest.raises(RunError, match="no run 999"):
        status(999)


HUGE_IDS = (0, -1, 2**31, 2**63, 2**70)


def test_ids_no_row_can_have_are_no_run_in_the_library(database_url, monkeypatch):
    """The CLI refuses them as usage errors; the library (notebooks, the dashboard's URLs) says "no run", never
    an OverflowError from SQLite."""
    from pipeline import jobs, report
    from pipeline.runs import cancel, get_artifact

    monkeypatch.setenv("DATABASE_URL", database_url)
    for huge in HUGE_IDS:
        for call in (lambda: get_run(huge), lambda: run_artifacts(huge), lambda: jobs.status(huge),
                     lambda: jobs.cancel(huge), lambda: jobs.resubmit(huge), lambda: cancel(huge),
                     lambda: get_artifact(huge), lambda: report(huge), lambda: report(huge, sweep=True)):
            with pytest.raises(RunError, match=f"no (run|artifact|sweep) {huge}|run {huge} is not"):
                call()


def test_sweep_names_fit_and_are_checked(database_url, monkeypatch):
    from pipeline.jobs import sweep_name

    monkeypatch.setenv("DATABASE_URL", database_url)
    spec = BedSpec(name="é" * 200)  # the longest bed name: the default sweep name is cut to fit its column
    default = sweep_name(spec, "cfd.particle_reynolds")
    assert len(default) == 200 and default.endswith(": cfd.particle_reynolds")
    sweep = submit_sweep(spec, "cfd.particle_reynolds", [1, 2], until="pack")
    with open_services().db.session() as session:
        assert session.get(Sweep, sweep.id).name == default
    with pytest.raises(RunError, match="sweep name: must not contain \\\\x1b"):
        submit_sweep(spec, "cfd.particle_reynolds", [1], name="a\x1b[2Jb", until="pack")
    with pytest.raises(RunError, match="sweep name: must be at most 200 characters"):
        submit_sweep(spec, "cfd.particle_reynolds", [1], name="x" * 201, until="pack")
