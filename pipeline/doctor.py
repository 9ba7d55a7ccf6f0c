"""Is this installation complete? ``bedflow doctor``: each thing bedflow needs, what was found, how to fix it.

:func:`diagnose` runs the checks of :data:`REGISTRY`, in this order:

============ ======================================================================= ==========================
check        what it looks at                                                        when missing
============ ======================================================================= ==========================
python       the interpreter is 3.11 (``requires-python``; the bpy 4.5 wheels are    fail
             cp311)
settings     :meth:`Settings.from_env` accepts the environment (and ``.env``); the     fail
             workload limits in effect (:mod:`pipeline.limits`)
data_dir     ``BEDFLOW_DATA_DIR`` exists (or can be created), is writable, has disk  fail; warn below 2 GB free
             space
openfoam     Debian's OpenFOAM environment, every program the pipeline runs found    fail; warn on a version
             and started (``-help-full``), its version                               other than v1912
mpi          ``mpirun`` and its version (only ``cfd.processes > 1`` needs it)       warn
bpy          ``import bpy`` in a child process, its version (the rigid-body engine   warn (the default engine
             and ``.blend`` exports)                                                 is the native one)
rendering    the :mod:`viz.headless` probe: VTK renders offscreen with EGL, else     fail
             OSMesa, in a child process (a missing GL library segfaults VTK)
chromium     a Chromium for PDF reports and the dashboard's browser tests, its       warn
             version
database     :func:`pipeline.health.check_health`'s round trip, and whether the      fail; warn when the schema
             schema is at the newest migration (read only)                           is behind
store        the same report's write/stat/read/delete of a probe object              fail
queue        the same report's queue round trip                                      fail
workers      ``bedflow worker`` processes sending heartbeats to this database        warn (queued runs wait)
             (:mod:`pipeline.jobs.heartbeats`), and the runs waiting for them
slurm        with ``BEDFLOW_EXECUTOR=slurm``: the client commands, ``BEDFLOW_SLURM_*``, fail (ok when the executor
             the partition is up, a trivial job runs (:mod:`pipeline.slurm`)         is local)
============ ======================================================================= ==========================

The checks run in parallel, each in a daemon thread, and each is given ``timeout`` seconds (programs it
starts get that time limit too); ``database``, ``store`` and ``queue`` share one
:func:`~pipeline.health.check_health` call. Nothing raises: an unexpected error in a check becomes that
check's ``fail`` with the message. Passwords and keys of the settings never appear in a :class:`Check`.

Adding a check is a function of a :class:`Context` returning an :class:`Outcome`, registered by name::

    @register("workers")
    def _workers(context: Context) -> Outcome:
        alive = ...  # e.g. from context.settings
        return ok(f"{alive} alive") if alive else warn("no worker alive", "start one: bedflow worker")
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple
from urllib.parse import urlsplit

from .errors import BedflowError
from .health import CHECK_MODULES, import_before_threads
from .limits import VARIABLES as LIMIT_VARIABLES
from .limits import available_cpus

if TYPE_CHECKING:
    from .settings import Settings

Status = Literal["ok", "warn", "fail"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "fail")

#: Seconds each check may take (programs a check starts get the same limit).
DEFAULT_TIMEOUT = 30.0
#: Below this much free space in the data folder's disk the data_dir check warns (meshes and cases are large).
MIN_FREE_BYTES = 2 * 1024**3
#: The Python bedflow runs on (``requires-python``; bpy 4.5's wheels are cp311).
PYTHON = (3, 11)
#: The OpenFOAM version bedflow is validated on (Debian 12's ``openfoam``).
OPENFOAM_VERSION = "v1912"
#: Every OpenFOAM program the pipeline runs (pipeline.cfd, pipeline.workflow).
OPENFOAM_PROGRAMS = ("blockMesh", "snappyHexMesh", "checkMesh", "simpleFoam", "postProcess", "foamToVTK",
                     "decomposePar", "reconstructPar")
#: The Blender (bpy) series bedflow is pinned to.
BPY_SERIES = "4.5"
#: Debian libraries bpy loads (scripts/setup.sh installs them).
BPY_DEBIAN_PACKAGES = "libxrender1 libxi6 libxkbcommon0 libsm6 libxfixes3 libxxf86vm1 libxext6 libx11-6"

#: Shorter passwords and keys are hidden only where they stand in a URL (see :meth:`Context.secrets`).
SECRET_MIN_LENGTH = 8

SETUP = "`make setup`"
INSTALL_OPENFOAM = f"sudo apt-get install openfoam (or {SETUP}, which installs every Debian package bedflow needs)"
#: Variables of the settings, as they may be named in a SettingsError.
SETTING_VARIABLES = ("BEDFLOW_DATA_DIR", "DATABASE_URL", "BEDFLOW_STORE", "BEDFLOW_QUEUE", "MINIO_ENDPOINT",
                     "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "MINIO_SECURE", "MINIO_REGION",
                     *LIMIT_VARIABLES.values())


class DoctorError(BedflowError):
    """``diagnose`` was asked for a check that does not exist."""


@dataclass(frozen=True)
class Check:
    """The verdict on one thing bedflow needs."""

    #: The check's name (a key of :data:`REGISTRY`).
    name: str
    #: ``"ok"``, ``"warn"`` (works, with a limitation) or ``"fail"`` (bedflow cannot do what needs it).
    status: Status
    #: What was found: a version, a path, a latency, or the error.
    detail: str
    #: What to do about it: a command to run or a variable to set; empty when ``status`` is ``"ok"``.
    fix: str = ""
    #: How long the check took.
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Outcome(NamedTuple):
    """What a check function returns; :func:`diagnose` adds the name and the time."""

    status: Status
    detail: str
    fix: str = ""


def ok(detail: str) -> Outcome:
    return Outcome("ok", detail)


def warn(detail: str, fix: str) -> Outcome:
    return Outcome("warn", detail, fix)


def fail(detail: str, fix: str) -> Outcome:
    return Outcome("fail", detail, fix)


class NotChecked(Exception):
    """Raised inside a check that cannot run because something it depends on failed (e.g. the settings)."""

    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.fix = fix


def _one_line(text: str, limit: int = 400) -> str:
    """``text`` on one line, at most ``limit`` characters (its end, where error messages say the most)."""
    joined = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return joined if len(joined) <= limit else "..." + joined[-(limit - 3):]


class Context:
    """What the checks of one :func:`diagnose` share: the settings, the time limit, one health report."""

    def __init__(self, settings: Settings | None, timeout: float) -> None:
        self.timeout = timeout
        self.settings_error: Exception | None = None
        self.settings_given = settings is not None
        self._settings = settings
        if settings is None:
            try:
                from .settings import Settings

                self._settings = Settings.from_env()
            except Exception as error:  # noqa: BLE001 - reported by the settings check
                self.settings_error = error
        self._health: dict[str, Any] | None = None
        self._health_lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        """The settings; :class:`NotChecked` when they are invalid."""
        if self._settings is None:
            raise NotChecked("not checked: the settings are invalid",
                             "correct the settings first (see the settings check)")
        return self._settings

    def health(self) -> dict[str, Any]:
        """The :func:`pipeline.health.check_health` report of these settings (computed once, on first need)."""
        with self._health_lock:
            if self._health is None:
                from .health import check_health

                self._health = check_health(settings=self.settings, timeout=self.timeout)
            return self._health

    def secrets(self) -> dict[str, str]:
        """Passwords and keys of the settings, each with what replaces it in every report.

        The layers below already redact URLs; this is the safety net. A URL's password is replaced where it
        stands in a URL (``:password@``), and anywhere when it is long enough not to be part of ordinary
        words (a password ``postgres`` must not turn ``postgresql`` into ``***ql``); so is the S3 secret key.
        """
        if self._settings is None:
            return {}
        found: dict[str, str] = {}
        for url in (self._settings.database_url, self._settings.queue_url):
            password = urlsplit(url).password
            if password:
                found[f":{password}@"] = ":***@"
                if len(password) >= SECRET_MIN_LENGTH:
                    found[password] = "***"
        key = self._settings.minio_secret_key
        if key and len(key) >= SECRET_MIN_LENGTH:
            found[key] = "***"
        return found

    def run(self, command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        """Run ``command`` (an argument list, never a shell string) within the time limit, output captured."""
        return subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=self.timeout,
                              stdin=subprocess.DEVNULL, **options)


CheckFunction = Callable[[Context], Outcome]
#: What the checks import besides the health checks' :data:`~pipeline.health.CHECK_MODULES` (imported before the
#: checks' threads start).
DOCTOR_MODULES = ("pipeline.settings", "pipeline.health", "pipeline.openfoam.environment", "pipeline.provenance",
                  "pipeline.jobs.heartbeats", "pipeline.reporting", "pipeline.slurm", "viz.headless")
#: The checks by name, in report order.
REGISTRY: dict[str, CheckFunction] = {}


def register(name: str) -> Callable[[CheckFunction], CheckFunction]:
    """Decorator: add a check to :data:`REGISTRY` under ``name`` (after those already there)."""

    def add(function: CheckFunction) -> CheckFunction:
        REGISTRY[name] = function
        return function

    return add


# -- the machine ---------------------------------------------------------------------------------------------------
@register("python")
def _python(context: Context) -> Outcome:
    version = ".".join(map(str, sys.version_info[:3]))
    detail = f"{version} ({sys.executable})"
    if sys.version_info[:2] == PYTHON:
        return ok(detail)
    wanted = ".".join(map(str, PYTHON))
    return fail(f"{detail}: bedflow needs Python {wanted} (bpy {BPY_SERIES} wheels are cp311)",
                f"{SETUP} creates .venv with python{wanted} (sudo apt-get install python{wanted} python{wanted}-venv); "
                "run bedflow from .venv/bin")


@register("settings")
def _settings(context: Context) -> Outcome:
    if context.settings_error is not None:  # a SettingsError: "invalid settings:" and one problem a line
        head, *problems = [line.strip() for line in str(context.settings_error).splitlines() if line.strip()] or [""]
        # Each problem starts with the variable to set; else name those it mentions.
        named = [name for name in SETTING_VARIABLES if any(p.startswith(name) for p in problems)] or \
                [name for name in SETTING_VARIABLES if name in head] or list(SETTING_VARIABLES)
        return fail(f"{head} {'; '.join(problems)}".strip(),
                    f"set {', '.join(named)} correctly (in the environment or .env)")
    described = context.settings.describe()
    source = "given" if context.settings_given else "from the environment"
    limits = ", ".join(f"{name} {value}" for name, value in context.settings.limits.describe().items())
    return ok(f"{source}: " + ", ".join(f"{key} {value}" for key, value in described.items()) +
              f"; limits: {limits} (this machine has {available_cpus()} CPUs)")


def _existing_ancestor(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


@register("data_dir")
def _data_dir(context: Context) -> Outcome:
    folder = context.settings.data_dir
    elsewhere = "or set BEDFLOW_DATA_DIR to a writable folder"
    if folder.exists() and not folder.is_dir():
        return fail(f"{folder} is not a folder", f"remove or rename {folder}, {elsewhere}")
    if folder.is_dir():
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".bedflow-doctor-"):
                pass
        except OSError as error:
            return fail(f"{folder} is not writable: {error}", f"make {folder} writable (chown/chmod), {elsewhere}")
        state = "exists"
    else:
        parent = _existing_ancestor(folder)
        if not os.access(parent, os.W_OK | os.X_OK):
            return fail(f"{folder} does not exist and cannot be created ({parent} is not writable)",
                        f"create {folder} (mkdir -p) as a user who may, {elsewhere}")
        state = "will be created"
    free = shutil.disk_usage(_existing_ancestor(folder)).free
    detail = f"{folder} ({state}), {free / 1024**3:.1f} GB free"
    if free < MIN_FREE_BYTES:
        return warn(f"{detail}: meshes and solved cases take gigabytes",
                    f"free disk space there, or set BEDFLOW_DATA_DIR to a folder on a larger disk "
                    f"(at least {MIN_FREE_BYTES / 1024**3:.0f} GB free)")
    return ok(detail)


_OPENFOAM_BUILD = re.compile(r"Using:\s*OpenFOAM-\S*\s*\((\d+)\)")


@register("openfoam")
def _openfoam(context: Context) -> Outcome:
    from .openfoam.environment import BASHRC_VARIABLE, OpenFOAMNotFound, foam_environment, openfoam_source, \
        openfoam_version

    source = openfoam_source().describe()
    try:
        environment = foam_environment()  # as every OpenFOAM program of the pipeline runs
    except OpenFOAMNotFound as error:
        return fail(str(error), f"{INSTALL_OPENFOAM}; or name another OpenFOAM's etc/bashrc in {BASHRC_VARIABLE}, "
                                "or start bedflow with it sourced")
    version = openfoam_version()  # what the provenance of every run records
    found = {program: shutil.which(program, path=environment.get("PATH")) for program in OPENFOAM_PROGRAMS}
    missing = [program for program, path in found.items() if path is None]
    if missing:
        return fail(f"OpenFOAM {version} ({source}) lacks {', '.join(missing)} on its PATH", INSTALL_OPENFOAM)
    builds: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="bedflow-doctor-") as folder:
        for program, path in found.items():
            done = context.run([str(path), "-help-full"], cwd=folder, env={**environment, "PWD": folder})
            if done.returncode != 0 or "Usage:" not in done.stdout:
                return fail(f"{path} -help-full failed (exit {done.returncode}): "
                            f"{_one_line(done.stderr or done.stdout)}",
                            f"reinstall OpenFOAM: sudo apt-get install --reinstall openfoam (or {SETUP})")
            builds.update(_OPENFOAM_BUILD.findall(done.stdout))
    folders = sorted({str(Path(path).parent) for path in found.values() if path})
    detail = (f"{version} (build {', '.join(sorted(builds)) or 'unknown'}): {len(found)} programs run "
              f"({', '.join(OPENFOAM_PROGRAMS)}) from {', '.join(folders)}; environment from {source}")
    if version != OPENFOAM_VERSION:
        return warn(f"{detail}; bedflow is validated on {OPENFOAM_VERSION}",
                    f"install Debian 12's OpenFOAM {OPENFOAM_VERSION}: {INSTALL_OPENFOAM}")
    return ok(detail)


@register("mpi")
def _mpi(context: Context) -> Outcome:
    from .openfoam.environment import OpenFOAMNotFound, foam_environment

    try:
        path_variable = foam_environment().get("PATH")
    except OpenFOAMNotFound:
        path_variable = os.environ.get("PATH")
    fix = "sudo apt-get install openmpi-bin (only needed to solve with cfd.processes > 1)"
    mpirun = shutil.which("mpirun", path=path_variable)
    if mpirun is None:
        return warn("mpirun not found: parallel solves (cfd.processes > 1) are not possible", fix)
    done = context.run([mpirun, "--version"])
    first = done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
    if done.returncode != 0 or not first:
        return warn(f"{mpirun} --version failed (exit {done.returncode}): {_one_line(done.stderr)}", fix)
    return ok(f"{first} ({mpirun})")


_BPY_PROBE = "import bpy; print(bpy.app.version_string)"


@register("bpy")
def _bpy(context: Context) -> Outcome:
    from .provenance import software

    why = "the rigid_body (Blender) packing engine and .blend exports need it; the default native engine does not"
    installed = software()["blender"]  # the distribution's version, as recorded with every run
    # bpy is imported in a child process, as the Blender engine does: its state is global and heavy.
    done = context.run([sys.executable, "-c", _BPY_PROBE])
    if done.returncode != 0:
        error = _one_line(done.stderr, 300)
        if installed is None or "No module named 'bpy'" in done.stderr:
            fix = f"{SETUP} (installs the pinned bpy {BPY_SERIES} into .venv)"
        elif ".so" in done.stderr:
            fix = f"sudo apt-get install {BPY_DEBIAN_PACKAGES} (or {SETUP})"
        else:
            fix = f"reinstall bpy: {SETUP}, or .venv/bin/pip install --force-reinstall bpy (see the error)"
        return warn(f"import bpy failed ({error}): {why}", fix)
    version = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "unknown"
    detail = f"bpy {version} (package {installed}) imports in a child process"
    if not version.startswith(BPY_SERIES + "."):
        return warn(f"{detail}; bedflow is pinned to bpy {BPY_SERIES} LTS",
                    f"{SETUP} (installs the pinned bpy {BPY_SERIES} into .venv)")
    return ok(detail)


@register("rendering")
def _rendering(context: Context) -> Outcome:
    from viz.headless import CANDIDATES, DEBIAN_PACKAGES, WINDOW_VARIABLE, probe

    chosen = os.environ.get(WINDOW_VARIABLE)
    install = (f"sudo apt-get install {DEBIAN_PACKAGES['egl']} (EGL) or sudo apt-get install "
               f"{DEBIAN_PACKAGES['osmesa']} (OSMesa), or {SETUP}")
    if chosen:  # the user's choice is what viz.headless.configure keeps: probe just that one
        works, diagnostic = probe(chosen, timeout=context.timeout)
        if works:
            return ok(f"{chosen} (from {WINDOW_VARIABLE}) renders offscreen")
        return fail(f"{chosen} (from {WINDOW_VARIABLE}) does not render: {_one_line(diagnostic, 300)}",
                    f"unset {WINDOW_VARIABLE} (EGL and OSMesa are then probed), or {install}")
    failures = []
    for name, window in CANDIDATES.items():
        works, diagnostic = probe(window, timeout=context.timeout)
        if works:
            return ok(f"{name} ({window}) renders offscreen" +
                      (f"; {'; '.join(failures)}" if failures else ""))
        failures.append(f"{name} ({window}) does not: {_one_line(diagnostic, 200)}")
    return fail("no offscreen OpenGL works, so VTK cannot draw pictures: " + "; ".join(failures), install)


@register("chromium")
def _chromium(context: Context) -> Outcome:
    from .reporting import ReportError, chromium

    fix = "sudo apt-get install chromium, or set BEDFLOW_CHROMIUM to a Chromium or Chrome executable"
    try:
        path = chromium()
    except ReportError as error:
        return warn(f"{error}: PDF reports and the dashboard's browser tests need it", fix)
    done = context.run([path, "--version"])
    first = done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
    if done.returncode != 0 or not first:
        return warn(f"{path} --version failed (exit {done.returncode}): {_one_line(done.stderr, 200)}", fix)
    return ok(f"{first} ({path})")


# -- the services: one check_health report ---------------------------------------------------------------------
def _service(context: Context, name: str) -> tuple[dict[str, Any], str]:
    """The health report's entry for ``name`` and its detail line (kind, address, latency or error)."""
    entry = context.health()[name]
    if not entry["ok"]:  # the error names the server or path already
        return entry, f"{entry['kind']}: {entry['error']}"
    where = context.settings.describe()[name]
    kind = "" if where.startswith(entry["kind"]) else f"{entry['kind']} "  # a URL says it already
    return entry, f"{kind}{where}: {entry['latency_ms']:.1f} ms"


