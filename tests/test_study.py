"""The validation study: its cases and its uncertainty arithmetic (``notebooks/05_validation.ipynb`` runs a small
study for real in the notebook tests: recorded runs in one sweep, rows, summary)."""

from __future__ import annotations

import math

import pytest

from pipeline.study import BEDS, StudyCase, StudyRow, gci, study_cases, summarize


def test_the_study_has_seeds_at_both_reynolds_a_finer_mesh_and_each_treatment_per_bed():
    cases = study_cases()
    for bed in BEDS:
        mine = [c for c in cases if c.bed == bed]
        seeds = [c for c in mine if c.role == "seed"]
        assert {(c.seed, c.reynolds) for c in seeds} == {(s, re) for s in (1, 2, 3) for re in (1.0, 20.0)}
        assert {c.resolution for c in seeds} == {12} and {c.treatment for c in seeds} == {"bridge"}
        assert [(c.resolution, c.treatment) for c in mine if c.role != "seed"] == [(16, "bridge"), (12, "gap"),
                                                                                 (12, "cap")]
    spec = cases[0].spec(BEDS["dd5"], {"cfd.processes": 2})
    assert spec.particles.seed == 1 and spec.cfd.particle_reynolds == 1.0 and spec.cfd.processes == 2
    assert "seed 1 Re 1 d/12 bridge" in spec.name


@pytest.mark.parametrize("bed, aspect_ratio, packed_diameters", [("dd5", 5, 20), ("dd10", 10, 10)])
def test_the_study_beds_are_long_enough(bed, aspect_ratio, packed_diameters):
    from pipeline import pack

    packing = pack(StudyCase(bed, 1, 1.0, 12).spec(BEDS[bed]))
    low, high = packing.core_range()
    assert packing.aspect_ratio == pytest.approx(aspect_ratio)
    assert (high - low) / packing.diameter >= packed_diameters


def test_gci_of_two_meshes_is_roaches():
    # fine 2 % above coarse at a ratio of 2: 3 x 2 % / (2² - 1) = 2 %
    assert gci(1.0, 1.02, 2.0) == pytest.approx(0.02)
    assert gci(1.0, 1.0, 4 / 3) == 0.0


def row(bed: str, seed: int, re: float, dp: float, role: str = "seed", resolution: int = 12,
        treatment: str = "gap", porosity: float = 0.43) -> StudyRow:
    return StudyRow(StudyCase(bed, seed, re, resolution, treatment, role), None, 1000, True, dp, 0.01, 20.0,
                    0.42, porosity, porosity - 0.01, 5.0, {"ergun": dp / 1.2}, {"ergun": 1.2}, 60.0)


def test_the_summary_combines_seed_scatter_and_gci_and_compares_treatments():
    rows = [row("b", 1, 1.0, 10.0), row("b", 2, 1.0, 11.0), row("b", 3, 1.0, 12.0),
            row("b", 1, 1.0, 10.4, role="finer", resolution=16),
            row("b", 1, 1.0, 9.0, role="treatment", treatment="cap", porosity=0.42)]
    (entry,) = summarize(rows)
    assert entry["dp_dz"] == pytest.approx(11.0)
    assert entry["seed_scatter"] == pytest.approx(1.0 / math.sqrt(3) / 11.0)  # standard error of the mean
    assert entry["gci"] == pytest.approx(3 * 0.04 / ((16 / 12) ** 2 - 1))
    assert entry["uncertainty"] == pytest.approx(math.hypot(entry["seed_scatter"], entry["gci"]))
    assert entry["treatments"]["cap"]["change"] == pytest.approx(-0.1)
    assert entry["ratios"]["ergun"] == pytest.approx(1.2) and entry["seconds"] == 300.0
