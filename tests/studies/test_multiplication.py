"""multiplication: the hand-set 4-unit gate's error falls like lambda^2, a trained 4-unit
network learns x1 x2, and the notes' parameter counts."""

import numpy as np

from study_checks import timed_quick
from deepgrad.studies.multiplication import gate, grid_points, max_error


def test_gate_error_is_second_order_in_lambda():
    points = grid_points(21)
    for activation in ("softplus", "gelu"):
        e1, e2 = max_error(gate(activation, 0.02), points), max_error(gate(activation, 0.01),
                                                                      points)
        assert 3.8 < e1 / e2 < 4.2, activation      # halving lambda quarters the error
    # the exact gate at lambda = 0.01 is within 2e-5 of the product everywhere on the grid
    assert max_error(gate("softplus", 0.01), points) < 2e-5


def test_multiplication_study(tmp_path):
    result = timed_quick("multiplication", tmp_path)
    n = result.numbers
    for activation in ("softplus", "gelu"):
        assert 1.9 < n["slope"][activation] < 2.1
        assert n["best"][activation][1] < 1e-7
    assert n["trained_test_rmse"] < 0.05
    counts = n["parameter_counts"]
    assert counts["network for 10 products (built: num_parameters)"] == 40_040
    assert counts["quadratic regression, all x_i x_j"] == 500_500
    assert counts["network for all products (4 units each)"] == 2_004_002_000
    assert np.isfinite(n["trained_final_loss"])
    assert "| yes |" in result.summary() and "| no |" not in result.summary()