def _schema(context: Context) -> Outcome | None:
    """Whether the database's schema is at the newest migration (read only); None when it is."""
    from .db import open_database

    database = open_database(context.settings)
    current, head = database.current_revision(), database.head_revision()
    if current == head:
        return None
    from alembic.script import ScriptDirectory

    known = {script.revision for script in ScriptDirectory.from_config(database.alembic_config()).walk_revisions()}
    if current is not None and current not in known:
        return fail(f"schema at revision {current}, which this bedflow does not know (newest: {head})",
                    "update bedflow (git pull && make setup), or set DATABASE_URL to this bedflow's database")
    state = "empty (no schema yet)" if current is None else f"schema at revision {current}"
    return warn(f"{state}, newest is {head}; it is brought up to date on first use",
                "bedflow db upgrade")


@register("database")
def _database(context: Context) -> Outcome:
    entry, detail = _service(context, "database")
    if not entry["ok"]:
        what = "make the SQLite file's folder writable" if entry["kind"] == "sqlite" else "start the database server"
        return fail(detail, f"{what}, or set DATABASE_URL to a reachable database "
                            f"(now {context.settings.describe()['database']})")
    from .db import DatabaseError

    try:
        schema = _schema(context)
    except DatabaseError as error:
        return fail(f"{detail}; reading its schema revision failed: {_one_line(str(error))}",
                    "check the database's permissions, then run bedflow db upgrade")
    if schema is None:
        return ok(f"{detail}, schema at the newest revision")
    return schema._replace(detail=f"{detail}; {schema.detail}")


