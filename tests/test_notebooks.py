"""The research notebooks in ``notebooks/``: committed without outputs, and they run (in their small sizes).

The slow tests execute each notebook with papermill, as a researcher would (``-p SMALL True`` through the
notebook's ``parameters`` cell), in a kernel that runs this virtualenv's Python (a ``python3`` kernelspec written
to a temporary ``JUPYTER_PATH``) and the test's own ``BEDFLOW_DATA_DIR`` (set by ``conftest.py``). A check cell
appended to the executed copy asserts each notebook's key result in the kernel itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 300  # seconds per cell (a full SMALL notebook takes well under a minute)

EXPECTED = ["01_quickstart", "02_velocity_sweep", "03_packing_study", "04_mesh_study", "05_validation", "06_remote"]
#: Notebooks that run in the kernel alone; 06_remote needs workers (it runs against a served bedflow below).
INLINE = EXPECTED[:5]

# Appended to the executed copy: runs in the notebook's namespace after its last cell.
CHECKS = {
    "01_quickstart": """
assert "native" in packings and abs(packings["native"].porosity() - expected) < 0.05, packing_table
assert result.run_id is not None and result.dp_dz > 0 and np.isfinite(result.dp_dz)
assert set(validation["correlation"]) >= {"ergun", "eisfeld_schnitzlein"}
assert (validation["CFD / correlation"] > 0).all()
assert pipeline.runs.get_run(result.run_id).status.value == "succeeded"
""",
    "02_velocity_sweep": """
assert len(values) == 3, values
assert len(frame) == 3 and (frame["status"] == "succeeded").all(), frame
assert (frame["dp_dz"] > 0).all() and frame["dp_dz"].is_monotonic_increasing, frame["dp_dz"]
assert frame["cells"].nunique() == 1, frame["cells"]  # one mesh reused for every velocity
""",
    "03_packing_study": """
assert len(study) == len(ratios) >= 3
assert (study["core porosity"] - study["Benyahia–O'Neill"]).abs().max() < 0.05, study
""",
    "04_mesh_study": """
assert summary["resolutions"] == [5, 6, 8]
assert summary["cells"] == sorted(summary["cells"]) and len(set(summary["cells"])) == 3
assert all(v > 0 for v in summary["dp_dz"]) and np.isfinite(summary["dp_dz_extrapolated"])
recorded = pipeline.runs.list_runs(sweep=study.sweep_id)
assert sorted(r.id for r in recorded) == sorted(summary["run_ids"]) and len(recorded) == 3
""",
    "06_remote": """
assert where is not None and where.url.startswith("http://127.0.0.1:"), "the runs went to the served bedflow"
assert len(values) == 2 and sorted(frame.index) == sorted(sweep.run_ids), frame
assert (frame["status"] == "succeeded").all() and (frame["dp_dz"] > 0).all() and frame["cells"].nunique() == 1
assert {path.name for path in files} >= {"particles.stl", "wall.stl"} and all(path.stat().st_size for path in files)
assert report.read_text().startswith("<!DOCTYPE html>")
""",
    "05_validation": """
