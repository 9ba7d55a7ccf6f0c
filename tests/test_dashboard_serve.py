"""``bedflow serve``: /health, sign-in, the address guard and the worker beside the server.

Servers are real ``bedflow serve`` subprocesses (the ``served_app`` fixture), pages a real headless
Chromium (``page``), workers real ``bedflow worker`` processes.
"""

from __future__ import annotations

import concurrent.futures
import inspect
import json
import os
import signal
import socket
import subprocess
import threading
import time
from urllib.parse import urlsplit

import pytest

from app.auth import AuthConfig, AuthError
from app.server import check_address, is_loopback, websocket_origins
from pipeline import BedSpec
from pipeline.errors import BedflowError
from pipeline.health import CHECKS, HealthMonitor, check_health, probe_key, public_report
from pipeline.runs import open_services

from conftest import wait_for

UNREACHABLE_QUEUE = "redis://127.0.0.1:1/0"
COOKIE_SECRET = "test-cookie-secret-0123456789abcdef"
PASSWORD = "correct horse battery staple"
NAV_LABELS = ("Define a bed", "Runs", "Run detail", "Compare")


def nav_button(page, label: str = "Runs"):
    """A button of the template's sidebar navigation (a RadioButtonGroup in ``#sidebar``)."""
    return page.locator("#sidebar").get_by_role("button", name=label, exact=True)


def no_errors(page) -> bool:
    """No console or page error (failed loads of other hosts' resources, e.g. web fonts on an offline
    machine, are only printed)."""
    if page.foreign_errors:
        print("\nresources of other hosts that did not load:", *page.foreign_errors, sep="\n  ")
    return page.console_errors == []


# -- pipeline.health, in process -------------------------------------------------------------------------------
def test_check_health_on_the_embedded_defaults_does_a_real_round_trip():
    services = open_services()
    report = check_health(services, timeout=60)
    assert report["status"] == "ok", report
    for name in CHECKS:
        assert report[name]["ok"] and report[name]["error"] == "" and report[name]["latency_ms"] > 0, report
    assert (report["database"]["kind"], report["store"]["kind"], report["queue"]["kind"]) == ("sqlite", "local",
                                                                                              "sqlite")
    assert not services.store.exists(probe_key())  # the probe object is cleaned up
    assert check_health(timeout=60)["status"] == "ok"  # from the environment's settings too


def test_check_health_on_the_shared_services(postgres_url, redis_url, s3_server, monkeypatch):
    """PostgreSQL, Redis and an S3 store (moto's server), as a multi-machine deployment has them."""
    for name, value in {**s3_server, "DATABASE_URL": postgres_url, "BEDFLOW_QUEUE": redis_url,
                        "BEDFLOW_STORE": "s3://bedflow-health"}.items():
        monkeypatch.setenv(name, value)
    report = check_health(timeout=60)  # correctness, not speed: a loaded machine may answer slowly
    assert report["status"] == "ok", report
    assert [report[n]["kind"] for n in CHECKS] == ["postgresql", "s3", "redis"]
    assert all(report[n]["latency_ms"] > 0 for n in CHECKS), report
    assert not open_services().store.exists(probe_key())


def test_check_health_reports_an_unreachable_queue_and_never_raises(monkeypatch):
    monkeypatch.setenv("BEDFLOW_QUEUE", UNREACHABLE_QUEUE)
    report = check_health(timeout=60)
    assert report["status"] == "degraded"
    assert not report["queue"]["ok"] and "127.0.0.1:1" in report["queue"]["error"], report
    assert report["database"]["ok"] and report["store"]["ok"], report

    monkeypatch.setenv("BEDFLOW_STORE", "ftp://nowhere")  # settings that cannot even be read
    broken = check_health(timeout=60)
    assert broken["status"] == "degraded"
    assert all(not broken[n]["ok"] and "BEDFLOW_STORE" in broken[n]["error"] for n in CHECKS), broken