@register("store")
def _store(context: Context) -> Outcome:
    entry, detail = _service(context, "store")
    if entry["ok"]:
        return ok(f"{detail} (probe object written, read, deleted)")
    if entry["kind"] == "s3":
        return fail(detail, "check BEDFLOW_STORE (s3://BUCKET), MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY "
                            "and MINIO_SECURE, and that the S3/MinIO server is running")
    return fail(detail, "make the folder BEDFLOW_STORE names (default <BEDFLOW_DATA_DIR>/store) writable, "
                        "or set BEDFLOW_STORE to another folder or s3://BUCKET")


@register("queue")
def _queue(context: Context) -> Outcome:
    entry, detail = _service(context, "queue")
    if entry["ok"]:
        return ok(detail)
    if entry["kind"] == "redis":
        return fail(detail, "start Redis, or set BEDFLOW_QUEUE to a reachable redis://HOST:PORT/DB "
                            "(or sqlite:///PATH on one machine)")
    return fail(detail, "make the folder of BEDFLOW_QUEUE's file (default <BEDFLOW_DATA_DIR>/queue.db) writable, "
                        "or set BEDFLOW_QUEUE to sqlite:///PATH or redis://HOST:PORT/DB")


@register("workers")
def _workers(context: Context) -> Outcome:
    from sqlalchemy import func
    from sqlalchemy import select as sql_select

    from .db import RunStatus, Simulation
    from .jobs.heartbeats import list_workers
    from .runs import open_services

    if not context.health()["database"]["ok"] or _schema(context) is not None:
        return warn("not checked: the database is unreachable or its schema is behind (see the database check)",
                    "fix the database check first")
    services = open_services(context.settings)
    found = list_workers(services)
    alive = [w for w in found if w.state == "alive"]
    lost = [w.name for w in found if w.state == "lost"]
    with services.db.session() as session:
        queued = session.scalar(sql_select(func.count()).select_from(Simulation)
                                .where(Simulation.status == RunStatus.queued)) or 0
    lost_note = f"; lost (no heartbeat): {', '.join(lost[:5])}" if lost else ""
    if alive:
        processes = sum(w.processes for w in alive)
        return ok(f"{len(alive)} alive ({', '.join(w.name for w in alive[:5])}), {processes} process(es); "
                  f"{queued} run(s) queued{lost_note}")
    return warn(f"no worker alive; {queued} run(s) queued{lost_note}",
                "start one: bedflow worker -w N (or bedflow serve --with-worker), with the same DATABASE_URL "
                "and BEDFLOW_QUEUE as the dashboard")


