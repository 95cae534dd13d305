"""cross-validation: over reshuffles of the same data the 5-fold estimate varies much less
than the holdout estimate, for every number of hidden units."""

from study_checks import timed_quick
from deepgrad.studies.cross_validation import HIDDEN


def test_kfold_estimates_vary_less_than_holdout(tmp_path):
    result = timed_quick("cross-validation", tmp_path)
    n = result.numbers
    assert n["repeats"] == 10 and len(n["holdout_choices"]) == 10
    ratios = [n["holdout_std"][h] / n["kfold_std"][h] for h in HIDDEN]
    assert sum(r > 1 for r in ratios) >= len(HIDDEN) - 1, ratios
    assert sorted(ratios)[len(ratios) // 2] > 2, ratios     # the median ratio
    for h in HIDDEN:
        # both estimate the same error: their means agree within the holdout spread
        assert abs(n["holdout_mean"][h] - n["kfold_mean"][h]) < 2 * n["holdout_std"][h], h
    assert min(n["true_mse"].values()) > 0.09 * 0.9  # never below the noise variance 0.3^2
    assert "K-fold cross-validation (Second version)" in result.summary()
