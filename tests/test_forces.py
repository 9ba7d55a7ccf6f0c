"""Reading OpenFOAM's forces output: the wall's binned axial force and the particles' total (no solver here;
the real pass runs in tests/test_bed_cfd.py)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.openfoam import render_dictionary
from pipeline.results.forces import ForceProfile, BedForces, functions_dictionary, read_forces
from pipeline.results.profiles import ResultsError

# the layout OpenFOAM v1912 writes (three bins; each bin: total, pressure, viscous)
FORCE_BINS = """# Force bins
# bins              : 3
# start             : 0.000000000000e+00
# end               : 3.000000000000e-02
# delta             : 1.000000000000e-02
# direction         : (0 0 1)
# x co-ords  :      	0	0	0
# y co-ords  :      	0	0	0
# z co-ords  :      	5.0e-03	1.5e-02	2.5e-02
#
# Time              	0:(total_x total_y total_z)	0:(pressure_x pressure_y pressure_z)	0:(viscous_x viscous_y viscous_z)	1:(total_x total_y total_z)
1	(9 9 9)	(0 0 0)	(9 9 9)	(9 9 9)	(0 0 0)	(9 9 9)	(9 9 9)	(0 0 0)	(9 9 9)
2	(0 0 1.0)	(0 0 0)	(0 0 1.0)	(0 0 2.0)	(0 0 0)	(0 0 2.0)	(0 0 4.0)	(0 0 0)	(0 0 4.0)
"""
FORCE = """# Force
# CofR              : (0 0 0)
#
# Time              	(total_x total_y total_z)	(pressure_x pressure_y pressure_z)	(viscous_x viscous_y viscous_z)
1	(0 0 5)	(0 0 4)	(0 0 1)
2	(1e-3 2e-3 3.5e+01)	(0 0 30)	(0 0 5)
"""


def test_the_latest_row_and_time_are_read(tmp_path):
    for time, text in (("0", "# stale\n1 " + "(0 0 99) " * 9 + "\n"), ("10", FORCE_BINS)):
        (tmp_path / "postProcessing" / "wallForces" / time).mkdir(parents=True)
        (tmp_path / "postProcessing" / "wallForces" / time / "forceBin.dat").write_text(text)
    (tmp_path / "postProcessing" / "particleForces" / "10").mkdir(parents=True)
    (tmp_path / "postProcessing" / "particleForces" / "10" / "force.dat").write_text(FORCE)
    forces = read_forces(tmp_path)
    np.testing.assert_allclose(forces.wall.z, [0.005, 0.015, 0.025])
    np.testing.assert_allclose(forces.wall.force, [1.0, 2.0, 4.0])
    assert forces.wall.width == pytest.approx(0.01)
    assert forces.wall_total == pytest.approx(7.0)
    assert forces.particles_total == pytest.approx(35.0)


def test_a_window_counts_the_share_of_each_bin_inside_it():
    profile = ForceProfile(np.array([0.005, 0.015, 0.025]), 0.01, np.array([1.0, 2.0, 4.0]))
    assert profile.between(0.0, 0.03) == pytest.approx(7.0)
    assert profile.between(0.005, 0.02) == pytest.approx(0.5 + 2.0)
    assert profile.between(0.012, 0.013) == pytest.approx(0.2)
    assert profile.between(0.04, 0.05) == 0.0
    forces = BedForces(profile, 30.0)
    # the window's drag is dp/dz · area · length: here 7 over the whole profile gives the wall 7 / 70
    assert forces.wall_share(dp_dz_kinematic=700.0, area=10.0 / 3.0, z0=0.0, z1=0.03) == pytest.approx(0.1)


def test_missing_output_is_a_clear_error(tmp_path):
    with pytest.raises(ResultsError, match="postProcessing/wallForces"):
        read_forces(tmp_path)


def test_the_function_objects_bin_only_the_wall():
    text = render_dictionary(functions_dictionary(40), "resultsFunctions", location="system")
    assert text.count("type forces;") == 2 and text.count("nBin 40;") == 1
    assert "writeCellVolumes" in text and "patches (wall);" in text and "patches (particles);" in text