@register("slurm")
def _slurm(context: Context) -> Outcome:
    """With ``BEDFLOW_EXECUTOR=slurm``: the client commands, the settings, the partition, and a trivial job that
    runs to the end (within the check's time limit)."""
    from . import slurm

    fix = ("install slurm-client on this machine and check BEDFLOW_SLURM_* (README: Running on a cluster), or set "
           "BEDFLOW_EXECUTOR=local")
    try:
        if slurm.executor() == "local":
            return ok("not used (BEDFLOW_EXECUTOR=local): heavy stages run on the workers' own cores")
        settings = slurm.SlurmSettings.from_env()
    except slurm.SlurmError as error:
        return fail(str(error), fix)
    missing = [name for name in ("sbatch", "scontrol", "scancel", "sinfo") if shutil.which(name) is None]
    if missing:
        return fail(f"Slurm's client commands are missing: {', '.join(missing)}", fix)
    version = _one_line(context.run(["sinfo", "--version"]).stdout, 80)
    listing = context.run(["sinfo", "-h", "-o", "%P %a"])
    partitions = {line.split()[0].rstrip("*"): line.split()[1] for line in listing.stdout.splitlines()
                  if len(line.split()) == 2}
    if listing.returncode != 0:
        return fail(f"sinfo failed: {_one_line(listing.stderr, 200)}", fix)
    partition = settings.partition or next((p for p in partitions), "")
    if partition not in partitions or partitions[partition] != "up":
        return fail(f"partition {partition!r} is not up here (partitions: {partitions or 'none'})", fix)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bedflow-doctor-slurm-") as folder:
        script = Path(folder) / "trivial.sh"
        script.write_text("#!/bin/sh\nexit 0\n")
        job = slurm.submit(script, settings, tasks=1, name="bedflow-doctor", output=Path(folder) / "out-%j.txt")
        try:
            info = slurm.wait(job, interval=0.5, timeout=max(1.0, context.timeout - (time.perf_counter() - started)))
        except slurm.SlurmError as error:
            slurm.cancel(job)
            return warn(f"{version}; partition {partition} up; a trivial job did not finish: {error}",
                        "the cluster may be busy: run bedflow doctor --only slurm --timeout 300")
    if info.failure:
        return fail(f"{version}; a trivial job on {partition} ended badly: {info.failure}", fix)
    return ok(f"{version}; partition {partition} up; a trivial job ran in {time.perf_counter() - started:.1f} s "
              f"(job {job} on {info.nodes})")


