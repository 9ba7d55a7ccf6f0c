"""Benchmark: the job queue's enqueue→start latency and throughput, SqliteHuey and RedisHuey.

Prints ratios measured in this run:
  * latency of a job submitted to an idle consumer (after a quiet spell long enough for the consumer's
    polling to back off): Huey's default polling (max_delay 10 s) against bedflow's (max_delay 1 s,
    `bedflow worker`), and Redis (blocking pop) against SQLite;
  * throughput: 400 trivial jobs drained by 2 process workers, Redis against SQLite;
  * bedflow's own path: 40 queued pack-only runs of a 10-sphere bed through `bedflow worker` against the
    same runs executed in-process (the queue's overhead per run).
Run: .venv/bin/python benchmarks/job_queue.py   (Redis at 127.0.0.1:6379 for the Redis rows)
"""

from __future__ import annotations

import sys

# This file is named like the standard library's `queue` (as the issue asks); keep its folder off the import path
# so that `import queue` in redis, multiprocessing and huey finds the real one.
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rsplit("/", 1)[0])]

import multiprocessing  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from huey import RedisHuey, SqliteHuey  # noqa: E402

REDIS = "redis://127.0.0.1:6379/14"
QUIET = 6.0  # seconds without jobs before each latency probe (the consumer backs off meanwhile)


def make(kind: str, folder: Path):
    if kind == "redis":
        huey = RedisHuey("bench", url=REDIS, results=True)
    else:
        huey = SqliteHuey("bench", filename=str(folder / f"bench-{kind}.db"), results=True)

    @huey.task()
    def stamp(sent: float) -> float:
        return time.time() - sent

    @huey.task()
    def nothing(k: int) -> int:
        return k

    huey.flush()
    return huey, stamp, nothing


def consume(huey, max_delay: float, workers: int) -> None:
    huey.create_consumer(workers=workers, worker_type="process", periodic=False, initial_delay=0.05, backoff=1.5,
                         max_delay=max_delay).run()


def start_consumer(huey, max_delay: float, workers: int = 1) -> multiprocessing.Process:
    process = multiprocessing.get_context("fork").Process(target=consume, args=(huey, max_delay, workers))
    process.start()
    return process


def stop(process: multiprocessing.Process) -> None:
    os.kill(process.pid, 2)
    process.join(10)


def latency(kind: str, folder: Path, max_delay: float, probes: int = 3) -> float:
    huey, stamp, _ = make(kind, folder)
    consumer = start_consumer(huey, max_delay)
    stamp(time.time()).get(blocking=True, timeout=30)  # warm up
    delays = []
    for _ in range(probes):
        time.sleep(QUIET)
        delays.append(stamp(time.time()).get(blocking=True, timeout=60))
    stop(consumer)
    return statistics.median(delays)


def throughput(kind: str, folder: Path, jobs: int = 400) -> float:
    huey, _, nothing = make(kind, folder)
    results = [nothing(k) for k in range(jobs)]
    started = time.perf_counter()
    consumer = start_consumer(huey, 0.1, workers=2)
    for result in results:
        result.get(blocking=True, timeout=120)
    elapsed = time.perf_counter() - started
    stop(consumer)
    return jobs / elapsed


def redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping())
    except redis.ConnectionError:
        return False


def bedflow_path(folder: Path, runs: int = 40) -> None:
    from pipeline import BedSpec
    from pipeline.jobs import status, submit
    from pipeline.runs import create_run, execute, open_services
    from pipeline.settings import Settings

    spec = BedSpec.from_dict({"name": "bench-queue", "particles": {"count": 10, "seed": 1}})
    env = {"BEDFLOW_DATA_DIR": str(folder / "data-inline")}
    services = open_services(Settings.from_env(env, dotenv=None))
    execute(create_run(spec, until="pack", services=services), services=services)  # packs once; later runs reuse
    started = time.perf_counter()
    for _ in range(runs):
        execute(create_run(spec, until="pack", services=services), services=services)
    inline = (time.perf_counter() - started) / runs

    env = {**os.environ, "BEDFLOW_DATA_DIR": str(folder / "data-queued")}
    os.environ["BEDFLOW_DATA_DIR"] = env["BEDFLOW_DATA_DIR"]
    settings = Settings.from_env()
    worker = subprocess.Popen([str(Path(sys.executable).with_name("bedflow")), "worker", "-w", "2"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        first = submit(spec, until="pack", settings=settings)
        while status(first, settings=settings)["status"] != "succeeded":
            time.sleep(0.1)
        started = time.perf_counter()
        ids = [submit(spec, until="pack", settings=settings) for _ in range(runs)]
        while any(status(i, settings=settings)["status"] != "succeeded" for i in ids):
            time.sleep(0.1)
        queued = (time.perf_counter() - started) / runs
    finally:
        os.killpg(worker.pid, 2)
        worker.wait(15)
    print(f"bedflow pack-only runs (10 spheres, packing reused): in-process {inline * 1e3:.0f} ms/run, "
          f"queued to 2 workers {queued * 1e3:.0f} ms/run: {inline / queued:.2f}x the in-process rate")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        kinds = ["sqlite"] + (["redis"] if redis_up() else [])
        if "redis" not in kinds:
            print("Redis at 127.0.0.1:6379 not reachable: Redis rows skipped")
        default = latency("sqlite", folder, 10.0)
        tuned = latency("sqlite", folder, 1.0)
        print(f"idle latency, SqliteHuey: Huey's default polling {default * 1e3:.0f} ms, bedflow's {tuned * 1e3:.0f} ms:"
              f" {default / tuned:.1f}x shorter")
        if "redis" in kinds:
            blocking = latency("redis", folder, 1.0)
            print(f"idle latency, RedisHuey (blocking pop): {blocking * 1e3:.1f} ms: {tuned / blocking:.0f}x shorter "
                  f"than SQLite")
        rates = {kind: throughput(kind, folder) for kind in kinds}
        for kind, rate in rates.items():
            print(f"throughput, 400 trivial jobs, 2 process workers, {kind}: {rate:.0f} jobs/s"
                  + (f" ({rate / rates['sqlite']:.1f}x SQLite)" if kind != "sqlite" else ""))
        bedflow_path(folder)


if __name__ == "__main__":
    main()
