"""``bedflow doctor`` and :func:`pipeline.doctor.diagnose` on this machine's real OpenFOAM, bpy, GL libraries,
Chromium, PostgreSQL, Redis and an S3 server; broken set-ups are made with the environment (PATH, settings)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.doctor import OPENFOAM_PROGRAMS, REGISTRY, Context, DoctorError, Outcome, diagnose, fail
from pipeline.openfoam.environment import REQUIRED_PROGRAMS

SERVICES = ["database", "store", "queue"]


def doctor(cmd: list[str], *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``bedflow doctor ARGS`` as a user runs it, in this test's environment plus ``env``; wide lines."""
    return subprocess.run([*cmd, "doctor", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "250", **(env or {})})


def by_name(checks) -> dict:  # noqa: ANN001 - Check objects or their JSON dicts
    return {(c["name"] if isinstance(c, dict) else c.name): c for c in checks}


def test_this_machine_with_the_embedded_defaults_is_ready(bedflow_cmd, tmp_path):
    checks = diagnose()
    assert [c.name for c in checks] == list(REGISTRY)
    found = by_name(checks)
    assert all(c.status in ("ok", "warn") for c in checks), checks
    assert all(c.fix == "" for c in checks if c.status == "ok") and all(c.fix for c in checks if c.status == "warn")
    assert found["python"].status == "ok" and found["python"].detail.startswith("3.11.")
    assert found["openfoam"].status == "ok" and found["openfoam"].detail.startswith("v1912 (build 1912)"), found
    assert all(program in found["openfoam"].detail for program in OPENFOAM_PROGRAMS)
    assert found["bpy"].status == "ok" and "bpy 4.5." in found["bpy"].detail, found["bpy"]
    assert found["rendering"].status == "ok" and "renders offscreen" in found["rendering"].detail
    assert found["mpi"].status == "ok" and "Open MPI" in found["mpi"].detail
    assert found["chromium"].status == "ok" and "Chromium" in found["chromium"].detail
    data = tmp_path / "data"
    assert found["data_dir"].status == "ok" and found["data_dir"].detail.startswith(str(data)), found["data_dir"]
    assert "GB free" in found["data_dir"].detail
    assert [found[n].detail.split(" ", 1)[0] for n in SERVICES] == [f"sqlite:///{data}/bedflow.db:", "local",
                                                                    f"sqlite:///{data}/queue.db:"]
    # A fresh database has no schema yet: a warning naming the command, which brings it to the newest revision.
    assert found["database"].status == "warn" and "no schema yet" in found["database"].detail
    assert found["database"].fix == "bedflow db upgrade"
    assert found["store"].status == "ok" and found["queue"].status == "ok"
    assert found["workers"].status == "warn" and "not checked" in found["workers"].detail  # no schema yet

    upgraded = subprocess.run([*bedflow_cmd, "db", "upgrade"], capture_output=True, text=True, timeout=120)
    assert upgraded.returncode == 0, upgraded.stderr
    idle = by_name(diagnose(only=["workers"]))["workers"]
    assert idle.status == "warn" and "no worker alive; 0 run(s) queued" in idle.detail and "bedflow worker" in idle.fix

    from pipeline.jobs.heartbeats import WorkerHeartbeat
    from pipeline.runs import open_services

    with WorkerHeartbeat(open_services(), "node-7:42", processes=3):
        # This test is about what the machine has, not how fast it is today: a loaded machine may take more
        # than the default 30 s to start Chromium or bpy.
        result = doctor(bedflow_cmd, "--json", "--timeout", "120")
        table = doctor(bedflow_cmd, "--timeout", "120")
    failed = [c for c in json.loads(result.stdout or "[]") if c["status"] != "ok"]
    assert result.returncode == 0, (failed, result.stderr)
    report = by_name(json.loads(result.stdout))
    assert list(report) == list(REGISTRY)
    assert all(set(c) == {"name", "status", "detail", "fix", "seconds"} for c in report.values())
    assert all(c["status"] == "ok" for c in report.values()), report  # the schema is at the newest revision now
    assert "schema at the newest revision" in report["database"]["detail"]
    assert report["workers"]["detail"].startswith("1 alive (node-7:42), 3 process(es)")

    assert table.returncode == 0, table.stdout + table.stderr
    assert all(name in table.stdout for name in REGISTRY)
    assert f"bedflow is ready: {len(REGISTRY)} ok, 0 warnings, 0 failed" in table.stdout


