"""The OpenFOAM layer (dictionary writer, log parsers, runner) and the empty-tube validation.

The runner and tube tests use the real OpenFOAM (Debian's v1912); they are
skipped when it is not installed.
"""

from __future__ import annotations

import json
import math
import stat
from pathlib import Path

import pytest

from pipeline.errors import BedflowError
from pipeline.openfoam import (
    FoamError,
    OpenFOAMNotFound,
    Raw,
    ResidualTracker,
    foam_command,
    foam_environment,
    openfoam_version,
    MeshQuality,
    parse_checkmesh,
    parse_solver_line,
    render_dictionary,
    run_foam,
    snappy_phase_seconds,
    words,
    write_dictionary,
)


def _openfoam_available() -> bool:
    try:
        foam_environment()
    except OpenFOAMNotFound:
        return False
    return True


needs_openfoam = pytest.mark.skipif(not _openfoam_available(), reason="OpenFOAM is not installed")


def _body(contents: dict, **kwargs) -> str:
    """The rendered dictionary without its banner and FoamFile header."""
    text = render_dictionary(contents, "test", **kwargs)
    return text.split("}\n\n", 1)[1].rsplit("\n// ***", 1)[0]


# --- dictionary writer ---------------------------------------------------------


def test_header_names_object_class_and_location() -> None:
    text = render_dictionary({}, "U", class_name="volVectorField", location="0")
    assert "FoamFile\n{\n" in text
    assert "    class volVectorField;\n" in text
    assert '    location "0";\n' in text
    assert "    object U;\n" in text


def test_scalars_bools_and_exact_numbers() -> None:
    body = _body({"a": 1, "b": 1e-6, "c": 0.1, "d": True, "e": False, "f": -3})
    assert body == "a 1;\nb 1e-06;\nc 0.1;\nd true;\ne false;\nf -3;\n"
    assert float(_body({"x": 0.1 + 0.2}).split()[1].rstrip(";")) == 0.1 + 0.2


def test_nested_dictionaries_are_indented_blocks() -> None:
    body = _body({"SIMPLE": {"nNonOrthogonalCorrectors": 0, "residualControl": {"p": 1e-6}}})
    assert body == (
        "SIMPLE\n{\n    nNonOrthogonalCorrectors 0;\n"
        "    residualControl\n    {\n        p 1e-06;\n    }\n}\n"
    )


def test_lists_inline_and_multiline() -> None:
    assert _body({"faces": [(0, 1, 2, 3)]}) == "faces ((0 1 2 3));\n"
    assert _body({"empty": []}) == "empty ();\n"
    long = _body({"v": [(0.123456789, 0.123456789, 0.123456789)] * 4})
    assert long.startswith("v\n(\n    (0.123456789 0.123456789 0.123456789)\n")
    assert long.endswith("\n);\n")
    named = _body({"boundary": ["inlet", {"type": "patch"}]})
    assert named == "boundary\n(\n    inlet\n    {\n        type patch;\n    }\n);\n"


def test_raw_words_and_directives() -> None:
    body = _body(
        {
            "#includeEtc": Raw('"caseDicts/setConstraintTypes"'),
            "internalField": words("uniform", (0, 0, 0.01)),
            "div(phi,U)": words("bounded", "Gauss", "linearUpwind", "grad(U)"),
            "div((nuEff*dev2(T(grad(U)))))": words("Gauss", "linear"),
            "flag": None,
        }
    )
    assert body == (
        '#includeEtc "caseDicts/setConstraintTypes"\n'
        "internalField uniform (0 0 0.01);\n"
        "div(phi,U) bounded Gauss linearUpwind grad(U);\n"
        "div((nuEff*dev2(T(grad(U))))) Gauss linear;\n"
        "flag;\n"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("GAMG", "GAMG"),
        ("grad(U)", "grad(U)"),
        ("two words", '"two words"'),
        ("a;b", '"a;b"'),
        ("unbalanced(", '"unbalanced("'),
        ("1abc", '"1abc"'),
        ("", '""'),
        ('say "hi"', '"say \\"hi\\""'),
        ("path/to", '"path/to"'),
    ],
)
def test_strings_bare_when_safe_else_quoted(value: str, expected: str) -> None:
    assert _body({"k": value}) == f"k {expected};\n"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_rejected_everywhere(bad: float, tmp_path: Path) -> None:
    for contents in ({"x": bad}, {"d": {"x": bad}}, {"l": [1, (2, bad)]}):
        with pytest.raises(ValueError, match="non-finite"):
            write_dictionary(tmp_path / "d", contents, "d")
    with pytest.raises(ValueError, match="non-finite"):
        words("uniform", (0, 0, bad))
    assert not (tmp_path / "d").exists()