def test_check_health_gives_up_on_a_server_that_never_answers(monkeypatch):
    """A Redis 'server' that accepts connections (the kernel's backlog) but never replies: the check
    fails after its timeout instead of hanging."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        monkeypatch.setenv("BEDFLOW_QUEUE", f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        started = time.perf_counter()
        report = check_health(timeout=1.0)
        elapsed = time.perf_counter() - started
    assert elapsed < 10, elapsed  # gave up (after 1 s), did not hang; generous for a loaded machine
    assert report["status"] == "degraded" and not report["queue"]["ok"], report
    assert "no answer within 1 s" in report["queue"]["error"]
    assert report["database"]["ok"] and report["store"]["ok"], report


def test_the_health_monitor_runs_one_check_for_many_callers_and_reuses_it():
    clock = [100.0]
    started = threading.Event()
    release = threading.Event()

    def check() -> dict:
        started.set()
        release.wait(10)
        return {"status": "ok", **{name: {"ok": True, "latency_ms": 1.0, "error": "", "kind": "x"} for name in CHECKS}}

    monitor = HealthMonitor(check, cache_seconds=5, clock=lambda: clock[0])
    with concurrent.futures.ThreadPoolExecutor(36) as pool:
        futures = [pool.submit(monitor.report) for _ in range(36)]
        assert started.wait(10)
        release.set()
        reports = [future.result(10) for future in futures]
    assert monitor.checks == 1 and all(report is reports[0] for report in reports)
    clock[0] += 4.9
    monitor.report()
    assert monitor.checks == 1
    clock[0] += 0.2
    monitor.report()
    assert monitor.checks == 2
    assert public_report(reports[0]) == {"status": "ok", "database": "ok", "store": "ok", "queue": "ok"}


def test_the_health_monitor_logs_a_failure_once_with_its_details(caplog):
    clock = [0.0]
    state = {"error": "cannot reach redis at 10.0.0.5:6379"}

    def check() -> dict:
        queue = {"ok": not state["error"], "latency_ms": 1.0, "error": state["error"], "kind": "redis"}
        ok = {"ok": True, "latency_ms": 1.0, "error": "", "kind": "x"}
        return {"status": "degraded" if state["error"] else "ok", "database": ok, "store": ok, "queue": queue}

    monitor = HealthMonitor(check, cache_seconds=0, clock=lambda: clock[0])
    with caplog.at_level("INFO", logger="bedflow.health"):
        for _ in range(3):
            assert public_report(monitor.report())["queue"] == "degraded"
            clock[0] += 10
        clock[0] += 60
        monitor.report()
        state["error"] = ""
        monitor.report()
    lines = [record.getMessage() for record in caplog.records]
    assert lines == ["health: queue (redis) is down: cannot reach redis at 10.0.0.5:6379"] * 2 + [
        "health: queue is ok again"]


def test_probe_keys_differ_for_every_check():
    assert len({probe_key() for _ in range(1000)}) == 1000


@pytest.mark.slow
def test_many_probes_at_once_all_answer_200_and_leave_no_probe_object(served_app):
    """36 load-balancer probes at the same moment (each check used to share one store key: 19 answered 503)."""
    served = served_app()
    with concurrent.futures.ThreadPoolExecutor(36) as pool:
        answers = list(pool.map(lambda _: served.get("/health", timeout=60)[0], range(36)))
    assert answers == [200] * 36
    with concurrent.futures.ThreadPoolExecutor(36) as pool:  # again, past the cache: checks run again
        time.sleep(5.5)
        assert list(pool.map(lambda _: served.get("/health", timeout=60)[0], range(36))) == [200] * 36
    store = open_services().store
    assert [info.key for info in store.list("health/")] == []


@pytest.mark.slow
def test_a_server_with_sign_in_serves_metrics_only_with_a_token(served_app):
    served = served_app(env={"BEDFLOW_AUTH": "basic", "BEDFLOW_AUTH_PASSWORD": PASSWORD,
                             "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET})
    code, _, body = served.get("/metrics")
    assert code == 403 and b"BEDFLOW_METRICS_TOKEN" in body and b"bedflow_runs" not in body


# -- sign-in settings and the address guard ----------------------------------------------------------------------
def test_auth_config_from_the_environment():
    assert AuthConfig.from_env({}, dotenv=None).serve_options() == {}
    assert not AuthConfig.from_env({"BEDFLOW_AUTH": ""}, dotenv=None).enabled

    basic = AuthConfig.from_env({"BEDFLOW_AUTH": "basic", "BEDFLOW_AUTH_PASSWORD": PASSWORD,
                                 "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET}, dotenv=None)
    options = basic.serve_options()
    assert options.pop("cookie_secret") == COOKIE_SECRET and set(options) == {"auth_provider"}
    assert options["auth_provider"].login_handler.credentials == PASSWORD
    assert PASSWORD not in repr(basic) and COOKIE_SECRET not in repr(basic)

    github = AuthConfig.from_env({"BEDFLOW_AUTH": "GitHub", "BEDFLOW_OAUTH_KEY": "id", "BEDFLOW_OAUTH_SECRET": "s",
                                  "BEDFLOW_ALLOWED_USERS": "Ana, rui ,",
                                  "BEDFLOW_OAUTH_EXTRA_PARAMS": '{"scope": "read:user"}',
                                  "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET}, dotenv=None)
    options = github.serve_options()
    assert options == {"oauth_provider": "github", "oauth_key": "id", "oauth_secret": "s",
                       "oauth_extra_params": {"scope": "read:user"}, "cookie_secret": COOKIE_SECRET}
    assert github.allowed_users == {"ana", "rui"} and github.authorize("ANA") and not github.authorize("eve")
    assert not github.authorize(None) and not github.authorize("")
    assert basic.authorize("anyone")  # no list: everyone with the password
    assert "2 allowed" in github.describe()
    from panel.io.server import get_server

    from bokeh.server.server import _ServerOpts
    from bokeh.server.tornado import BokehTornado

    # what pn.serve takes, and what it passes on to Bokeh's server and its Tornado application
    accepted = (set(inspect.signature(get_server).parameters) | set(_ServerOpts.properties())
                | set(inspect.signature(BokehTornado.__init__).parameters))
    proxied = AuthConfig.from_env({"BEDFLOW_AUTH": "basic", "BEDFLOW_AUTH_PASSWORD": PASSWORD,
                                   "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET, "BEDFLOW_TRUST_PROXY": "1"}, dotenv=None)
    assert set(options) <= accepted and set(proxied.serve_options()) <= accepted


def test_a_password_that_names_a_file_must_be_that_file(tmp_path):
    """A users file that is not mounted must not turn its path into the shared password (Panel reads a value
    naming no file as the password itself): the server refuses to start."""
    base = {"BEDFLOW_AUTH": "basic", "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET}
    missing = tmp_path / "secrets" / "users.json"
    for value, expected in ((str(missing), "cannot be read"), (str(tmp_path), "cannot be read"),
                            ("users.json", "cannot be read"), ("short", "too short")):
        with pytest.raises(AuthError, match=expected):
            AuthConfig.from_env({**base, "BEDFLOW_AUTH_PASSWORD": value}, dotenv=None)
    for text, expected in (("{not json", "not valid JSON"), ('["ana"]', "JSON object"), ("{}", "JSON object"),
                           ('{"ana": 12345678901234}', "JSON object"), ('{"ana": "tiny"}', "password of ana")):
        missing.parent.mkdir(exist_ok=True)
        missing.write_text(text)
        with pytest.raises(AuthError, match=expected) as raised:
            AuthConfig.from_env({**base, "BEDFLOW_AUTH_PASSWORD": str(missing)}, dotenv=None)
        assert "tiny" not in str(raised.value)  # never echoes a password
    missing.write_text('{"ana": "a long enough password", "rui": "another long password"}')
    config = AuthConfig.from_env({**base, "BEDFLOW_AUTH_PASSWORD": str(missing)}, dotenv=None)
    assert config.credentials() == {"ana": "a long enough password", "rui": "another long password"}
    assert config.serve_options()["auth_provider"].login_handler.credentials == config.credentials()


@pytest.mark.parametrize(("env", "expected"), [
    ({"BEDFLOW_AUTH": "basic", "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET}, "BEDFLOW_AUTH_PASSWORD"),
    ({"BEDFLOW_AUTH": "basic", "BEDFLOW_AUTH_PASSWORD": PASSWORD}, "needs BEDFLOW_COOKIE_SECRET"),
    ({"BEDFLOW_AUTH": "basic", "BEDFLOW_AUTH_PASSWORD": PASSWORD, "BEDFLOW_COOKIE_SECRET": "short"}, "too short"),
    ({"BEDFLOW_AUTH": "github", "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET}, "BEDFLOW_OAUTH_KEY"),
    ({"BEDFLOW_AUTH": "github", "BEDFLOW_OAUTH_KEY": "k", "BEDFLOW_OAUTH_SECRET": "s",
      "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET}, "BEDFLOW_ALLOWED_USERS"),
    ({"BEDFLOW_AUTH": "myspace", "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET}, "github"),
    ({"BEDFLOW_AUTH": "generic", "BEDFLOW_OAUTH_KEY": "k", "BEDFLOW_OAUTH_SECRET": "s",
      "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET, "BEDFLOW_OAUTH_EXTRA_PARAMS": "{TOKEN_URL: x}"}, "not valid JSON"),
])
def test_incomplete_sign_in_settings_are_refused_with_the_variable_to_set(env, expected):
    with pytest.raises(AuthError, match=expected) as raised:
        AuthConfig.from_env(env, dotenv=None)
    assert isinstance(raised.value, BedflowError)


def test_only_loopback_addresses_are_served_without_sign_in():
    assert all(is_loopback(a) for a in ("127.0.0.1", "localhost", "::1", "127.0.1.1"))
    assert not any(is_loopback(a) for a in ("0.0.0.0", "::", "192.168.1.5", "example.org", ""))
    check_address("127.0.0.1", AuthConfig())
    with pytest.raises(BedflowError, match="without sign-in"):
        check_address("0.0.0.0", AuthConfig())
    check_address("0.0.0.0", AuthConfig(method="basic", password=PASSWORD, cookie_secret=COOKIE_SECRET))
    assert websocket_origins("127.0.0.1", 5006) == ["localhost:5006", "127.0.0.1:5006"]
    public = websocket_origins("0.0.0.0", 8080, ["bedflow.example.org"])
    assert "localhost:8080" in public and f"{socket.gethostname()}:8080" in public and "bedflow.example.org" in public


def without_sign_in() -> dict[str, str]:
    """This process's environment without sign-in variables (a developer's shell may have some)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("BEDFLOW_AUTH", "BEDFLOW_OAUTH_",
                                                                     "BEDFLOW_COOKIE_SECRET", "PANEL_"))}


