"""``GET /artifacts/<id>`` (:mod:`app.downloads`): a run's files streamed from the store to a signed-in browser,
never whole in memory nor through the websocket; a corrupted object fails the transfer; an S3 store redirects to
a presigned link. Real ``bedflow serve`` processes, a real S3 server (moto's)."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
from pathlib import Path

import pytest
from conftest import Browser

from app.downloads import content_disposition
from pipeline import BedSpec
from pipeline.db.records import add_artifacts, upload
from pipeline.runs import create_run, open_services, run_artifacts

pytestmark = pytest.mark.slow

COOKIE_SECRET = "test-cookie-secret-0123456789abcdef"
PASSWORD = "correct horse battery staple"
BIG = 64 * 1024 * 1024


def peak_rss(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def recorded_file(tmp_path: Path, size: int, name: str = "case.tar.gz") -> tuple[int, int, str]:
    """A queued run with one more artifact of ``size`` random bytes: (run id, artifact id, sha256)."""
    services = open_services()
    run_id = create_run(BedSpec(name="downloads"), until="pack", services=services)
    path = tmp_path / name
    with open(path, "wb") as handle:
        for _ in range(size // (1 << 20)):
            handle.write(os.urandom(1 << 20))
    uploaded = upload(services.store, "case", path, name=name)
    with services.db.session() as session:
        add_artifacts(session, "simulation", run_id, [uploaded])
    artifact = next(a for a in run_artifacts(run_id, "case", services=services))
    return run_id, artifact.id, hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_large_file_is_streamed_with_bounded_memory_and_a_corrupted_one_fails(served_app, tmp_path):
    run_id, artifact_id, sha = recorded_file(tmp_path, BIG)
    _, small_id, _ = recorded_file(tmp_path, 1 << 20, name="small.bin")
    served = served_app()
    client = Browser(served.url)
    assert client.request(f"/artifacts/{small_id}", binary=True)[0] == 200  # the route's first use imports things
    before = peak_rss(served.process.pid)
    status, headers, body = client.request(f"/artifacts/{artifact_id}", binary=True)
    grown = peak_rss(served.process.pid) - before
    headers = dict(headers)
    assert status == 200 and len(body) == BIG and hashlib.sha256(body).hexdigest() == sha
    assert headers["Content-Type"] == "application/octet-stream" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"].startswith('attachment; filename="case.tar.gz"')
    print(f"\n{BIG / 2**20:.0f} MiB served; the server's peak memory grew by {grown / 2**20:.1f} MiB")
    assert grown < BIG / 4, f"the server held the file in memory (+{grown / 2**20:.0f} MiB)"

    assert client.request("/artifacts/999999")[0] == 404
    assert client.request(f"/artifacts/{'9' * 31}")[0] == 404  # no route for a 31-digit id, no traceback

    stored = open_services().store.root / next(a.key for a in run_artifacts(run_id, "case"))
    data = bytearray(stored.read_bytes())
    data[-10] ^= 0xFF  # the object on disk no longer matches its checksum
    stored.write_bytes(bytes(data))
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
    connection.request("GET", f"/artifacts/{artifact_id}")
    response = connection.getresponse()
    assert response.status == 200  # the headers went out before the last chunk showed the mismatch
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    assert "checksum mismatch" in served.log() and "Traceback" not in served.log()


def test_downloads_need_sign_in_and_the_allow_list(served_app, tmp_path):
    _, artifact_id, sha = recorded_file(tmp_path, 2 << 20, name="résumé ünïcode \"quoted\".bin")
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"ana": PASSWORD, "rui": PASSWORD + " too"}))
    served = served_app(env={"BEDFLOW_AUTH": "basic", "BEDFLOW_AUTH_PASSWORD": str(users),
                             "BEDFLOW_COOKIE_SECRET": COOKIE_SECRET, "BEDFLOW_ALLOWED_USERS": "ana"})
    status, headers, _ = Browser(served.url).request(f"/artifacts/{artifact_id}")
    assert status == 302 and "/login" in dict(headers)["Location"]
    rui = Browser(served.url)
    assert rui.sign_in("rui", PASSWORD + " too")[0] == 302
    assert rui.request(f"/artifacts/{artifact_id}")[0] == 403  # signed in, but not on the allow-list
    ana = Browser(served.url)
    assert ana.sign_in("ana", PASSWORD)[0] == 302
    status, headers, body = ana.request(f"/artifacts/{artifact_id}", binary=True)
    assert status == 200 and hashlib.sha256(body).hexdigest() == sha
    disposition = dict(headers)["Content-Disposition"]
    assert disposition == content_disposition('résumé ünïcode "quoted".bin')
    assert '"quoted"' not in disposition and "\r" not in disposition and "%C3%A9" in disposition


def test_an_s3_store_answers_with_a_presigned_link(served_app, any_s3_server, tmp_path, monkeypatch):
    bucket = f"downloads-{os.getpid()}"
    env = {**any_s3_server, "BEDFLOW_STORE": f"s3://{bucket}"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _, artifact_id, sha = recorded_file(tmp_path, 1 << 20)
    served = served_app(env=env)
    status, headers, _ = Browser(served.url).request(f"/artifacts/{artifact_id}")
    location = dict(headers)["Location"]
    assert status == 302 and "X-Amz-Signature=" in location and f"/{bucket}/" in location
    import urllib.request

    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(location, timeout=30) as response:
        assert hashlib.sha256(response.read()).hexdigest() == sha


def test_content_disposition_is_safe_for_any_name():
    assert content_disposition("mesh.tar.gz") == "attachment; filename=\"mesh.tar.gz\"; filename*=UTF-8''mesh.tar.gz"
    evil = content_disposition('a"; filename="evil.html\r\nSet-Cookie: x=1')
    assert "\r" not in evil and "\n" not in evil and evil.count('"') == 2
