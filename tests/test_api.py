"""The JSON API (/api/v1), its tokens and the Python client, against a real `bedflow serve` (and a real
`bedflow worker` beside it where runs must run)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

import pipeline
from pipeline import BedSpec
from pipeline.client import ApiClientError, Client
from pipeline.tokens import (SECRET_PATTERN, TokenError, authenticate, create_token, list_tokens, parse_lifetime,
                             revoke_token)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def small_spec(**changes: object) -> BedSpec:
    return pipeline.read_bed(EXAMPLES / "small_spheres.bed").updated(
        {"particles.count": 40, "bed.height": 0.025, "export.formats": ["stl"], **changes})


def call(url: str, method: str = "GET", body: bytes | None = None, token: str | None = None,
         content_type: str = "application/json") -> tuple[int, dict]:
    """One raw request: (status, JSON body)."""
    request = urllib.request.Request(url, data=body, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


# -- tokens ------------------------------------------------------------------------------------------------
def test_a_token_is_shown_once_kept_as_a_hash_and_works_until_revoked_or_expired():
    from pipeline.db import ApiToken
    from pipeline.runs import open_services

    info, secret = create_token("Ana ", name="laptop")
    assert SECRET_PATTERN.match(secret) and info.user == "ana" and info.prefix == secret[:12] and info.active
    with open_services().db.session() as session:
        (row,) = session.query(ApiToken).all()
        assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in repr(vars(row))
    assert authenticate(secret) == "ana"
    assert list_tokens("ana")[0].last_used_at is not None
    assert authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert authenticate("") is None and authenticate("Bearer " + secret) is None
    revoke_token(info.id)
    assert authenticate(secret) is None and not list_tokens()[0].active

    short, short_secret = create_token("bo", expires_in=timedelta(seconds=1))
    assert authenticate(short_secret) == "bo"
    time.sleep(1.2)
    assert authenticate(short_secret) is None
    with pytest.raises(TokenError, match="no token"):
        revoke_token(short.id, by="ana")  # not hers
    with pytest.raises(TokenError):
        create_token("bad\x1bname")
    assert parse_lifetime("30d") == timedelta(days=30) and parse_lifetime("90m") == timedelta(minutes=90)
    with pytest.raises(TokenError):
        parse_lifetime("soon")


def test_token_create_prints_the_secret_alone_on_its_last_line(bedflow_cmd):
    result = subprocess.run([*bedflow_cmd, "token", "create", "ana", "--expires", "7d"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert SECRET_PATTERN.match(result.stdout.splitlines()[-1]) and result.stdout.count("\n") == 1
    assert authenticate(result.stdout.strip()) == "ana"
    listed = subprocess.run([*bedflow_cmd, "token", "list", "--json"], capture_output=True, text=True, timeout=120)
    (token,) = json.loads(listed.stdout)
    assert token["user"] == "ana" and token["active"] and result.stdout.strip() not in listed.stdout
    subprocess.run([*bedflow_cmd, "token", "revoke", str(token["id"])], check=True, capture_output=True, timeout=120)
    assert authenticate(result.stdout.strip()) is None


# -- the OpenAPI document -------------------------------------------------------------------------------------
def test_the_openapi_document_is_valid_and_lists_every_route_and_method():
    from openapi_spec_validator import validate

    from app.api import ROUTES, api_routes, openapi_document, openapi_path

    document = openapi_document()
    validate(document)
    served = set()
    for pattern, handler, _ in api_routes(lambda: None):
        pattern = pattern.removeprefix("/api/v1")
        for method in ("get", "post", "put", "delete", "patch"):
            if getattr(handler, method) is not getattr(__import__("tornado.web").web.RequestHandler, method):
                served.add((openapi_path(pattern), method))
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert served == documented and len(served) == sum(len(methods) for *_, methods in ROUTES) == 10


# -- the API over HTTP -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_api_refuses_what_it_must_with_json_errors(served_app):
    """401 without or with a dead token, 403 on another user's run, 404, 409, 413, 422 with line:col, 400."""
    from pipeline.jobs import submit

    app = served_app()
    api = app.url + "/api/v1"
    _, ana = create_token("ana")
    revoked, old = create_token("ana")
    revoke_token(revoked.id)
    _, bo = create_token("bo")
    theirs = submit(small_spec(), until="pack", created_by="bo")  # queued: no worker here

    for token in (None, old, "bft_" + "x" * 43):
        status, body = call(f"{api}/runs", token=token)
        assert status == 401 and "token" in body["error"] and body["problems"] == [], (token, body)
    assert app.get("/health")[0] == 200, "the only route without a token"

    assert call(f"{api}/runs", token=ana)[1]["runs"][0]["id"] == theirs  # every run is listed, as in the dashboard
    status, body = call(f"{api}/runs/{theirs}/cancel", "POST", b"{}", token=ana)
    assert status == 403 and "belongs to bo" in body["error"]
    assert call(f"{api}/runs/{theirs}/cancel", "POST", b"{}", token=bo)[1]["status"] == "cancelled"
    status, body = call(f"{api}/runs/{theirs}/cancel", "POST", b"{}", token=bo)
    assert status == 409 and "already cancelled" in body["error"]
    assert call(f"{api}/runs/999999", token=ana)[0] == 404
    assert call(f"{api}/runs?limit=0", token=ana)[0] == 400
    assert call(f"{api}/runs?status=done", token=ana)[0] == 400

    status, body = call(f"{api}/validate", "POST", b"x" * 1_200_000, token=ana, content_type="text/plain")
    assert status == 413 and "at most" in body["error"]

    bad = "bed {\n    diameter = 25 mmm;\n}\n"
    for path in ("validate", "runs"):
        status, body = call(f"{api}/{path}", "POST", bad.encode(), token=ana, content_type="text/plain")
        assert status == 422, body
        (problem,) = body["problems"]
        assert (problem["line"], problem["column"]) == (2, 19) and "unknown unit 'mmm'" in problem["message"]
        assert problem["text"].startswith("request.bed:2:19: error:")
    status, body = call(f"{api}/validate", "POST", b"particles { diameter = 30 mm; }", token=ana,
                        content_type="text/plain")
    assert status == 422 and any(p["path"] == "particles.diameter" and p["line"] == 1 for p in body["problems"])
    status, body = call(f"{api}/validate", "POST", small_spec().to_bed().encode(), token=ana,
                        content_type="text/plain")
    assert status == 200 and BedSpec.from_dict(body["spec"]) == small_spec()
    assert call(f"{api}/runs", "POST", b"[1, 2]", token=ana)[0] == 400
    assert call(f"{api}/runs?until=later", "POST", json.dumps({"spec": small_spec().to_dict()}).encode(),
                token=ana)[0] == 400

    status, document = call(f"{api}/openapi.json", token=ana)
    assert status == 200 and document["openapi"].startswith("3.1") and "/api/v1/runs/{id}/cancel" in document["paths"]


