"""batch-size: batch vs mini-batch vs SGD, and the running-average identities, by numbers."""

import numpy as np
import pytest
from study_checks import run_quick

from deepgrad.studies import batch_size


def test_batch_size_quick_run(tmp_path):
    n = run_quick("batch-size", tmp_path).numbers
    m = n["methods"]
    batch = m["batch (K = n), lr 1"]
    assert abs(batch["loss_after_tenth"] - np.log(2)) < 1e-12  # no step yet
    for label in ("mini-batch (K = 32), lr 1", "SGD (K = 1), lr 0.1"):
        assert m[label]["loss_after_tenth"] < batch["loss_after_tenth"] - 0.1
    assert m["SGD (K = 1), lr 1"]["last_epoch_range"] > \
        10 * m["SGD (K = 1), lr 0.1"]["last_epoch_range"]
    assert max(n["update_rule_error"].values()) < 1e-12
    assert n["running_average"]["mean_error"] < 1e-12
    assert n["running_average"]["moving_error"] < 1e-12
    assert n["momentum_equivalence_error"] < 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mini_batch_with_k_equal_n_and_1_follows_the_update_rule(seed):
    x, y = batch_size.make_data(60, seed)
    for k in (None, 1, 7):
        _, trajectory = batch_size.train(x, y, k, 0.3, 2, seed, record=False)
        reference = batch_size.reference(x, y, k, 0.3, 2, seed)
        np.testing.assert_allclose(trajectory, reference, atol=1e-13)
