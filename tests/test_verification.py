"""Code verification (`bedflow verify`): the exact answers, the request checks, and one small real case of
each kind meshed and solved by OpenFOAM with the bed's own code."""

from __future__ import annotations

import json
import subprocess

import pytest

from pipeline.cfd.snappy import Refinement
from pipeline.verification import CASES, check_request, expected_value, verify
from pipeline.verification.cases import VerificationError, last_total_force
from pipeline.verification.exact import (NoReference, ZICK_HOMSY_SC, haberman_sayre_k, hagen_poiseuille_dp_dz,
                                         sangani_acrivos_k, sc_array_k)


def test_zick_homsy_table_and_the_dilute_series_agree_where_both_hold():
    assert sc_array_k(0.125) == (4.292, "Zick & Homsy 1982, J. Fluid Mech. 115, table 2")
    for phi in (0.027, 0.064, 0.125):
        assert sangani_acrivos_k(phi) == pytest.approx(ZICK_HOMSY_SC[phi], rel=1e-3)
    k, source = sc_array_k(0.1)
    assert "Sangani" in source and ZICK_HOMSY_SC[0.064] < k < ZICK_HOMSY_SC[0.125]
    with pytest.raises(NoReference, match="0.3"):
        sc_array_k(0.3)


def test_haberman_sayre_tends_to_stokes_and_grows_with_the_ratio():
    assert haberman_sayre_k(1e-6) == pytest.approx(1.0, abs=1e-4)
    assert haberman_sayre_k(0.2) == pytest.approx(1.680, abs=1e-3)
    assert haberman_sayre_k(0.4) == pytest.approx(3.582, abs=1e-3)
    with pytest.raises(NoReference):
        haberman_sayre_k(1.0)
    assert hagen_poiseuille_dp_dz(1e-3, 0.01, 0.01) == pytest.approx(3.2)


def test_requests_are_checked_before_anything_runs():
    check_request(list(CASES), {}, [8, 12, 16])
    with pytest.raises(ValueError, match="unknown verification case"):
        check_request(["cubes"], {}, [8])
    with pytest.raises(NoReference):
        check_request(["sc-array"], {"sc-array": [0.6]}, [8])
    with pytest.raises(ValueError, match="resolutions"):
        check_request(["sc-array"], {}, [2])
    with pytest.raises(ValueError, match="repeat"):
        check_request(["sc-array"], {}, [8, 8])
    assert expected_value("sphere-in-tube", 0.4)[0] == "K"


def test_the_drag_is_read_from_the_last_forces_report():
    log = """Time = 1
forces forces write:
    Sum of forces
        Total    : (1e-20 -2e-20 1.5e-14)
        Pressure : (0 0 5e-15)
    Sum of moments
        Total    : (0 0 0)
Time = 2
    Sum of forces
        Total    : (3e-20 -4e-20 1.6e-14)
    Sum of moments
        Total    : (1 2 3)
"""
    assert last_total_force(log) == (3e-20, -4e-20, 1.6e-14)
    with pytest.raises(VerificationError):
        last_total_force("Time = 1\n")


@pytest.mark.slow
def test_sc_array_and_sphere_in_tube_meet_their_targets_at_the_verified_setting(tmp_path):
    """d/12 with one surface level and two prism layers (the verified setting): the densest tabulated array
    bedflow targets (solid fraction 0.45, gaps of 0.05 d) within 3 % of Zick & Homsy and a sphere filling
    40 % of a tube within 2 % of Haberman & Sayre, both from below; the tube's drag comes from the forces
    function object, the array keeps the spheres' volume (the icospheres hold it). The array's folder holds
    a later time from an earlier solve (a kept folder): it must not be read as this solve's."""
    stale = tmp_path / "sc-array-0.45-d12" / "4000"
    stale.mkdir(parents=True)
    (stale / "p").write_text("not a field\n")
    report = verify(["sc-array", "sphere-in-tube"], {"sc-array": [0.45], "sphere-in-tube": [0.4]}, [12],
                    Refinement(surface_level=1, layers=2), folder=tmp_path)
    sc, tube = report.rows
    assert sc.case == "sc-array" and sc.expected == 28.1 and sc.converged
    assert -0.03 < sc.error < 0, sc
    assert sc.solid_fraction_mesh == pytest.approx(0.45, rel=0.03)
    assert tube.case == "sphere-in-tube" and tube.converged
    assert -0.02 < tube.error < 0, tube
    assert (tmp_path / "sphere-in-tube-0.4-d12" / "log.simpleFoam").is_file() and not stale.exists()


@pytest.mark.slow
def test_bedflow_verify_json_has_rows_and_the_convergence_over_three_resolutions(bedflow_cmd):
    out = subprocess.run([*bedflow_cmd, "verify", "hagen-poiseuille", "--resolutions", "4,6,8", "--json"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    rows = data["results"]
    assert [r["resolution"] for r in rows] == [4, 6, 8]
    for row in rows:
        assert {"case", "parameter", "resolution", "cells", "quantity", "expected", "computed", "error",
                "source", "seconds"} <= set(row)
        assert abs(row["error"]) < 0.03 and row["cells"] > 0
    assert rows[0]["cells"] < rows[1]["cells"] < rows[2]["cells"]
    (study,) = data["convergence"]
    assert study["case"] == "hagen-poiseuille" and study["resolutions"] == [4, 6, 8]
    assert abs(study["extrapolated_error"]) < 0.03 or study["observed_order"] is None


def test_bedflow_verify_refuses_a_parameter_without_an_exact_answer(bedflow_cmd):
    out = subprocess.run([*bedflow_cmd, "verify", "sc-array", "--solid-fraction", "0.3"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and "no exact drag" in out.stderr