def test_unsupported_values_are_rejected() -> None:
    with pytest.raises(TypeError):
        render_dictionary({"x": object()}, "d")
    with pytest.raises(TypeError):
        render_dictionary({1: 2}, "d")  # type: ignore[dict-item]


def test_write_dictionary_creates_parents(tmp_path: Path) -> None:
    path = write_dictionary(tmp_path / "system" / "controlDict", {"endTime": 10}, "controlDict", location="system")
    assert path.read_text().count("endTime 10;") == 1


# --- log parsers -----------------------------------------------------------------


def test_snappy_phase_seconds_reads_each_phase_that_ran() -> None:
    log = ("Mesh refined in = 239.81 s.\nsnapping...\nMesh snapped in = 3.5e+01 s.\n"
           "Layers added in = 642.56 s.\nFinished meshing in = 1224.01 s.\n")
    assert snappy_phase_seconds(log) == {"refine": 239.81, "snap": 35.0, "layers": 642.56}
    assert snappy_phase_seconds("Mesh refined in = 1.5 s.\n") == {"refine": 1.5}
    assert snappy_phase_seconds("") == {}

SIMPLEFOAM_LOG = """\
Time = 1

smoothSolver:  Solving for Ux, Initial residual = 1, Final residual = 0.0123, No Iterations 3
smoothSolver:  Solving for Uz, Initial residual = 0.5, Final residual = 0.01, No Iterations 2
GAMG:  Solving for p, Initial residual = 1, Final residual = 0.009, No Iterations 12
time step continuity errors : sum local = 1e-05, global = 1e-20, cumulative = 1e-20
ExecutionTime = 0.1 s  ClockTime = 0 s

Time = 2

smoothSolver:  Solving for Ux, Initial residual = 0.0123, Final residual = 0.0001, No Iterations 3
smoothSolver:  Solving for Uz, Initial residual = 0.02, Final residual = 0.0002, No Iterations 2
GAMG:  Solving for p, Initial residual = 0.3, Final residual = 0.003, No Iterations 10
GAMG:  Solving for p, Initial residual = 0.1, Final residual = 0.001, No Iterations 5

SIMPLE solution converged in 2 iterations
"""


def test_parse_solver_line() -> None:
    line = "smoothSolver:  Solving for Ux, Initial residual = 0.0123, Final residual = 4.5e-05, No Iterations 3"
    assert parse_solver_line(line) == {
        "kind": "residual",
        "solver": "smoothSolver",
        "field": "Ux",
        "initial": 0.0123,
        "final": 4.5e-05,
        "iterations": 3,
    }
    assert parse_solver_line("Time = 42") == {"kind": "time", "time": 42.0}
    assert parse_solver_line("SIMPLE solution converged in 7 iterations") == {"kind": "converged", "iterations": 7}
    assert parse_solver_line("ExecutionTime = 0.1 s  ClockTime = 0 s") is None
    assert parse_solver_line("") is None


def test_residual_tracker_streams_progress() -> None:
    reports: list[tuple[float, str]] = []
    tracker = ResidualTracker(10, lambda fraction, message: reports.append((fraction, message)))
    for line in SIMPLEFOAM_LOG.splitlines():
        tracker(line)
    assert tracker.iteration == 2
    assert tracker.converged
    assert tracker.residuals == {"Ux": 0.0123, "Uz": 0.02, "p": 0.3}  # first p solve of the iteration
    assert tracker.max_residual() == 0.3
    assert [fraction for fraction, _ in reports] == [0.1, 0.2]
    assert "iteration 1/10" in reports[0][1]
    with pytest.raises(ValueError):
        ResidualTracker(0)


CHECKMESH_OK = """\
Mesh stats
    points:           12749
    faces:            35712
    internal faces:   33024
    cells:            11520
Checking geometry...
    Mesh non-orthogonality Max: 23.4971053173 average: 6.1
    Non-orthogonality check OK.
    Max skewness = 0.524802973278 OK.

Mesh OK.
"""

CHECKMESH_FAILED = """\
    points:           8
    faces:            6
    cells:            1
 ***High aspect ratio cells found, Max aspect ratio: 1e+30, number of cells 1
    Mesh non-orthogonality Max: 89.9 average: 45
 ***Max skewness = 12.5, 1 highly skew faces detected

Failed 2 mesh checks.
"""


def test_parse_checkmesh() -> None:
    quality = parse_checkmesh(CHECKMESH_OK)
    assert quality == MeshQuality(cells=11520, points=12749, faces=35712, max_non_orthogonality=23.4971053173,
                                  max_skewness=0.524802973278, failed_checks=0, ok=True)
    failed = parse_checkmesh(CHECKMESH_FAILED)
    assert failed.failed_checks == 2
    assert failed.ok is False
    assert failed.max_skewness == 12.5
    assert failed.max_non_orthogonality == 89.9


