"""input-normalization: conditioning and convergence with raw vs standardized inputs."""

import numpy as np
import pytest
from study_checks import run_quick

from deepgrad.data import Standardize
from deepgrad.studies import input_norm


def test_input_normalization_quick_run(tmp_path):
    n = run_quick("input-normalization", tmp_path).numbers
    raw, standard = n["raw inputs"], n["standardized inputs"]
    assert 50 < raw["condition_number"] < 150 and standard["condition_number"] < 1.2
    assert standard["steps"] <= 5 and raw["steps"] > 100
    assert n["slowdown"] > 20


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_descent_reaches_the_least_squares_solution(seed):
    x, y = input_norm.make_data(seed)
    for inputs in (x, Standardize().fit(x).transform(x)):
        path, excess, _, w_star = input_norm.descend(inputs, y)
        np.testing.assert_allclose(path[-1], w_star, rtol=1e-6, atol=1e-8)
        assert excess[-1] < 1e-9 * excess[0]
