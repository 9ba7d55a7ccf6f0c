"""Reports of recorded runs and sweeps (pipeline.report, ``bedflow report``), on real solved runs."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import require_services
from pipeline.reporting import RUN_SECTIONS, ReportError, report

SPEC = {"name": "report", "bed": {"diameter": 0.025, "height": 0.03}, "particles": {"count": 40, "diameter": 0.005},
        "cfd": {"mesh_cells_per_diameter": 6, "surface_refinement": 0, "boundary_layers": 0,
                "max_iterations": 80, "particle_reynolds": 5}}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A solved run, and a second run of the same bed at Reₚ = 10 in a sweep (one data dir for the module)."""
    import pipeline
    from pipeline import BedSpec
    from pipeline.db import Sweep
    from pipeline.runs import create_run, execute, open_services

    data = tmp_path_factory.mktemp("report") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BEDFLOW_DATA_DIR", str(data))
        for name in ("DATABASE_URL", "BEDFLOW_STORE", "BEDFLOW_QUEUE"):
            patch.delenv(name, raising=False)
        spec = BedSpec.from_dict(SPEC)
        first = pipeline.run(spec)
        found = open_services()
        with found.db.session() as session:
            sweep = Sweep(name="re-sweep", parameter="cfd.particle_reynolds", values=[5, 10])
            session.add(sweep)
            session.flush()
            sweep_id = int(sweep.id)
        second = create_run(spec.updated({"cfd.particle_reynolds": 10}), sweep_id=sweep_id, services=found)
        execute(second, services=found)
        yield {"data": data, "services": found, "run": int(first.run_id), "sweep": sweep_id,
               "sweep_run": second}