def test_a_mesh_quality_round_trips_through_json_and_reads_older_records() -> None:
    timed = parse_checkmesh(CHECKMESH_OK).timed(12.5, {"refine": 3.0, "snap": 9.5})
    assert MeshQuality.from_dict(json.loads(json.dumps(timed.to_dict()))) == timed
    older = {"cells": 11520, "ok": True, "failed_checks": None, "seconds": None, "resolution": 12}
    assert MeshQuality.from_dict(older) == MeshQuality(cells=11520, ok=True)


# --- runner ------------------------------------------------------------------------


def test_foam_command() -> None:
    assert foam_command("simpleFoam", ["-latestTime"]) == ["simpleFoam", "-latestTime"]
    assert foam_command("simpleFoam", (), 4) == [
        "mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "4", "simpleFoam", "-parallel",
    ]
    with pytest.raises(ValueError):
        foam_command("simpleFoam", (), 0)


@needs_openfoam
def test_environment_and_version() -> None:
    assert openfoam_version().startswith("v")
    assert foam_environment() is foam_environment()  # computed once
    assert "WM_PROJECT_DIR" in foam_environment()


@needs_openfoam
def test_openfoam_comes_from_a_named_bashrc_an_already_sourced_environment_or_debian(tmp_path: Path,
                                                                                      monkeypatch) -> None:
    """BEDFLOW_OPENFOAM_BASHRC (a site's or a newer OpenFOAM) wins, then an environment already sourced (a
    cluster's ``module load``), then Debian's bashrc; the path reaches bash as an argument, not as command text."""
    from pipeline.openfoam.environment import BASHRC, OpenFOAMNotFound, openfoam_source

    monkeypatch.delenv("BEDFLOW_OPENFOAM_BASHRC", raising=False)
    monkeypatch.delenv("WM_PROJECT_DIR", raising=False)
    debian = foam_environment()
    assert openfoam_source().describe() == f"Debian's {BASHRC}"
    odd = tmp_path / "site $(touch pwned); rc"  # a name a shell would run something from
    odd.write_text(f"source {BASHRC}\nexport BEDFLOW_SITE_MARK=site\n")
    monkeypatch.setenv("BEDFLOW_OPENFOAM_BASHRC", str(odd))
    site = foam_environment()
    assert site["BEDFLOW_SITE_MARK"] == "site" and site["WM_PROJECT_VERSION"] == debian["WM_PROJECT_VERSION"]
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
    assert openfoam_source().describe() == f"BEDFLOW_OPENFOAM_BASHRC={odd}"
    monkeypatch.setenv("BEDFLOW_OPENFOAM_BASHRC", str(tmp_path / "missing"))
    with pytest.raises(OpenFOAMNotFound, match="missing does not exist.*BEDFLOW_OPENFOAM_BASHRC"):
        foam_environment()
    monkeypatch.delenv("BEDFLOW_OPENFOAM_BASHRC")
    for name, value in debian.items():  # as if started from a shell that sourced OpenFOAM itself
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BEDFLOW_ALREADY_SOURCED", "yes")
    inherited = foam_environment()
    assert inherited["BEDFLOW_ALREADY_SOURCED"] == "yes" and "WM_PROJECT_DIR" in inherited
    assert openfoam_source().kind == "environment"
    assert run_foam("blockMesh", tmp_path, ["-help"], log_name="log.help").is_file()  # its programs run
    monkeypatch.setenv("WM_PROJECT_VERSION", "")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(OpenFOAMNotFound, match="does not set WM_PROJECT_VERSION"):
        foam_environment()


@needs_openfoam
def test_failing_program_raises_with_log_tail(tmp_path: Path) -> None:
    lines: list[str] = []
    with pytest.raises(FoamError) as caught:
        run_foam("blockMesh", tmp_path, on_line=lines.append)
    error = caught.value
    assert isinstance(error, BedflowError)
    assert error.program == "blockMesh"
    assert error.returncode != 0
    assert error.log_path == tmp_path / "log.blockMesh"
    assert any("FOAM FATAL" in line for line in error.tail)
    assert len(error.tail) <= 40
    assert "blockMesh failed" in str(error)
    assert lines and lines[-len(error.tail):] == error.tail
    assert error.log_path.read_text().splitlines()[-len(error.tail):] == error.tail