def test_the_shared_services_postgresql_redis_and_s3(postgres_url, redis_url, s3_server, monkeypatch):
    for name, value in {**s3_server, "DATABASE_URL": postgres_url, "BEDFLOW_QUEUE": redis_url,
                        "BEDFLOW_STORE": "s3://bedflow-doctor"}.items():
        monkeypatch.setenv(name, value)
    first = by_name(diagnose(only=SERVICES))
    assert first["database"].status == "warn" and first["database"].fix == "bedflow db upgrade", first

    from pipeline.db import open_database

    open_database().upgrade()
    checks = diagnose(only=SERVICES)
    assert [c.name for c in checks] == SERVICES
    assert all(c.status == "ok" and c.fix == "" for c in checks), checks
    database, store, queue = checks
    assert database.detail.startswith(f"{postgres_url}: ") and "schema at the newest revision" in database.detail
    assert store.detail.startswith(f"s3://bedflow-doctor at {s3_server['MINIO_ENDPOINT']}: ")
    assert queue.detail.startswith(f"{redis_url}: ")
    assert s3_server["MINIO_SECRET_KEY"] not in repr(checks)


@pytest.mark.parametrize("password", ["pw-hunter2-s3cret", "pw42"])
def test_an_unreachable_database_fails_without_showing_its_password(bedflow_cmd, password):
    env = {"DATABASE_URL": f"postgresql://postgres:{password}@127.0.0.1:1/bedflow"}
    args = ["--only", "settings", "--only", "database", "--only", "store", "--only", "queue"]
    result = doctor(bedflow_cmd, *args, "--json", env=env)
    assert result.returncode == 1, result.stderr
    found = by_name(json.loads(result.stdout))
    assert found["database"]["status"] == "fail", found
    assert "127.0.0.1" in found["database"]["detail"] and "port 1" in found["database"]["detail"]
    assert "DATABASE_URL" in found["database"]["fix"]
    assert found["settings"]["status"] == "ok" and found["store"]["status"] == "ok" and found["queue"]["status"] == "ok"
    table = doctor(bedflow_cmd, *args, env=env)
    assert table.returncode == 1 and "bedflow is not ready: 3 ok, 0 warnings, 1 failed" in table.stdout, table.stdout
    for output in (result, table):
        assert password not in output.stdout + output.stderr
        assert "postgres:***@127.0.0.1:1" in output.stdout


def _path_without_openfoam(folder: Path) -> str:
    """A PATH of this venv's bin and a folder of links to /usr/bin's programs, less Debian's OpenFOAM ones."""
    hidden = set(OPENFOAM_PROGRAMS) | set(REQUIRED_PROGRAMS)
    if shutil.which("dpkg-query"):
        listed = subprocess.run(["dpkg-query", "-L", "openfoam"], capture_output=True, text=True).stdout.split()
        hidden |= {Path(p).name for p in listed if p.startswith("/usr/bin/")}
    folder.mkdir()
    for program in Path("/usr/bin").iterdir():
        if program.name not in hidden:
            (folder / program.name).symlink_to(program)
    path = os.pathsep.join([str(Path(sys.executable).parent), str(folder)])
    assert shutil.which("blockMesh", path=path) is None and shutil.which("bash", path=path) is not None
    return path


def test_no_openfoam_on_the_path_fails_with_the_install_command(bedflow_cmd, tmp_path):
    assert shutil.which("blockMesh"), "this machine has OpenFOAM (else the other tests fail)"
    result = doctor(bedflow_cmd, "--only", "openfoam", "--only", "python", "--json",
                    env={"PATH": _path_without_openfoam(tmp_path / "bin")})
    assert result.returncode == 1, result.stderr
    found = by_name(json.loads(result.stdout))
    assert found["python"]["status"] == "ok"
    openfoam = found["openfoam"]
    assert openfoam["status"] == "fail" and "blockMesh" in openfoam["detail"], openfoam
    assert "apt-get install openfoam" in openfoam["fix"] and "make setup" in openfoam["fix"]


