"""Artifact stores: the same tests on LocalStore and on S3Store against a real S3 server (moto's, started here).

The S3 path is the production code: the ``minio`` SDK talking HTTP to an S3-protocol server on
127.0.0.1. (No MinIO binary can be installed on this machine; moto's server stands in for it.)
"""

from __future__ import annotations

import urllib.request

import pytest

from pipeline.settings import Settings
from pipeline.store import LocalStore, StoreError, content_key, open_store, safe_key, safe_name
from pipeline.settings import SettingsError
from pipeline.store.s3 import S3Store
from pipeline.store.s3_server import free_port

ACCESS, SECRET = "bedflow-test", "bedflow-test-secret"


@pytest.fixture
def s3_endpoint(s3_server):
    return s3_server["MINIO_ENDPOINT"]


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    bucket = f"bedflow-{request.node.name.split('[')[0].replace('_', '-')[:40]}".lower()
    return S3Store.connect(request.getfixturevalue("s3_endpoint"), ACCESS, SECRET, bucket, secure=False)


def test_put_get_stat_list_delete(store, tmp_path):
    info = store.put_bytes("runs/1/results.json", b'{"dp": 1}', "application/json")
    assert info.size == 9 and len(info.sha256) == 64 and info.content_type == "application/json"
    assert store.get_bytes("runs/1/results.json") == b'{"dp": 1}'
    assert store.stat("runs/1/results.json") == info
    store.put_bytes("runs/1/log.simpleFoam", b"Time = 1\n")
    store.put_bytes("runs/2/results.json", b"{}")
    assert [o.key for o in store.list("runs/1/")] == ["runs/1/log.simpleFoam", "runs/1/results.json"]
    store.delete("runs/1/results.json")
    assert store.stat("runs/1/results.json") is None and not store.exists("runs/1/results.json")
    with pytest.raises(StoreError, match="no object"):
        store.get_file("runs/1/results.json", tmp_path / "x")


def test_files_round_trip_and_content_addressing(store, tmp_path):
    big = tmp_path / "case.tar.gz"
    big.write_bytes(bytes(range(256)) * 40_000)  # 10 MB
    first = store.put_content(big, "application/gzip")
    assert first.key == content_key(first.sha256) and first.key.startswith("sha256/")
    again = store.put_content(big)
    assert again == first  # stored once
    out = store.get_file(first.key, tmp_path / "back" / "case.tar.gz")
    assert out.read_bytes() == big.read_bytes()


def test_download_detects_corruption(store, tmp_path):
    store.put_bytes("a/blob", b"original")
    if isinstance(store, LocalStore):
        (store.root / "a" / "blob").write_bytes(b"tampered")
    else:  # overwrite behind the store's back, keeping the old checksum metadata
        import io

        old = store.stat("a/blob")
        store.client.put_object(store.bucket, "a/blob", io.BytesIO(b"tampered"), 8, metadata={"sha256": old.sha256})
    with pytest.raises(StoreError, match="checksum mismatch"):
        store.get_bytes("a/blob")


def test_download_url(store):
    store.put_bytes("reports/r.html", b"<html>ok</html>", "text/html")
    url = store.url("reports/r.html")
    with urllib.request.urlopen(url, timeout=10) as response:  # a presigned URL, or file://
        assert response.read() == b"<html>ok</html>"


def test_download_links_use_the_public_address_when_browsers_reach_the_store_elsewhere(s3_endpoint, monkeypatch):
    """MINIO_ENDPOINT is the private name workers use (here 127.0.0.1:PORT); MINIO_PUBLIC_URL is what a
    browser reaches (here localhost:PORT): links name the public address, are signed for it, and work."""
    port = s3_endpoint.rsplit(":", 1)[1]
    for name, value in {"BEDFLOW_STORE": "s3://public-links", "MINIO_ENDPOINT": s3_endpoint, "MINIO_ACCESS_KEY": ACCESS,
                        "MINIO_SECRET_KEY": SECRET, "MINIO_SECURE": "0",
                        "MINIO_PUBLIC_URL": f"http://localhost:{port}/"}.items():
        monkeypatch.setenv(name, value)
    from pipeline.store import open_store

    store = open_store()
    store.put_bytes("reports/p.html", b"public", "text/html")
    url = store.url("reports/p.html")
    assert url.startswith(f"http://localhost:{port}/public-links/reports/p.html?") and "X-Amz-Signature" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"public"
    monkeypatch.setenv("MINIO_PUBLIC_URL", "localhost:9000")
    with pytest.raises(SettingsError, match="MINIO_PUBLIC_URL"):
        open_store()


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/key", "a//b", "a/./b", "a\\b", "", "a/b c"])
def test_unsafe_keys_are_refused(key):
    with pytest.raises(StoreError, match="unsafe store key"):
        safe_key(key)
    assert safe_key("runs/42/case.tar.gz") == "runs/42/case.tar.gz"
    assert safe_name("../My bed: v2") == "_My_bed__v2"


def test_unreachable_s3_is_a_clear_error():
    with pytest.raises(StoreError, match="unreachable"):
        S3Store.connect(f"127.0.0.1:{free_port()}", ACCESS, SECRET, "nobucket", secure=False, timeout=1.0)


def test_open_store_follows_the_settings(tmp_path, s3_endpoint):
    local = open_store(Settings.from_env({"BEDFLOW_DATA_DIR": str(tmp_path)}, dotenv=None))
    assert isinstance(local, LocalStore) and local.root == (tmp_path / "store").resolve()
    remote = open_store(Settings.from_env({
        "BEDFLOW_STORE": "s3://bedflow-settings", "MINIO_ENDPOINT": s3_endpoint, "MINIO_ACCESS_KEY": ACCESS,
        "MINIO_SECRET_KEY": SECRET, "MINIO_SECURE": "0"}, dotenv=None))
    assert isinstance(remote, S3Store) and remote.bucket == "bedflow-settings"
    remote.put_bytes("x", b"1")
    assert [o.key for o in remote.list()] == ["x"]


def test_archives_are_reproducible_and_extract_safely(tmp_path):
    import io
    import tarfile
    import time

    from pipeline.store.archive import archive_folder, archive_names, extract_archive

    case = tmp_path / "case"
    (case / "constant" / "polyMesh").mkdir(parents=True)
    (case / "constant" / "polyMesh" / "points").write_text("(0 0 0)\n" * 1000)
    (case / "Allrun").write_text("#!/bin/sh\n")
    (case / "Allrun").chmod(0o755)
    (case / "processor0").mkdir()
    (case / "processor0" / "junk").write_text("x")
    first = archive_folder(case, tmp_path / "one" / "case.tar.gz", exclude=("processor*",))
    time.sleep(1.1)
    (case / "Allrun").touch()  # a newer time must not change the bytes
    second = archive_folder(case, tmp_path / "two" / "other-name.tar.gz", exclude=("processor*",))
    assert first.read_bytes() == second.read_bytes()  # same files → same checksum → stored once
    assert archive_names(first) == ["Allrun", "constant/polyMesh/points"]
    out = extract_archive(first, tmp_path / "out")
    assert (out / "constant/polyMesh/points").read_text() == (case / "constant/polyMesh/points").read_text()
    assert (out / "Allrun").stat().st_mode & 0o100

    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(StoreError, match="cannot unpack"):
        extract_archive(evil, tmp_path / "victim")
    assert not (tmp_path / "escaped").exists()
