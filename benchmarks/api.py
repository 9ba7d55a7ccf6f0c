"""Benchmark: the JSON API (/api/v1) of a real `bedflow serve` against the same work done in-process.

Prints ratios against baselines measured in the same run (absolute times on shared machines are noise):
  GET /api/v1/runs/{id}            vs  pipeline.runs.get_run + run_document, in this process
  GET /api/v1/runs?limit=1000      vs  pipeline.runs.list_runs(limit=1000) + run_document
  a 64 MB file through the API     vs  copying the stored file on the same disk (throughput)
The server runs on loopback with its own data folder (1 000 recorded runs, embedded SQLite, a local store); the
client keeps one HTTP connection open, as a notebook's session does.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

RUNS = 1000
FILE_MB = 64


def best(fn, repeats: int) -> float:
    """Median seconds of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def record_runs(count: int, big_file: Path) -> int:
    """``count`` runs (one recorded properly, the rest copies of its row) and a big artifact on the first."""
    from pipeline import BedSpec
    from pipeline.db import Simulation
    from pipeline.db.records import add_artifacts, upload
    from pipeline.runs import create_run, open_services

    services = open_services()
    first = create_run(BedSpec(), services=services)
    with services.db.session() as session:
        row = session.get(Simulation, first)
        columns = {c.key: getattr(row, c.key) for c in Simulation.__table__.columns if c.key != "id"}
        session.add_all(Simulation(**columns) for _ in range(count - 1))
        add_artifacts(session, "simulation", first, [upload(services.store, "vtk", big_file, "fields.vtk")])
    return first


def serve(port: int, env: dict[str, str]) -> subprocess.Popen:
    script = Path(sys.executable).with_name("bedflow")
    process = subprocess.Popen([str(script), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("bedflow serve did not answer within 120 s")


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bedflow-bench-api-"))
    os.environ["BEDFLOW_DATA_DIR"] = str(folder / "data")
    for name in ("DATABASE_URL", "BEDFLOW_STORE", "BEDFLOW_QUEUE", "BEDFLOW_URL", "BEDFLOW_TOKEN"):
        os.environ.pop(name, None)
    from pipeline.db.queries import run_document
    from pipeline.runs import get_run, list_runs, open_services, run_artifacts
    from pipeline.testing import free_port
    from pipeline.tokens import create_token

    big = folder / "fields.vtk"
    big.write_bytes(os.urandom(FILE_MB << 20))
    first = record_runs(RUNS, big)
    _, token = create_token("bench")
    port = free_port()
    server = serve(port, dict(os.environ))
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"Bearer {token}"}

        def get(path: str) -> bytes:
            connection.request("GET", f"/api/v1{path}", headers=headers)
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200, (response.status, body[:200])
            return body

        assert json.loads(get(f"/runs/{first}"))["id"] == first
        assert len(json.loads(get(f"/runs?limit={RUNS}"))["runs"]) == RUNS
        api_one = best(lambda: get(f"/runs/{first}"), 50)
        local_one = best(lambda: run_document(get_run(first)), 50)
        api_list = best(lambda: get(f"/runs?limit={RUNS}"), 7)
        local_list = best(lambda: [run_document(r, full=False) for r in list_runs(limit=RUNS)], 7)

        stored = open_services().store.root / run_artifacts(first, "vtk")[0].key  # the local store's file
        copy_target = folder / "copy.vtk"
        local_copy = best(lambda: shutil.copyfile(stored, copy_target), 3)
        api_copy = best(lambda: get(f"/runs/{first}/artifacts/fields.vtk"), 3)
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(folder, ignore_errors=True)

    print(f"{'what':<44} {'API':>10} {'in-process':>11} {'ratio':>7}")
    print(f"{'GET /runs/{id}':<44} {api_one * 1e3:>8.2f}ms {local_one * 1e3:>9.2f}ms {api_one / local_one:>7.2f}")
    print(f"{f'GET /runs?limit={RUNS}':<44} {api_list * 1e3:>8.1f}ms {local_list * 1e3:>9.1f}ms "
          f"{api_list / local_list:>7.2f}")
    print(f"{f'{FILE_MB} MB file: throughput (MB/s), copy / API':<44} {FILE_MB / api_copy:>8.0f}   "
          f"{FILE_MB / local_copy:>9.0f}   {local_copy / api_copy:>7.2f}")


if __name__ == "__main__":
    main()