@pytest.mark.parametrize("env, variables", [
    ({"BEDFLOW_STORE": "ftp://example.org/runs"}, ["BEDFLOW_STORE"]),
    ({"BEDFLOW_STORE": "s3://runs"}, ["MINIO_ENDPOINT", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"]),
    ({"BEDFLOW_QUEUE": "amqp://rabbit"}, ["BEDFLOW_QUEUE"]),
])
def test_invalid_settings_fail_naming_the_variable(monkeypatch, tmp_path, env, variables):
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in ("MINIO_ENDPOINT", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    checks = by_name(diagnose(only=["python", "settings", "store", "data_dir"]))
    settings = checks["settings"]
    assert settings.status == "fail" and settings.detail.startswith("invalid settings: "), settings
    assert all(name in settings.detail for name in variables)
    assert settings.fix == f"set {', '.join(variables)} correctly (in the environment or .env)"
    # What needs the settings is not checked, and says so; the rest is.
    assert checks["store"].status == checks["data_dir"].status == "fail"
    assert "settings" in checks["store"].detail and "settings check" in checks["store"].fix
    assert checks["python"].status == "ok"


def test_a_data_dir_that_is_a_file_fails(monkeypatch, tmp_path):
    (tmp_path / "taken").write_text("not a folder")
    monkeypatch.setenv("BEDFLOW_DATA_DIR", str(tmp_path / "taken"))
    (check,) = diagnose(only=["data_dir"])
    assert check.status == "fail" and "is not a folder" in check.detail and "BEDFLOW_DATA_DIR" in check.fix


def test_only_runs_the_checks_named(bedflow_cmd):
    result = doctor(bedflow_cmd, "--only", "queue", "--only", "openfoam", "--json")
    assert result.returncode == 0, result.stderr
    assert [c["name"] for c in json.loads(result.stdout)] == ["openfoam", "queue"]  # in report order
    unknown = doctor(bedflow_cmd, "--only", "openfom")
    assert unknown.returncode == 2 and "unknown check 'openfom'" in unknown.stderr and "openfoam" in unknown.stderr
    with pytest.raises(DoctorError):
        diagnose(only=["nothing"])


def test_a_check_that_raises_or_hangs_becomes_a_failure(monkeypatch):
    """The runner's guarantees, with checks registered as a later one (e.g. workers) would be."""

    def explodes(context: Context) -> Outcome:
        raise RuntimeError("boom")

    def hangs(context: Context) -> Outcome:
        time.sleep(30)
        return fail("unreachable", "")

    monkeypatch.setitem(REGISTRY, "explodes", explodes)
    monkeypatch.setitem(REGISTRY, "hangs", hangs)
    started = time.perf_counter()
    checks = by_name(diagnose(only=["python", "explodes", "hangs"], timeout=0.5))
    assert time.perf_counter() - started < 20  # the hanging check (30 s) was abandoned after its 0.5 s timeout
    assert checks["python"].status == "ok"
    assert checks["explodes"].status == "fail" and "RuntimeError: boom" in checks["explodes"].detail
    assert "bedflow doctor --only explodes" in checks["explodes"].fix
    assert checks["hangs"].status == "fail" and checks["hangs"].detail == "no answer within 0.5 s"
    assert "--timeout" in checks["hangs"].fix


def test_every_module_a_check_imports_is_imported_before_the_checks_threads_start(tmp_path):
    """Checks run in threads; two threads importing one package at once (the queue check ``pipeline.jobs``, the
    workers check ``pipeline.jobs.heartbeats``) made Python report an import deadlock, and ``bedflow doctor``
    failed the queue check with "deadlock detected by _ModuleLock('pipeline.jobs.heartbeats')" about one time in
    ten on a loaded machine. Deterministic: in a fresh interpreter, every check thread must start with the
    modules already imported."""
    probe = """
import sys, threading
from pipeline.health import CHECK_MODULES
from pipeline.doctor import DOCTOR_MODULES, diagnose
missing = []
start = threading.Thread.start
def watched(self):
    if self.name.startswith(("bedflow-doctor-", "bedflow-health-")):
        missing.extend(m for m in CHECK_MODULES + DOCTOR_MODULES if m not in sys.modules)
    return start(self)
threading.Thread.start = watched
diagnose(only=["database", "store", "queue", "workers", "python"])
print(sorted(set(missing)))
"""
    env = {**os.environ, "BEDFLOW_DATA_DIR": str(tmp_path / "data")}
    for name in ("DATABASE_URL", "BEDFLOW_STORE", "BEDFLOW_QUEUE"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