def test_serve_on_a_public_address_without_sign_in_exits_2(bedflow_cmd):
    done = subprocess.run([*bedflow_cmd, "serve", "--address", "0.0.0.0", "--port", "0"], capture_output=True,
                          text=True, timeout=60, env=without_sign_in())
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "refusing to serve the dashboard on '0.0.0.0' without sign-in" in done.stderr
    assert "BEDFLOW_AUTH" in done.stderr and "Traceback" not in done.stderr


def test_serve_with_sign_in_but_no_cookie_secret_exits_2(bedflow_cmd):
    env = {**without_sign_in(), "BEDFLOW_AUTH": "basic", "BEDFLOW_AUTH_PASSWORD": PASSWORD}
    done = subprocess.run([*bedflow_cmd, "serve", "--port", "0"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2 and "BEDFLOW_COOKIE_SECRET" in done.stderr, (done.stdout, done.stderr)


# -- the served dashboard -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_health_answers_200_with_every_service_ok_and_sigterm_stops_the_server(served_app):
    served = served_app()
    status, report = served.health()
    assert status == 200, report
    assert report == {"status": "ok", "database": "ok", "store": "ok", "queue": "ok"}
    _, headers, _ = served.get("/health")
    assert headers["Content-Type"].startswith("application/json") and headers["Cache-Control"] == "no-store"
    assert served.get("/")[0] == 200  # no sign-in configured: the dashboard is open (on 127.0.0.1 only)
    assert f"bedflow dashboard at http://127.0.0.1:{served.port}/" in served.log()

    os.killpg(served.process.pid, signal.SIGTERM)  # what docker/Railway send
    assert served.process.wait(20) == 0, served.log()
    assert "bedflow serve: stopped" in served.log()


@pytest.mark.slow
def test_health_answers_503_when_the_queue_is_unreachable(served_app):
    served = served_app(env={"BEDFLOW_QUEUE": UNREACHABLE_QUEUE})
    status, _, body = served.get("/health")
    assert status == 503, body
    # anyone may ask /health: it names no host, port, user or error, only what is down
    assert json.loads(body) == {"status": "degraded", "database": "ok", "store": "ok", "queue": "degraded"}
    assert b"127.0.0.1" not in body and b"redis" not in body and b":1" not in body
    assert "queue (redis) NOT OK" in served.log()  # said at start, and the server still serves
    wait_for(lambda: "health: queue (redis) is down: " in served.log(), 30, what="the failure's details in the log")
    assert served.get("/")[0] == 200


@pytest.mark.slow
def test_the_dashboard_loads_in_a_real_browser(served_app, page):
    """The page loads without errors. How fast is printed, not asserted: a timed assertion fails on a busy
    machine (the first page of a session is 1.6–2.5 s on a quiet one)."""
    served = served_app()
    started = time.perf_counter()
    page.goto(served.url + "/")
    nav_button(page).wait_for(state="visible", timeout=30_000)
    print(f"\ndashboard: sidebar navigation visible {time.perf_counter() - started:.2f} s after page.goto")
    for label in NAV_LABELS:
        assert nav_button(page, label).is_visible()
    page.wait_for_timeout(500)  # let late errors (websocket, rendering) arrive
    assert no_errors(page), page.console_errors
    assert "Traceback" not in served.log(), served.log()
    started = time.perf_counter()
    assert served.stop() == 0, served.log()
    print(f"stopped in {time.perf_counter() - started:.2f} s")


@pytest.mark.slow
def test_sign_in_guards_the_dashboard_but_not_health(served_app, page):
    served = served_app(env={"BEDFLOW_AUTH": "basic", "BEDFLOW_AUTH_PASSWORD": PASSWORD,
                             "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET})
    status, headers, _ = served.get("/")
    assert status == 302 and headers["Location"].split("?")[0].endswith("/login"), (status, headers)
    assert served.get("/ws")[0] == 403  # nor can a script open a session's websocket
    status, report = served.health()
    assert status == 200 and report["status"] == "ok"

    page.goto(served.url + "/")
    page.wait_for_url("**/login**")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    page.wait_for_url("**/login?*error=*")
    assert page.get_by_text("Wrong user name or password").is_visible()
    assert page.locator("#sidebar").count() == 0

    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    nav_button(page).wait_for(state="visible", timeout=15_000)
    assert urlsplit(page.url).path == "/"
    page.locator("#sidebar").get_by_text("Signed in as").wait_for(state="visible", timeout=5_000)
    assert "alice" in page.locator("#sidebar").get_by_text("Signed in as").inner_text()
    page.wait_for_timeout(500)
    assert no_errors(page), page.console_errors


def test_oauth_open_to_all_only_when_asked():
    config = AuthConfig.from_env({"BEDFLOW_AUTH": "github", "BEDFLOW_OAUTH_KEY": "k", "BEDFLOW_OAUTH_SECRET": "s",
                                  "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET, "BEDFLOW_AUTH_OPEN_TO_ALL": "1"}, dotenv=None)
    assert config.open_to_all and config.authorize("anyone") and "open to every account" in config.describe()


@pytest.mark.slow
def test_only_allowed_accounts_get_past_sign_in(served_app, page, tmp_path):
    """Two accounts with good passwords; only the one on BEDFLOW_ALLOWED_USERS reaches the dashboard."""
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"ana": PASSWORD, "rui": PASSWORD + " too"}))
    served = served_app(env={"BEDFLOW_AUTH": "basic", "BEDFLOW_AUTH_PASSWORD": str(users),
                             "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET, "BEDFLOW_ALLOWED_USERS": "Ana"})
    for user, password, allowed in (("rui", PASSWORD + " too", False), ("ana", PASSWORD, True)):
        page.goto(served.url + "/logout")
        page.goto(served.url + "/")
        page.wait_for_url("**/login**")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("button[type=submit]")
        if allowed:
            nav_button(page).wait_for(state="visible", timeout=15_000)
            assert "ana" in page.locator("#sidebar").get_by_text("Signed in as").inner_text()
        else:
            page.get_by_text("not authorized").first.wait_for(state="visible", timeout=15_000)
            assert page.locator("#sidebar").count() == 0
            response = page.request.get(served.url + "/")
            assert response.status == 403


@pytest.mark.slow
def test_oauth_sign_in_sends_the_browser_to_the_provider(served_app):
    """No provider is contacted: the server only redirects to GitHub's authorize URL with our client id."""
    served = served_app(env={"BEDFLOW_AUTH": "github", "BEDFLOW_OAUTH_KEY": "bedflow-client-id",
                             "BEDFLOW_OAUTH_SECRET": "bedflow-client-secret", "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET,
                             "BEDFLOW_ALLOWED_USERS": "ana"})
    status, headers, _ = served.get("/")
    assert status == 302 and headers["Location"].split("?")[0].endswith("/login"), (status, headers)
    status, headers, _ = served.get("/login")
    assert status == 302 and headers["Location"].startswith("https://github.com/login/oauth/authorize?"), headers
    assert "client_id=bedflow-client-id" in headers["Location"] and "bedflow-client-secret" not in headers["Location"]
    assert served.health()[0] == 200
    assert "OAuth sign-in (github), 1 allowed account(s)" in served.log()


@pytest.mark.slow
def test_with_worker_starts_a_worker_that_runs_submitted_runs_and_stops_with_the_server(served_app):
    from pipeline.jobs import status, submit

    served = served_app(with_worker=True)  # the same BEDFLOW_DATA_DIR as this test: the same queue and database
    workers = [pid for pid in served.descendants() if b"worker" in _cmdline(pid)]
    assert workers, f"no worker process under the server; its log:\n{served.log()}"

    run_id = submit(BedSpec.from_dict({"name": "tiny", "particles": {"count": 10, "seed": 1}}), until="pack",
                    created_by="test")
    deadline = time.monotonic() + 60
    while status(run_id)["status"] not in ("succeeded", "failed", "cancelled") and time.monotonic() < deadline:
        time.sleep(0.5)
    final = status(run_id)
    assert final["status"] == "succeeded", (final, served.log())

    assert served.stop() == 0, served.log()
    log = served.log()
    assert "worker stopped (exit code" in log and "bedflow serve: stopped" in log, log
    assert not any(_running(pid) for pid in workers), log


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