@pytest.mark.slow
def test_a_notebook_client_submits_follows_fetches_reports_and_lists_runs(served_app, tmp_path, monkeypatch,
                                                                          bedflow_cmd):
    """Through a real server and worker: a run, a sweep of 3 velocities; then the same verbs of `pipeline` (a run
    cancelled while it runs) and of the CLI with BEDFLOW_URL and BEDFLOW_TOKEN set."""
    from pipeline.runs import run_artifacts

    app = served_app(with_worker=True)
    _, token = create_token("ana")
    client = pipeline.connect(app.url, token)
    assert isinstance(client, Client) and token not in repr(client)

    run_id = client.submit(small_spec(), until="pack")
    states = [update["status"] for update in client.follow(run_id, interval=0.3, timeout=180)]
    assert states[-1] == "succeeded", client.run(run_id)
    document = client.run(run_id)
    assert document["created_by"] == "ana" and document["spec"]["particles"]["count"] == 40
    assert document["completed_stage"] == "pack" and document["provenance"]

    files = client.fetch(run_id, "stl", tmp_path / "stl")
    stored = {a.name: a.sha256 for a in run_artifacts(run_id, "stl")}
    assert sorted(p.name for p in files) == sorted(stored) and "particles.stl" in stored
    assert all(hashlib.sha256(p.read_bytes()).hexdigest() == stored[p.name] for p in files)
    page = client.report(run_id, tmp_path / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and f"<title>bedflow run {run_id}</title>" in page

    sweep = client.submit_sweep(small_spec(), "cfd.inlet_velocity", ["1 mm/s", "2 mm/s", "3 mm/s"], until="pack")
    assert len(sweep.run_ids) == 3
    for member in sweep.run_ids:
        assert list(client.follow(member, interval=0.3, timeout=180))[-1]["status"] == "succeeded"
    frame = client.runs_frame(sweep=sweep.id)
    assert sorted(frame.index) == sorted(sweep.run_ids) and (frame["status"] == "succeeded").all()
    assert sorted(frame["superficial_velocity"].round(6)) == [0.001, 0.002, 0.003]
    assert str(frame["created_at"].dtype).startswith("datetime64")
    assert len(client.runs(limit=2)) == 2 and len(client.runs()) == 4

    # the verbs of `pipeline` itself go to the deployment once the two variables are set
    monkeypatch.setenv("BEDFLOW_URL", app.url)
    monkeypatch.setenv("BEDFLOW_TOKEN", token)
    solving = pipeline.submit(small_spec(**{"cfd.max_iterations": 20000, "cfd.convergence": 1e-12}))
    deadline = time.monotonic() + 120
    while (now := pipeline.status(solving))["status"] != "running":  # its worker packs, meshes, solves: cancel it
        assert now["status"] == "queued" and time.monotonic() < deadline, now
        time.sleep(0.3)
    assert pipeline.cancel(solving)["status"] == "cancelled"
    assert pipeline.watch(solving, timeout=120, show=False)["status"] == "cancelled"
    assert list(pipeline.runs_frame(limit=1).index) == [solving]

    # the CLI too, with the variables (and no local database: the data folder does not exist)
    env = {**os.environ, "BEDFLOW_URL": app.url, "BEDFLOW_TOKEN": token, "BEDFLOW_DATA_DIR": "/nonexistent"}
    listed = subprocess.run([*bedflow_cmd, "runs", "--json", "--status", "succeeded"], capture_output=True,
                            text=True, timeout=120, env=env)
    assert listed.returncode == 0, listed.stderr
    assert sorted(r["id"] for r in json.loads(listed.stdout)) == sorted([run_id, *sweep.run_ids])
    shown = subprocess.run([*bedflow_cmd, "status", str(run_id), "--url", app.url, "--token", token, "--json"],
                           capture_output=True, text=True, timeout=120)
    assert json.loads(shown.stdout)["status"] == "succeeded", shown.stderr
    refused = subprocess.run([*bedflow_cmd, "status", str(run_id), "--url", app.url, "--token", "bft_" + "0" * 43],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "HTTP 401" in refused.stderr and "Traceback" not in refused.stderr


def test_the_client_says_what_is_wrong_before_and_after_a_request():
    with pytest.raises(ApiClientError, match="http"):
        Client("ftp://example.org", "bft_x")
    with pytest.raises(ApiClientError, match="token"):
        Client("http://127.0.0.1:9", "")
    from pipeline.testing import free_port

    with pytest.raises(ApiClientError, match="cannot reach") as info:
        Client(f"http://127.0.0.1:{free_port()}", "bft_" + "x" * 43).status(1)
    assert info.value.status == 0


# -- the dashboard's tokens page ---------------------------------------------------------------------------------
def test_the_tokens_page_creates_shows_once_and_revokes_a_users_own_tokens():
    import panel as pn

    from app.pages.tokens import TokensPage
    from app.session import AppSession
    from pipeline.runs import open_services

    _, others = create_token("bo")
    page = TokensPage(AppSession(open_services(), user="Ana"))
    assert len(page.table.value) == 0 and page.revoke_button.disabled and not page.secret.visible
    page.name_input.value, page.lifetime.value = "laptop <b>", "30 days"
    page.create_button.clicks += 1  # a click
    secret = page.secret.value
    assert page.secret.visible and authenticate(secret) == "ana" and secret not in page.table.value.to_string()
    (row,) = page.table.value.to_dict("records")
    assert row["name"] == "laptop <b>" and row["state"] == "active" and row["expires"] != "never"
    assert list(page.pick.options.values()) == [row["id"]] and not page.revoke_button.disabled
    page.revoke_button.clicks += 1
    assert authenticate(secret) is None and authenticate(others) == "bo"  # only hers
    assert page.table.value.to_dict("records")[0]["state"] == "revoked" and not page.secret.visible
    assert page.revoke_button.disabled
    pn.panel(page).get_root()  # the page lays out

    anonymous = TokensPage(AppSession(open_services(), user=""))
    assert "bedflow token create USER" in anonymous.__panel__().object


@pytest.mark.slow
def test_the_api_works_beside_a_dashboard_with_sign_in(served_app):
    """With password sign-in on the dashboard, the API still answers its tokens only: no redirect to the sign-in
    page, no cookie or form token (XSRF) asked of a script."""
    app = served_app(env={"BEDFLOW_AUTH": "basic", "BEDFLOW_AUTH_PASSWORD": "correct horse battery staple 42",
                          "BEDFLOW_COOKIE_SECRET": "test-cookie-secret-0123456789abcdef"})
    _, token = create_token("ana")
    text = small_spec().to_bed().encode()
    assert call(f"{app.url}/api/v1/validate", "POST", text, token=None, content_type="text/plain")[0] == 401
    status, body = call(f"{app.url}/api/v1/validate", "POST", text, token=token, content_type="text/plain")
    assert status == 200 and body["spec"]["particles"]["count"] == 40
    status, body = call(f"{app.url}/api/v1/runs", "POST", text, token=token, content_type="text/plain")
    assert status == 201 and pipeline.runs.get_run(body["id"]).created_by == "ana"
