"""bagging: the variance of the average of B bootstrap members follows
(1 - rho) sigma^2 / B + rho sigma^2 within 20% (three seeds), and averaging keeps the bias."""

import pytest

from study_checks import timed_quick


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bagged_variance_follows_the_formula(tmp_path, seed):
    result = timed_quick("bagging", tmp_path, seed=seed)
    n = result.numbers
    assert 0.1 < n["rho"] < 0.9            # members sharing a training set are correlated
    assert set(n["ratio"]) == {1, 2, 4}
    for size, ratio in n["ratio"].items():
        assert abs(ratio - 1) < 0.2, (size, ratio)
    assert n["measured"][4] < 0.8 * n["measured"][1]
    assert n["bagged_bias2"] == pytest.approx(n["single_bias2"], rel=1e-9)
    assert n["bagged_mse"] < n["single_mse"]
