"""Shared fixtures.

``BEDFLOW_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns a missing service
(PostgreSQL, Redis) into a failure instead of a skip.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def require_services() -> bool:
    return os.environ.get("BEDFLOW_REQUIRE_SERVICES", "") not in ("", "0")


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
    """Keep every test's embedded database, store and queue in its own folder."""
    monkeypatch.setenv("BEDFLOW_DATA_DIR", str(tmp_path / "data"))
    for name in ("DATABASE_URL", "BEDFLOW_STORE", "BEDFLOW_QUEUE"):
        monkeypatch.delenv(name, raising=False)
