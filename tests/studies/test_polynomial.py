"""Bishop's curve fitting: M = 9 overfits N = 10 points, less so with more data or an L2
penalty (quick mode: three independent draws of the data, each checked)."""

import os

import numpy as np

from study_checks import timed_quick


def test_polynomial_claims_over_three_draws(tmp_path):
    result = timed_quick("polynomial", tmp_path)
    assert result.quick and len(result.figures) == 2
    assert all(os.path.getsize(p) > 10_000 for p in result.figures)
    n = result.numbers
    assert len(n["draws"]) == 3
    for draw in n["draws"]:
        assert draw["train_m9"] < 1e-6            # 10 coefficients interpolate 10 points
        assert draw["test_m9"] > draw["test_m3"]  # ... and overfit
        assert draw["test_m9_n100"] < draw["test_m9"]
        assert draw["test_m9_ridge18"] < draw["test_m9"]
    assert 0.2 < n["test_rmse"][3] < 0.45          # close to the noise std 0.3
    assert n["m9_test_rmse_by_n"][10] > n["m9_test_rmse_by_n"][15] > n["m9_test_rmse_by_n"][100]
    assert int(np.argmin(n["test_rmse"])) in (3, 4, 5)
    summary = result.summary()
    assert "math-eng-dl-ch4-mlp.txt, Example: curve fitting" in summary
    assert "| M = 9 overfit |" in summary
