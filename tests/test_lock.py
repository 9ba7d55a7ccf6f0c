"""The lock files (requirements/*.txt): every package pinned with hashes, in step with pyproject.toml's pins and
with the environment the tests run in; `make lock` re-resolves them to the same text (no drift)."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, require_services

LOCKS = {"runtime": (), "dev": ("test", "lab")}  # lock name -> the EXTRAS it is for (scripts/setup.sh)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s\\;]+)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str) -> dict[str, tuple[str, list[str]]]:
    """``{name: (version, [sha256, ...])}`` of a lock file written by ``uv pip compile --generate-hashes``."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        if match := PIN.match(line):
            current = normalise(match[1])
            assert current not in entries, f"{current} pinned twice"
            entries[current] = (match[2], [])
        elif line.strip().startswith("--hash=sha256:"):
            assert current, f"a hash before any pin: {line}"
            entries[current][1].append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
        elif line.strip() and not line.lstrip().startswith("#"):
            pytest.fail(f"a line that is neither a pin, a hash nor a comment: {line!r}")
    return entries


def lock(name: str) -> dict[str, tuple[str, list[str]]]:
    return parse_lock((ROOT / "requirements" / f"{name}.txt").read_text())


def pyproject_pins(extras: tuple[str, ...]) -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for extra in extras for r in project["optional-dependencies"][extra]]
    pins = {}
    for requirement in requirements:
        match = PIN.match(requirement)
        assert match, f"pyproject.toml pins every dependency with ==: {requirement}"
        pins[normalise(match[1])] = match[2]
    return pins


def test_parse_lock_reads_pins_and_hashes_and_refuses_a_bare_requirement():
    text = "# header\nabc-def==1.2 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n    # via x\nG_h==3\n"
    assert parse_lock(text) == {"abc-def": ("1.2", ["aa", "bb"]), "g-h": ("3", [])}
    with pytest.raises(pytest.fail.Exception, match="neither a pin"):
        parse_lock("numpy>=1\n")


@pytest.mark.parametrize("name", LOCKS)
def test_every_package_of_a_lock_is_pinned_with_hashes(name):
    entries = lock(name)
    assert len(entries) > 50
    unhashed = [package for package, (_, hashes) in entries.items() if not hashes]
    assert not unhashed, f"requirements/{name}.txt: no hashes for {unhashed}"
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for _, hashes in entries.values() for digest in hashes)
    assert {"setuptools", "wheel"} <= set(entries), "the project step builds with locked tools (build.in)"


@pytest.mark.parametrize("name", LOCKS)
def test_every_pin_of_pyproject_is_in_its_lock_at_the_same_version(name):
    entries = lock(name)
    differ = {package: (version, entries.get(package, ("missing",))[0])
              for package, version in pyproject_pins(LOCKS[name]).items()
              if entries.get(package, ("missing",))[0] != version}
    assert not differ, f"requirements/{name}.txt differs from pyproject.toml (pin, lock): {differ}; run: make lock"


def test_the_runtime_lock_carries_no_test_or_notebook_packages():
    runtime = set(lock("runtime"))
    assert not {"pytest", "jupyterlab", "ipykernel", "playwright", "moto", "uv"} & runtime
    assert set(runtime) < set(lock("dev")), "the dev lock is the runtime's plus the extras"
    shared = {package: version for package, (version, _) in lock("runtime").items()}
    dev = {package: version for package, (version, _) in lock("dev").items()}
    assert {p: (v, dev[p]) for p, v in shared.items() if dev[p] != v} == {}, "the image runs what the tests test"


def test_the_environment_the_tests_run_in_is_the_dev_lock():
    """`make setup` installed exactly requirements/dev.txt: every locked package at its locked version."""
    installed = {normalise(dist.metadata["Name"]): dist.version for dist in importlib.metadata.distributions()}
    differ = {package: (version, installed.get(package, "not installed"))
              for package, (version, _) in lock("dev").items() if installed.get(package) != version}
    assert not differ, f"installed packages differ from requirements/dev.txt (lock, installed): {differ}"


def test_the_locks_are_what_pyproject_resolves_to():
    """Drift: re-resolve with the same inputs (releases after the lock's date ignored) and compare, byte for
    byte. Needs PyPI, as the set-up does."""
    try:
        urllib.request.urlopen("https://pypi.org/simple/uv/", timeout=20).close()
    except OSError as error:
        if require_services():
            pytest.fail(f"PyPI is not reachable ({error}); CI installs from it")
        pytest.skip(f"PyPI is not reachable ({error})")
    env = {**os.environ, "UV": str(Path(sys.executable).with_name("uv"))}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "lock.sh"), "--check"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_lock_check_fails_on_a_lock_that_drifted(tmp_path):
    """The drift check can fail: a copy of the repository's lock inputs with one pin changed does not match."""
    for path in ("scripts/lock.sh", "pyproject.toml", "requirements/build.in", "requirements/runtime.txt",
                 "requirements/dev.txt"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text((ROOT / path).read_text())
    dev = tmp_path / "requirements" / "dev.txt"
    dev.write_text(dev.read_text().replace("\nrich==", "\n# drifted\nrich==", 1))
    env = {**os.environ, "UV": str(Path(sys.executable).with_name("uv"))}
    result = subprocess.run(["bash", str(tmp_path / "scripts" / "lock.sh"), "--check"], env=env,
                            capture_output=True, text=True, timeout=300)
    if "Failed to fetch" in result.stderr or "failed to connect" in result.stderr.lower():
        pytest.skip("PyPI is not reachable") if not require_services() else pytest.fail(result.stderr)
    assert result.returncode == 1 and "+rich==" not in result.stdout and "-# drifted" in result.stdout
    assert "requirements/dev.txt is not what pyproject.toml resolves to; run: make lock" in result.stderr
