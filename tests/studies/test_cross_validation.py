"""cross-validation: over reshuffles of the same data the 5-fold estimate varies much less
than the holdout estimate, for every number of hidden units."""

from deepgrad.studies import run_study
from deepgrad.studies.cross_validation import HIDDEN


def test_kfold_estimates_vary_less_than_holdout(tmp_path):
    result = run_study("cross-validation", tmp_path, quick=True)
    n = result.numbers
    assert n["repeats"] == 5 and len(n["holdout_choices"]) == 5
    for h in HIDDEN:
        assert n["holdout_std"][h] > 1.5 * n["kfold_std"][h], h
        # both estimate the same error: their means agree within the holdout spread
        assert abs(n["holdout_mean"][h] - n["kfold_mean"][h]) < 2 * n["holdout_std"][h], h
    assert min(n["true_mse"].values()) > 0.09 * 0.9  # never below the noise variance 0.3^2
    assert "K-fold cross-validation (Second version)" in result.summary()
