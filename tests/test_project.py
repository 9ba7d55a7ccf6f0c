"""The project's own promises: the README's two commands, CI, and pinned environments."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import yaml

from conftest import ROOT


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", text, re.S)
    assert first_block, "README must open with a code block of set-up commands"
    return [line.strip() for line in first_block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_opens_with_the_two_commands():
    assert _readme_commands() == ["make demo", "make test"]


def test_makefile_provides_them_with_setup():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test"):
        match = re.search(rf"^{target}:(.*)$", makefile, re.M)
        assert match, f"Makefile has no '{target}' target"
        assert "setup" in match.group(1), f"'make {target}' must install what is missing first"
    assert re.search(r"^setup:\n\tbash scripts/setup.sh$", makefile, re.M)
    assert "-m pytest" in makefile


def test_ci_runs_the_readme_test_command_with_services_required():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "export BEDFLOW_REQUIRE_SERVICES=1" in ci
    assert re.search(r"^make test$", ci, re.M)


def test_setup_script_installs_system_packages():
    script = (ROOT / "scripts" / "setup.sh").read_text()
    for package in ("openfoam", "libegl1", "libosmesa6", "python3.11-venv"):
        assert package in script


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^;\s]+)", requirement.strip())
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(3)
    return pins


def test_environment_yml_mirrors_every_pin():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    pinned = _pins(requirements)
    assert len(pinned) == len(requirements), "every dependency in pyproject.toml must be pinned with =="
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda = _pins(pip_section)
    missing = {name: version for name, version in pinned.items() if conda.get(name) != version}
    assert not missing, f"environment.yml lacks or mis-pins: {missing}"
    assert "python=3.11" in env["dependencies"]


def test_layout_of_the_design_card():
    for path in ("app", "notebooks", "pipeline", "viz", "tests", "benchmarks", "environment.yml", "Dockerfile",
                 "railway.toml", "pyproject.toml", "Makefile", "README.md", ".ci/run"):
        assert (ROOT / path).exists(), path
    for package in ("pipeline", "viz", "app"):
        __import__(package)


def test_readme_bed_example_is_valid():
    from pipeline import parse_bed

    text = (ROOT / "README.md").read_text()
    block = re.search(r"```c\n(.*?)```", text, re.S)
    assert block
    spec = parse_bed(block.group(1))
    assert spec.name == "small-spheres" and spec.particles.count == 90


def test_no_benchmark_script_shadows_a_standard_module():
    """`python benchmarks/x.py` puts benchmarks/ first on sys.path: a script named like a standard module
    (queue.py did) breaks every import of that module in the other scripts."""
    import sys

    names = {path.stem for path in (ROOT / "benchmarks").glob("*.py")}
    assert names and not names & set(sys.stdlib_module_names)


#: The library's core: what every front end calls. It imports neither the pictures (viz) nor the dashboard (app);
#: the report, the CLI and the doctor (which probes the renderer) sit above viz.
CORE = ("spec", "dsl", "units", "settings", "presets", "packing", "geometry", "contacts", "correlations", "openfoam",
        "cfd", "results", "store", "db", "jobs", "runs", "folder", "workflow", "study", "verification", "limits",
        "text", "errors", "progress", "provenance", "children", "health", "metrics", "logconfig", "tokens", "client",
        "slurm", "plain")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_library_core_imports_neither_viz_nor_app():
    found = []
    for name in CORE:
        module = ROOT / "pipeline" / name
        for path in sorted(module.rglob("*.py")) if module.is_dir() else [module.with_suffix(".py")]:
            found += [f"{path.relative_to(ROOT)}: {imported}" for imported in _imports(path)
                      if imported.split(".")[0] in ("viz", "app")]
    assert found == []


def test_test_servers_live_in_one_testing_module_not_in_the_library():
    assert not (ROOT / "pipeline" / "db" / "scratch.py").exists()
    assert not (ROOT / "pipeline" / "store" / "s3_server.py").exists()
    library = [p for p in (ROOT / "pipeline").rglob("*.py") if p.name != "testing.py"]
    assert [str(p.relative_to(ROOT)) for p in library if "pipeline.testing" in _imports(p)] == []


def test_the_stores_use_only_the_public_api_of_the_sdks():
    """No ``obj._private`` of another object (the minio SDK's ``client._get_region`` and ``client._provider`` were
    used once; a new SDK release may rename them without notice): only ``self``'s own private names."""
    found = []
    for path in sorted((ROOT / "pipeline" / "store").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert found == [], found
