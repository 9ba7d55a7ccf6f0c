"""Artifact stores: the same tests on LocalStore and on S3Store against two real S3-protocol servers started
here, moto's (an emulator) and SeaweedFS (an object store, ``weed mini``).

The S3 path is the production code: the ``minio`` SDK talking HTTP to an S3-protocol server on 127.0.0.1. (No
MinIO binary can be installed on this machine; these two stand in for it.) Where the servers differ: SeaweedFS
checks signatures and expiry (moto checks none), lists in its directory tree's order (the store sorts), and stores
a content type guessed from the key's extension when it is sent ``application/octet-stream``.
"""

from __future__ import annotations

import os
import urllib.request

import pytest

from pipeline.settings import Settings
from pipeline.store import LocalStore, StoreError, content_key, open_store, safe_key, safe_name
from pipeline.settings import SettingsError
from pipeline.store.s3 import S3Store
from pipeline.testing import free_port

ACCESS, SECRET = "bedflow-test", "bedflow-test-secret"


def _bucket(request: pytest.FixtureRequest) -> str:
    return f"bedflow-{request.node.name.split('[')[0].replace('_', '-')[:40]}".lower()


def connect(server: dict[str, str], bucket: str, **options) -> S3Store:
    """A store on ``server`` (its MINIO_* settings) with its keys."""
    return S3Store.connect(server["MINIO_ENDPOINT"], server["MINIO_ACCESS_KEY"], server["MINIO_SECRET_KEY"], bucket,
                           secure=False, **options)