def _script(path: Path, text: str) -> Path:
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@needs_openfoam
def test_fatal_error_with_exit_zero_is_a_failure(tmp_path: Path) -> None:
    program = _script(tmp_path / "fake", "echo 'hello'\necho '--> FOAM FATAL IO ERROR:'\nexit 0\n")
    with pytest.raises(FoamError, match="FOAM FATAL") as caught:
        run_foam(str(program), tmp_path, log_name="log.fake")
    assert caught.value.returncode == 0
    assert (tmp_path / "log.fake").read_text() == "hello\n--> FOAM FATAL IO ERROR:\n"


@needs_openfoam
def test_timeout_kills_the_program(tmp_path: Path) -> None:
    program = _script(tmp_path / "slow", "echo started\nsleep 30\n")
    with pytest.raises(FoamError, match="timed out"):
        run_foam(str(program), tmp_path, log_name="log.slow", timeout=0.5)


# --- empty tube: Hagen–Poiseuille ----------------------------------------------------


@needs_openfoam
def test_write_empty_tube_case(tmp_path: Path) -> None:
    from pipeline.cfd import write_empty_tube_case

    case = write_empty_tube_case(tmp_path / "tube", 0.01, 0.05, 0.01, 1e-6)
    for name in ("system/blockMeshDict", "system/controlDict", "system/fvSchemes", "system/fvSolution",
                 "constant/transportProperties", "constant/turbulenceProperties", "0/U", "0/p", "Allrun",
                 "case.foam"):
        assert (case / name).is_file(), name
    assert "uniform (0 0 0.01)" in (case / "0" / "U").read_text()
    assert "simulationType laminar;" in (case / "constant" / "turbulenceProperties").read_text()
    with pytest.raises(ValueError):
        write_empty_tube_case(tmp_path / "bad", 0.01, 0.05, math.nan, 1e-6)


@needs_openfoam
@pytest.mark.slow
def test_empty_tube_matches_hagen_poiseuille(tmp_path: Path) -> None:
    from pipeline.cfd import run_empty_tube

    diameter, length, velocity, nu, density = 0.01, 0.1, 0.01, 1e-6, 1000.0
    assert velocity * diameter / nu == pytest.approx(100)  # Re = 100: laminar
    fractions: list[float] = []
    result = run_empty_tube(
        tmp_path / "tube", diameter, length, velocity, nu, density=density,
        cells_across=16, cells_along=60, max_iterations=1000, convergence=1e-6,
        progress=lambda fraction, message: fractions.append(fraction), timeout=300,
    )
    theory = 32 * (nu * density) * length * velocity / diameter**2
    assert result["dp_hagen_poiseuille"] == pytest.approx(theory)
    assert result["converged"]
    assert 0 < result["iterations"] < 1000
    assert result["cells"] == 16 * 16 // 4 * 60 + 4 * 8 * 4 * 60
    assert result["dp_developed"] == pytest.approx(theory, rel=0.05)
    assert result["dp"] > result["dp_developed"]  # the entrance region adds losses
    assert fractions and all(0 < f <= 1 for f in fractions)
    assert set(result["seconds"]) == {"write", "blockMesh", "checkMesh", "simpleFoam", "read"}


@needs_openfoam
@pytest.mark.slow
def test_parallel_run(tmp_path: Path) -> None:
    """``processes > 1`` runs the program under mpirun on a decomposed case."""
    from pipeline.cfd import write_empty_tube_case

    case = write_empty_tube_case(tmp_path / "tube", 0.01, 0.05, 0.01, 1e-6, cells_across=8, cells_along=20)
    decomposition = {
        "numberOfSubdomains": 2,
        "method": "simple",
        "simpleCoeffs": {"n": (1, 1, 2), "delta": 0.001},
    }
    write_dictionary(case / "system" / "decomposeParDict", decomposition, "decomposeParDict", location="system")
    run_foam("blockMesh", case)
    run_foam("decomposePar", case)
    log = run_foam("checkMesh", case, processes=2)
    text = log.read_text()
    assert "nProcs : 2" in text
    assert "Mesh OK." in text


def test_a_long_residual_history_is_thinned_for_the_run_row_keeping_its_last_point() -> None:
    from pipeline.openfoam.logs import LIVE_POINTS, thinned

    long = {"p": [(i, 1.0 / i) for i in range(1, 2001)], "Ux": [(1, 0.5)], "k": []}
    kept = thinned(long)
    assert len(kept["p"]) <= LIVE_POINTS + 1 and kept["p"][0] == [1, 1.0] and kept["p"][-1] == [2000, 1.0 / 2000]
    assert kept["Ux"] == [[1, 0.5]] and kept["k"] == []
    assert thinned({"p": long["p"][:10]})["p"] == [[i, r] for i, r in long["p"][:10]]  # short: all of it