assert len(cases) == 4 and (cases["Δp/L (Pa/m)"] > 0).all(), cases
(entry,) = summary
assert entry["seeds"] == 2 and entry["uncertainty"] > 0 and set(entry["treatments"]) == {"bridge", "gap"}
assert curves, "no radial porosity profile"
assert flows and all(0 < row["near_wall_area_share"] < row["near_wall_flow_share"] < 1 for row in data["cases"])
assert all(0 < row["wall_share"] < row["wall_share_reichelt"] for row in data["cases"])
sweep = pipeline.runs.get_run(rows[0].run_id).sweep_id
assert sweep and sorted(r.id for r in pipeline.runs.list_runs(sweep=sweep)) == sorted(r.run_id for r in rows)
assert rows[3].porosity_solved > rows[0].porosity_nominal > rows[0].porosity_solved  # gap vs bridge
""",
}


def notebook_files() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_expected_notebooks_exist() -> None:
    assert [p.stem for p in notebook_files()] == EXPECTED


@pytest.mark.parametrize("path", notebook_files(), ids=lambda p: p.stem)
def test_notebook_outputs_are_stripped(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    for index, cell in enumerate(book.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {index} has outputs"
            assert cell.execution_count is None, f"{path.name} cell {index} has an execution count"


@pytest.mark.parametrize("path", notebook_files(), ids=lambda p: p.stem)
def test_notebook_opens_with_parameters_then_one_setup_call(path: Path) -> None:
    """papermill's convention: the first code cell is tagged ``parameters`` and only assigns (``SMALL = False``
    first); the second sets the kernel up with one call, ``viz.notebook.setup``, and no environment switch."""
    import ast

    code = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    parameters, setup = code[0], code[1]
    assert parameters.metadata.get("tags") == ["parameters"]
    statements = ast.parse(parameters.source).body
    assert statements and all(isinstance(s, ast.Assign) and len(s.targets) == 1 for s in statements)
    assert ast.unparse(statements[0]) == "SMALL = False", "full sizes by default; the tests pass SMALL=True"
    assert f'viz.notebook.setup("{path.stem}", small=SMALL)' in setup.source
    calls = [node for node in ast.walk(ast.parse(setup.source)) if isinstance(node, ast.Call)]
    assert len(calls) == 1, "the set-up cell is imports and one call"
    assert not any("os.environ" in cell.source or "Settings.from_env" in cell.source for cell in code)


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A ``python3`` kernelspec running this interpreter, found first through ``JUPYTER_PATH``."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (bedflow venv)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return "python3"


@pytest.mark.slow
@pytest.mark.parametrize("name", INLINE)
def test_notebook_runs_small(name: str, venv_kernel: str, tmp_path: Path) -> None:
    run_small(name, venv_kernel, tmp_path)


@pytest.mark.slow
def test_the_remote_notebook_runs_unchanged_against_a_served_bedflow(venv_kernel: str, tmp_path: Path,
                                                                      served_app, monkeypatch) -> None:
    """06_remote with BEDFLOW_URL and BEDFLOW_TOKEN set (the kernel inherits them): its sweep goes through the JSON
    API of a real `bedflow serve` to the real `bedflow worker` beside it."""
    from pipeline.tokens import create_token

    app = served_app(with_worker=True, workers=2)
    _, token = create_token("notebook-user")
    monkeypatch.setenv("BEDFLOW_URL", app.url)
    monkeypatch.setenv("BEDFLOW_TOKEN", token)
    run_small("06_remote", venv_kernel, tmp_path)
    from pipeline.runs import list_runs

    assert {run.created_by for run in list_runs()} == {"notebook-user"}


def run_small(name: str, venv_kernel: str, tmp_path: Path) -> None:
    """Execute a notebook with papermill at ``SMALL = True`` and its check cell appended."""
    import papermill

    book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    check = f"import sys\nassert sys.executable == {sys.executable!r}, sys.executable\nassert SMALL is True\n"
    book.cells.append(nbformat.v4.new_code_cell(check + CHECKS[name]))
    source, executed = tmp_path / f"{name}.ipynb", tmp_path / f"{name}.executed.ipynb"
    nbformat.write(book, source)
    # Raises PapermillExecutionError (with the traceback) on any failing cell; the executed copy stays for reading.
    papermill.execute_notebook(str(source), str(executed), parameters={"SMALL": True}, kernel_name=venv_kernel,
                               cwd=str(NOTEBOOKS), execution_timeout=CELL_TIMEOUT, progress_bar=False)
    cells = nbformat.read(executed, as_version=4).cells
    injected = [cell for cell in cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert len(injected) == 1 and "SMALL = True" in injected[0].source, "papermill set SMALL through the cell"


def test_setup_gives_the_notebook_a_folder_in_the_data_folder(tmp_path: Path, capsys) -> None:
    from pipeline.settings import Settings
    from viz.notebook import setup

    nb = setup("01_quickstart", small=True, settings=Settings.from_env({"BEDFLOW_DATA_DIR": str(tmp_path / "data")}))
    assert nb.small is True and nb.folder == tmp_path / "data" / "notebooks" / "01_quickstart" and nb.folder.is_dir()
    assert "01_quickstart: python" in capsys.readouterr().out
    for name in ("", "..", "a/b", "/etc"):
        with pytest.raises(ValueError, match="one plain folder name"):
            setup(name, quiet=True)