@pytest.fixture(params=["local", "moto", "seaweedfs"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    server = request.getfixturevalue("s3_server" if request.param == "moto" else "seaweedfs_server")
    return connect(server, _bucket(request))


def test_put_get_stat_list_delete(store, tmp_path):
    info = store.put_bytes("runs/1/results.json", b'{"dp": 1}', "application/json")
    assert info.size == 9 and len(info.sha256) == 64 and info.content_type == "application/json"
    assert store.get_bytes("runs/1/results.json") == b'{"dp": 1}'
    assert store.stat("runs/1/results.json") == info
    store.put_bytes("runs/1/log.simpleFoam", b"Time = 1\n")
    store.put_bytes("runs/2/results.json", b"{}")
    assert [o.key for o in store.list("runs/1/")] == ["runs/1/log.simpleFoam", "runs/1/results.json"]
    for key in ("runs/1-b/x", "runs/1.a", "runs/1/a/deep"):  # "/" sorts after "-" and ".": every store, one order
        store.put_bytes(key, b"")
    assert [o.key for o in store.list("runs/1")] == sorted(o.key for o in store.list("runs/1"))
    assert [o.key for o in store.list("runs/1")][:2] == ["runs/1-b/x", "runs/1.a"]
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


def test_a_signature_the_server_checks_refuses_wrong_keys_and_tampered_or_expired_links(seaweedfs_server):
    """SeaweedFS checks what MinIO checks and moto does not: the secret, and a download link's signature and
    expiry."""
    import time
    import urllib.error

    with pytest.raises(StoreError, match="AccessDenied|SignatureDoesNotMatch|InvalidAccessKeyId"):
        connect({**seaweedfs_server, "MINIO_SECRET_KEY": "not-the-secret"}, "bedflow-wrong-secret")
    store = connect(seaweedfs_server, "bedflow-signed-links")
    store.put_bytes("reports/r.html", b"<html>ok</html>", "text/html")
    tampered = store.url("reports/r.html").replace("reports/r.html", "reports/r.htmx")
    expiring = store.url("reports/r.html", expires_seconds=1)
    time.sleep(2.0)
    for url in (tampered, expiring):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 403
    with urllib.request.urlopen(store.url("reports/r.html"), timeout=10) as response:  # a fresh link works
        assert response.read() == b"<html>ok</html>"


@pytest.mark.parametrize("server", ["moto", "seaweedfs"])
def test_download_links_use_the_public_address_when_browsers_reach_the_store_elsewhere(server, request,
                                                                                     monkeypatch):
    """MINIO_ENDPOINT is the private name workers use (here 127.0.0.1:PORT); MINIO_PUBLIC_URL is what a
    browser reaches (here localhost:PORT): links name the public address, are signed for it, and work."""
    settings = request.getfixturevalue("s3_server" if server == "moto" else "seaweedfs_server")
    port = settings["MINIO_ENDPOINT"].rsplit(":", 1)[1]
    for name, value in {**settings, "BEDFLOW_STORE": "s3://public-links",
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


def test_open_store_follows_the_settings(tmp_path, s3_server):
    local = open_store(Settings.from_env({"BEDFLOW_DATA_DIR": str(tmp_path)}, dotenv=None))
    assert isinstance(local, LocalStore) and local.root == (tmp_path / "store").resolve()
    remote = open_store(Settings.from_env({**s3_server, "BEDFLOW_STORE": "s3://bedflow-settings"}, dotenv=None))
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


def _hammer(root: str, source: str, role: str, seconds: float, start, results) -> None:  # noqa: ANN001
    """One process of the test below: write (``put_file`` under the content key) or read (``stat``, then
    ``get_file`` and ``get_bytes``) the same content-addressed key for ``seconds``; report what it saw."""
    import time
    from pathlib import Path

    from pipeline.store import LocalStore, StoreError, content_key, sha256_file

    store = LocalStore(root)
    path = Path(source)
    expected = path.read_bytes()
    key = content_key(sha256_file(path))
    seen = {"absent": 0, "verified": 0, "written": 0}
    errors: list[str] = []
    start.wait()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(errors) < 5:
        try:
            if role == "writer":
                store.put_file(key, path)
                seen["written"] += 1
            elif store.stat(key) is None:
                seen["absent"] += 1
            else:
                copy = store.get_file(key, Path(root).parent / f"copy-{os.getpid()}")
                data = store.get_bytes(key)
                if copy.read_bytes() == expected and data == expected:
                    seen["verified"] += 1
                else:
                    errors.append("a reader got other bytes than were stored")
        except StoreError as error:
            if "no object" in str(error):
                seen["absent"] += 1
            else:
                errors.append(f"{role}: StoreError: {error}")
        except Exception as error:  # noqa: BLE001 - what the test is looking for
            errors.append(f"{role}: {type(error).__name__}: {error}")
    results.put((role, seen, errors))


def test_processes_writing_and_reading_one_key_at_once_see_no_object_or_a_verified_one(tmp_path):
    """Three processes store the same content under its content key over and over while three others read it:
    no reader ever sees a half-written object or its metadata (no JSONDecodeError, no checksum mismatch)."""
    import multiprocessing

    source = tmp_path / "packing.npz"
    source.write_bytes(os.urandom(64 * 1024))
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    roles = ["writer", "reader"] * 3
    processes = [context.Process(target=_hammer, args=(str(tmp_path / "store"), str(source), role, 2.0, start, results))
                 for role in roles]
    for process in processes:
        process.start()
    start.set()
    reports = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    errors = [error for _, _, found in reports for error in found]
    assert errors == [], errors
    assert sum(seen["written"] for role, seen, _ in reports if role == "writer") > 10
    assert sum(seen["verified"] for role, seen, _ in reports if role == "reader") > 10
    assert [p.exitcode for p in processes] == [0] * len(processes)
    leftovers = [p.name for p in (tmp_path / "store").rglob("*") if p.name.endswith(".partial")]
    assert leftovers == []


def test_a_failed_download_leaves_the_destination_as_it_was(store, tmp_path):
    """The object changed behind the store's back: the download fails its checksum, and the copy already at the
    destination is neither removed nor replaced by the bad bytes (downloads are renamed into place once verified)."""
    store.put_bytes("a/blob", b"original")
    destination = tmp_path / "got" / "blob"
    store.get_file("a/blob", destination)
    if isinstance(store, LocalStore):
        (store.root / "a" / "blob").write_bytes(b"tampered")
    else:
        import io

        store.client.put_object(store.bucket, "a/blob", io.BytesIO(b"tampered"), 8,
                                metadata={"sha256": store.stat("a/blob").sha256})
    with pytest.raises(StoreError, match="checksum mismatch"):
        store.get_file("a/blob", destination)
    assert destination.read_bytes() == b"original"
    assert sorted(p.name for p in destination.parent.iterdir()) == ["blob"]  # no partial file left


def test_an_interrupted_extraction_leaves_the_folder_as_it_was(tmp_path):
    """An archive cut short (a half download) fails to unpack: the folder keeps its old contents, with nothing of the
    new archive mixed in and no half-unpacked folder beside it; a complete archive then replaces it whole."""
    from pipeline.store.archive import archive_folder, extract_archive

    case = tmp_path / "case"
    (case / "constant").mkdir(parents=True)
    for index in range(40):
        (case / "constant" / f"part{index:02d}").write_bytes(os.urandom(20_000))
    archive = archive_folder(case, tmp_path / "case.tar.gz")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    target = tmp_path / "run" / "case"
    target.mkdir(parents=True)
    (target / "old").write_text("previous case")
    with pytest.raises(StoreError, match="cannot unpack"):
        extract_archive(cut, target)
    assert [p.name for p in target.iterdir()] == ["old"]
    assert [p.name for p in target.parent.iterdir()] == ["case"]
    extract_archive(archive, target)
    assert not (target / "old").exists() and len(list((target / "constant").iterdir())) == 40
    assert [p.name for p in target.parent.iterdir()] == ["case"]


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/passwd", "", ".", "a\\b", "link", "link/x"])
def test_safe_join_refuses_names_leading_outside_the_folder(tmp_path, name):
    from pipeline.store import UnsafePathError, safe_join

    folder = tmp_path / "target"
    folder.mkdir()
    (tmp_path / "outside").mkdir()
    (folder / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(UnsafePathError, match="refusing the file name"):
        safe_join(folder, name)
    assert safe_join(folder, "sub/results.json") == folder.resolve() / "sub" / "results.json"
    (folder / "inner").symlink_to(folder / "sub", target_is_directory=True)
    assert safe_join(folder, "inner/x") == folder.resolve() / "inner" / "x"  # a link that stays inside is fine
