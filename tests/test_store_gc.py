"""``bedflow store gc`` (``pipeline.db.records.collect_orphans``) on the embedded deployment: a real SQLite
database and a real local store. Objects no row names are deleted once old enough; named or young ones stay.
(S3 objects are collected in ``test_worker_kills.py``.)"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from store_audit import audit

from pipeline import BedSpec
from pipeline.db.records import collect_orphans
from pipeline.runs import create_run, open_services, run_artifacts

DAY = 24 * 3600


def age(store_root: Path, key: str, seconds: float) -> None:
    """Make an object of the local store look ``seconds`` old."""
    then = time.time() - seconds
    os.utime(store_root / key, (then, then))


def test_objects_no_row_names_are_collected_once_old_enough(tmp_path, bedflow_cmd):
    found = open_services()
    run_id = create_run(BedSpec.from_dict({"name": "gc", "particles": {"count": 10, "seed": 1}}), until="pack")
    named = run_artifacts(run_id)[0].key  # the run's .bed file
    leftover = tmp_path / "leftover.npz"
    leftover.write_bytes(b"uploaded by a worker that died before its row")
    orphan = found.store.put_content(leftover).key
    young = tmp_path / "young.npz"
    young.write_bytes(b"uploaded a moment ago; its row is on its way")
    recent = found.store.put_content(young).key
    root = found.settings.store_path
    for key in (named, orphan):
        age(root, key, 2 * DAY)

    assert collect_orphans(found.db, found.store, older_than=3 * DAY) == []
    listed = subprocess.run([*bedflow_cmd, "store", "gc", "--dry-run", "--json"], env=os.environ.copy(),
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert [o["key"] for o in json.loads(listed.stdout)] == [orphan]
    assert found.store.exists(orphan)  # a dry run deletes nothing

    assert [o.key for o in collect_orphans(found.db, found.store)] == [orphan]
    assert not found.store.exists(orphan) and found.store.exists(named) and found.store.exists(recent)
    checked = audit(found)
    assert checked.problems() == {"missing": [], "wrong": []} and checked.orphans == [recent]