# -- running them --------------------------------------------------------------------------------------------------
def _scrub(text: str, secrets: dict[str, str]) -> str:
    for secret, mask in secrets.items():
        text = text.replace(secret, mask)
    return text


def _run_one(name: str, function: CheckFunction, context: Context) -> Check:
    started = time.perf_counter()
    try:
        outcome = function(context)
    except NotChecked as skipped:
        outcome = fail(str(skipped), skipped.fix)
    except subprocess.TimeoutExpired as error:
        outcome = fail(f"{' '.join(map(str, error.cmd))} gave no answer within {error.timeout:g} s",
                       f"run again with a longer time limit: bedflow doctor --only {name} --timeout "
                       f"{max(2 * context.timeout, 60):g}")
    except Exception as error:  # noqa: BLE001 - a check reports every failure, never raises
        outcome = fail(f"the check itself failed: {type(error).__name__}: {_one_line(str(error))}",
                       f"run `bedflow doctor --only {name}` again; if it persists, report the message")
    if outcome.status not in STATUSES:
        outcome = fail(f"the check returned the unknown status {outcome.status!r}", "report this bedflow bug")
    secrets = context.secrets()
    return Check(name, outcome.status, _scrub(outcome.detail, secrets),
                 _scrub("" if outcome.status == "ok" else outcome.fix, secrets),
                 round(time.perf_counter() - started, 3))