@pytest.fixture
def env(recorded: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The module's data dir for this test (the autouse fixture gave it its own)."""
    monkeypatch.setenv("BEDFLOW_DATA_DIR", str(recorded["data"]))
    return recorded


def section(page: str, key: str) -> str:
    match = re.search(rf'<section id="{key}">(.*?)</section>', page, re.S)
    assert match, f"no section {key!r}"
    return match.group(1)


def values(fragment: str) -> dict[str, str]:
    return dict(re.findall(r'data-key="([^"]+)" data-value="([^"]+)"', fragment))


def assert_not_blank(image: Any, what: str) -> None:
    from PIL import ImageStat

    grey = image.convert("L")
    low, high = grey.getextrema()
    assert high - low > 50, f"{what} is blank (grey levels {low}..{high})"
    assert ImageStat.Stat(grey).stddev[0] > 5, f"{what} is nearly uniform"


def assert_self_contained(page: str) -> None:
    for attribute, target in re.findall(r'\b(src|href)\s*=\s*"([^"]*)"', page):
        assert target.startswith(("data:", "#")), f"external {attribute}={target[:80]!r}"
    assert "url(" not in page.split("</style>")[0].split("<style>")[-1], "the stylesheet fetches something"


@pytest.mark.slow
def test_run_report_sections_pictures_and_numbers(env: dict[str, Any], tmp_path: Path) -> None:
    from PIL import Image

    from pipeline.runs import get_run, run_artifacts

    run_id = env["run"]
    path = report(run_id, services=env["services"])
    assert path == env["data"] / "reports" / f"run-{run_id}.html"
    page = path.read_text(encoding="utf-8")
    for key in RUN_SECTIONS:
        section(page, key)
    assert "Not available" not in page and "Missing or failed" not in page, "a succeeded run lacks something"
    assert page.index('id="summary"') < page.index('id="spec"')  # one screen of numbers before the details
    glance = values(section(page, "summary"))
    assert float(glance["summary.dp_dz"]) == get_run(run_id, services=env["services"]).dp_dz
    assert float(glance["summary.ratio_ergun"]) == get_run(run_id, services=env["services"]).ratio_ergun
    assert 'class="thumb"' in section(page, "summary")
    images = re.findall(r"<img\b[^>]*>", page)
    assert len(images) >= 9  # packing ×2, porosity profiles, mesh, residuals, validation, profile, velocity, p
    for tag in images:
        src = re.search(r'src="([^"]+)"', tag).group(1)
        assert src.startswith("data:image/png;base64,"), src[:60]
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        image.load()
        assert image.width > 100 and image.height > 100
        assert_not_blank(image, re.search(r'alt="([^"]*)"', tag).group(1))
    assert_self_contained(page)
    figures = [tag for tag in images if 'class="thumb"' not in tag]  # the summary's thumbnail repeats a figure
    assert page.count("<figcaption>") == len(figures) == len(images) - 1

    run = get_run(run_id, services=env["services"])
    results = values(section(page, "results"))
    assert float(results["dp_dz"]) == run.dp_dz
    assert float(results["ratio_ergun"]) == run.ratio_ergun
    assert float(results["ratio_eisfeld_schnitzlein"]) == run.ratio_eisfeld_schnitzlein
    assert float(results["re_p"]) == pytest.approx(run.re_p)
    assert float(results["porosity_core"]) == pytest.approx(run.porosity)
    assert f"{run.dp_dz:.5g}\u00a0Pa/m" in section(page, "results")
    nominal = run.results["nominal"]["ratios"]["ergun"]
    assert float(results["nominal.ratio_ergun"]) == nominal
    assert float(values(section(page, "mesh"))["mesh.cells"]) == run.cells
    assert values(section(page, "residuals"))["iterations"] == repr(run.iterations)
    assert "v1912" in section(page, "provenance") and str(run.provenance["seed"]) in section(page, "provenance")
    assert "particles {" in section(page, "spec")  # the .bed text
    assert set(values(section(page, "timings"))) >= {f"timings.{s}" for s in run.timings}

    artifacts = run_artifacts(run_id, "report", services=env["services"])
    assert [a.name for a in artifacts] == [f"run-{run_id}.html"]
    copy = env["services"].store.get_file(artifacts[0].key, tmp_path / "copy.html")
    assert copy.read_bytes() == path.read_bytes()


@pytest.mark.slow
def test_unfinished_run_says_what_is_missing(env: dict[str, Any], tmp_path: Path) -> None:
    from pipeline import BedSpec
    from pipeline.runs import create_run

    queued = create_run(BedSpec.from_dict(SPEC), services=env["services"])
    page = report(queued, out=tmp_path / "queued.html", record=False, services=env["services"]).read_text()
    for key in RUN_SECTIONS:
        section(page, key)
    assert "queued" in page
    for key in ("summary", "packing", "mesh", "residuals", "results", "fields", "timings"):
        assert "Not available" in section(page, key), key
    assert "particles {" in section(page, "spec")
    assert_self_contained(page)


@pytest.mark.slow
def test_sweep_report(env: dict[str, Any]) -> None:
    from PIL import Image

    from pipeline.runs import get_run, run_artifacts

    path = report(env["sweep"], sweep=True, services=env["services"])
    assert path.name == f"sweep-{env['sweep']}.html"
    page = path.read_text(encoding="utf-8")
    assert "cfd.particle_reynolds" in section(page, "sweep")
    body = re.search(r"<tbody>(.*?)</tbody>", section(page, "runs"), re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    run_id = env["sweep_run"]
    assert len(rows) == 1 and f'href="#run-{run_id}"' in rows[0]
    assert f'id="run-{run_id}"' in page  # the anchor the link goes to
    assert float(values(rows[0])[f"run-{run_id}.dp_dz"]) == get_run(run_id, services=env["services"]).dp_dz
    charts = section(page, "charts")
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', charts)
    assert len(images) == 2, "friction chart and sweep plot"
    for data in images:
        assert_not_blank(Image.open(io.BytesIO(base64.b64decode(data))), "sweep chart")
    assert_self_contained(page)
    assert [a.name for a in run_artifacts(run_id, "report", services=env["services"])] == [path.name]
    assert not run_artifacts(env["run"], "report", services=env["services"]) or \
        path.name not in [a.name for a in run_artifacts(env["run"], "report", services=env["services"])]


@pytest.mark.slow
def test_pdf_report(env: dict[str, Any], tmp_path: Path) -> None:
    from PIL import Image

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None and not require_services():
        pytest.skip("pdftoppm is missing (apt-get install poppler-utils)")
    assert pdftoppm, "pdftoppm is missing (apt-get install poppler-utils)"
    path = report(env["run"], fmt="pdf", out=tmp_path / "run.pdf", record=False, services=env["services"])
    assert path.read_bytes()[:5] == b"%PDF-"
    subprocess.run([pdftoppm, "-r", "30", "-png", str(path), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 3
    for page in pages[:3]:
        assert_not_blank(Image.open(page), page.name)


def test_pdf_failure_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.reporting import html_to_pdf

    source = tmp_path / "a.html"
    source.write_text("<p>x</p>")
    monkeypatch.setenv("BEDFLOW_CHROMIUM", "/bin/false")
    with pytest.raises(ReportError, match="Chromium failed"):
        html_to_pdf(source, tmp_path / "a.pdf")


def test_unknown_format_and_run() -> None:
    from pipeline.errors import BedflowError

    with pytest.raises(ReportError, match="format"):
        report(1, fmt="docx")
    with pytest.raises(BedflowError, match="no run 424242"):
        report(424242)
    with pytest.raises(BedflowError, match="no sweep 424242"):
        report(424242, sweep=True)


@pytest.mark.slow
def test_cli(env: dict[str, Any], bedflow_cmd: list[str], tmp_path: Path) -> None:
    environment = {**os.environ, "BEDFLOW_DATA_DIR": str(env["data"])}
    out = tmp_path / "cli.html"
    done = subprocess.run([*bedflow_cmd, "report", str(env["run"]), "--out", str(out)], capture_output=True,
                          text=True, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out) and out.is_file()
    assert '<section id="results">' in out.read_text()
    missing = subprocess.run([*bedflow_cmd, "report", "424242"], capture_output=True, text=True, env=environment,
                             timeout=120)
    assert missing.returncode == 2 and "no run 424242" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_pipeline_report_stays_the_function_after_the_module_loads():
    import pipeline
    import pipeline.reporting  # noqa: F401 - loading the module must not shadow the function

    assert callable(pipeline.report) and pipeline.report.__module__ == "pipeline"
