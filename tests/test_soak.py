"""Soak: pack-only runs on two real `bedflow worker` processes (Redis + PostgreSQL + moto's S3 server, the test's
own database, queue and bucket) while, every few seconds, a random worker is SIGKILLed — either whole (its
process group: consumer and worker process, as when a machine or container dies) or only its worker process (as
the OOM killer does; the consumer starts another) — and restarted. Recovery is the workers' own sweep, with
``BEDFLOW_STALE_AFTER=10``.

Small by default (CI, about a minute); ``BEDFLOW_SOAK_RUNS=200`` for the full size, ``BEDFLOW_SOAK_SEED`` to
repeat a kill schedule (the seed is printed). Afterwards every run succeeded once, nothing is left running or
queued, every run lost with a worker was re-queued promptly, every artifact row's object exists and verifies,
and the objects no row accounts for (uploads of attempts that died before recording them) are few and are
removed by ``collect_orphans`` (``bedflow store gc``).
"""

from __future__ import annotations

import os
import random
import re
import signal
import time
import uuid
from collections import Counter

import pytest
from conftest import _descendants
from sqlalchemy import select
from store_audit import audit

from pipeline import BedSpec
from pipeline.db import Packing, RunStatus, Simulation
from pipeline.db.records import collect_orphans
from pipeline.jobs import queue_for, submit
from pipeline.jobs.sweeper import sweep_interval
from pipeline.packing.model import packing_digest
from pipeline.runs import open_services

RUNS = int(os.environ.get("BEDFLOW_SOAK_RUNS", "20"))
SEED = int(os.environ.get("BEDFLOW_SOAK_SEED", str(random.SystemRandom().randrange(1 << 30))))
STALE_AFTER = 10.0
#: A run whose worker died must be back on the queue within this many seconds (stale, then the next sweep; the
#: rest is room for a loaded machine).
REQUEUE_WITHIN = 2 * STALE_AFTER + 30.0
NAMES = ("soak-a", "soak-b")