def select(only: Collection[str] | None) -> list[str]:
    """The names of the checks to run, in report order; :class:`DoctorError` names unknown ones."""
    if only is None:
        return list(REGISTRY)
    unknown = sorted(set(only) - set(REGISTRY))
    if unknown:
        raise DoctorError(f"unknown check {', '.join(map(repr, unknown))}; the checks are {', '.join(REGISTRY)}")
    return [name for name in REGISTRY if name in only]


def diagnose(settings: Settings | None = None, *, timeout: float = DEFAULT_TIMEOUT,
             only: Collection[str] | None = None, progress: Callable[[Check], None] | None = None) -> list[Check]:
    """Run the checks (all, or those named in ``only``) and return their verdicts in report order.

    ``settings``: those to check (default: :meth:`Settings.from_env`, whose failure is the ``settings``
    check's verdict). Each check gets ``timeout`` seconds; one that takes longer fails. ``progress`` is
    called with each verdict as it comes (from the checks' threads). Raises only :class:`DoctorError`, for an
    unknown name in ``only``, before anything runs.
    """
    names = select(only)
    import_before_threads(CHECK_MODULES + DOCTOR_MODULES)  # no two checks' threads import one package at once
    context = Context(settings, timeout)
    results: dict[str, Check] = {}
    done = {name: threading.Event() for name in names}

    def work(name: str) -> None:
        results[name] = _run_one(name, REGISTRY[name], context)
        done[name].set()
        if progress is not None:
            try:
                progress(results[name])
            except Exception:  # noqa: BLE001, S110 - a display problem must not lose the verdict
                pass

    # Daemon threads: a check that hangs beyond its time limit is left behind, never waited for at exit.
    for name in names:
        threading.Thread(target=work, args=(name,), name=f"bedflow-doctor-{name}", daemon=True).start()
    deadline = time.monotonic() + timeout + 2.0  # the checks bound their own work by timeout; 2 s to report it
    checks = []
    for name in names:
        if done[name].wait(max(0.0, deadline - time.monotonic())):
            checks.append(results[name])
        else:
            checks.append(Check(name, "fail", f"no answer within {timeout:g} s",
                                f"run again with a longer time limit: bedflow doctor --only {name} --timeout "
                                f"{max(2 * timeout, 60):g}", round(timeout, 3)))
    return checks


def failed(checks: Collection[Check]) -> bool:
    """Whether any check failed (warnings do not count)."""
    return any(check.status == "fail" for check in checks)