def spec(index: int) -> BedSpec:
    """Run ``index``'s bed: every packing is asked for twice (so runs also reuse, and race for, a packing)."""
    seed = index % max(1, RUNS // 2)
    return BedSpec.from_dict({"name": f"soak-{seed}", "particles": {"count": 10, "seed": seed}})


@pytest.mark.soak
def test_runs_survive_workers_killed_at_random(postgres_url, redis_url, s3_server, workers, tmp_path, monkeypatch):
    print(f"\nsoak: {RUNS} runs, seed {SEED} (BEDFLOW_SOAK_SEED={SEED} repeats the kill schedule)")
    rng = random.Random(SEED)
    shared = {**s3_server, "DATABASE_URL": postgres_url, "BEDFLOW_QUEUE": redis_url,
              "BEDFLOW_STORE": f"s3://bedflow-soak-{uuid.uuid4().hex[:8]}", "BEDFLOW_STALE_AFTER": f"{STALE_AFTER:g}",
              "BEDFLOW_MAX_ATTEMPTS": "100",  # a run may be unlucky several times: the soak is about losing nothing
              "BEDFLOW_MAX_RUNS_PER_USER": str(RUNS)}  # all of them queued at once, by one (anonymous) user
    for name, value in {**shared, "BEDFLOW_DATA_DIR": str(tmp_path / "submitter")}.items():
        monkeypatch.setenv(name, value)
    found = open_services()
    run_ids = [submit(spec(i), until="pack") for i in range(RUNS)]

    def start(name: str):
        return workers.start({**shared, "BEDFLOW_DATA_DIR": str(tmp_path / name)}, args=("--name", name))

    def running() -> dict[int, tuple[str, int]]:
        with found.db.session() as session:
            return {r.id: (r.worker, r.attempts) for r in session.scalars(select(Simulation).where(
                Simulation.status == RunStatus.running))}

    def unfinished() -> int:
        with found.db.session() as session:
            return len(session.scalars(select(Simulation.id).where(
                Simulation.status.in_([RunStatus.queued, RunStatus.running]))).all())

    procs = {name: start(name) for name in NAMES}
    started = time.monotonic()
    deadline = started + 300 + RUNS * 6
    kills: Counter[str] = Counter()
    lost: dict[int, tuple[float, tuple[str, int]]] = {}  # run -> (when its worker died, its worker and attempt)
    latencies: list[float] = []
    while unfinished() and time.monotonic() < deadline:
        pause_until = time.monotonic() + rng.uniform(2.0, 6.0)
        while time.monotonic() < pause_until:  # meanwhile: when does each lost run leave its dead worker?
            now_running = running()
            for run_id, (died, held) in list(lost.items()):
                if now_running.get(run_id) != held:
                    latencies.append(round(time.monotonic() - died, 1))
                    del lost[run_id]
            time.sleep(0.25)
        name = rng.choice(NAMES)
        whole = rng.random() < 0.5
        victims = ([procs[name].pid] if whole else _descendants(procs[name].pid)[:1])
        held = {run_id: owner for run_id, owner in running().items() if owner[0].startswith(f"{name}/")}
        if not victims:
            continue  # its worker process is being restarted
        if whole:
            workers.kill(procs[name])
            procs[name].wait(timeout=30)
        else:
            os.kill(victims[0], signal.SIGKILL)
        died = time.monotonic()
        kills["worker" if whole else "worker process"] += 1
        for run_id, owner in held.items():  # (a run still held by a worker killed before is lost already)
            if (whole or owner[0].endswith(f"/{victims[0]}")) and run_id not in lost:
                lost[run_id] = (died, owner)
        if whole:
            procs[name] = start(name)
    wall = time.monotonic() - started
    workers.stop()

    with found.db.session() as session:
        runs = list(session.scalars(select(Simulation).where(Simulation.id.in_(run_ids))))
        packings = list(session.scalars(select(Packing)))
        leftover = session.scalars(select(Simulation.id).where(
            Simulation.status.in_([RunStatus.queued, RunStatus.running]))).all()
        for row in (*runs, *packings):
            session.expunge(row)
    queue = queue_for()
    logs = "".join(workers.log(i) for i in range(len(workers.procs)))
    done = Counter(re.findall(r"run (\d+): pack done", logs))
    requeued = Counter(re.findall(r"run (\d+) requeued at \w+: worker", logs))
    resent = len(re.findall(r"requeued at \w+: its queue message was lost", logs))
    skipped = logs.count("is not queued (cancelled, finished or taken): skipping")
    checked = audit(found)
    statuses = Counter(r.status.value for r in runs)
    print(f"soak: {RUNS} runs in {wall:.0f} s ({RUNS / wall * 60:.1f} runs/min); kills {dict(kills)}; "
          f"re-queues {sum(requeued.values())} (runs lost with their worker: {len(latencies) + len(lost)}, back on "
          f"the queue after {max(latencies, default=0):.1f} s at most, stale_after {STALE_AFTER:g} s, sweep every "
          f"{sweep_interval(STALE_AFTER):g} s); lost messages re-sent {resent}, duplicates skipped {skipped}; statuses {dict(statuses)}; attempts "
          f"{dict(sorted(Counter(r.attempts for r in runs).items()))}; {len(packings)} packings; {checked.rows} "
          f"artifact rows, {checked.objects} objects, {len(checked.orphans)} orphans")

    assert statuses == {"succeeded": RUNS}, [(r.id, r.status.value, r.error) for r in runs if r.status.value != "succeeded"]
    assert not leftover and not queue.huey.pending() and not queue.huey.scheduled()
    assert all(r.completed_stage == "pack" and r.packing_id and r.finished_at for r in runs)
    assert set(done) == {str(i) for i in run_ids} and set(done.values()) == {1}  # each packed to the end once
    assert "taken over" not in logs  # nobody wrote to a run that was not its own
    assert {r.id: r.attempts - 1 for r in runs if r.attempts > 1} == {int(i): n for i, n in requeued.items()}
    assert not lost, f"runs never re-queued after their worker died: {lost}"
    assert max(latencies, default=0) <= REQUEUE_WITHIN, sorted(latencies)
    assert sorted(p.digest for p in packings) == sorted({packing_digest(spec(i)) for i in range(RUNS)})  # one each
    assert checked.problems() == {"missing": [], "wrong": []}
    # Orphans: objects uploaded by an attempt that died before recording them (or by the loser of two workers
    # packing the same digest at once) and not made byte for byte again (packing.npz keeps its timings).
    # At most one packing.npz per lost attempt or per packing asked for twice; the clean-up collects them.
    assert len(checked.orphans) <= sum(requeued.values()) + RUNS - len(packings), checked.orphans
    print(f"soak: orphans {checked.orphans}")
    assert [o.key for o in collect_orphans(found.db, found.store, older_than=0)] == checked.orphans
    assert audit(found).orphans == [] and audit(found).problems() == {"missing": [], "wrong": []}
