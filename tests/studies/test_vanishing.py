"""vanishing-gradients: the 4-unit sigmoid chain of the notes, checked over 5 seeds."""

import numpy as np
from study_checks import run_quick

from deepgrad.studies import vanishing


def test_vanishing_gradients_quick_run(tmp_path):
    n = run_quick("vanishing-gradients", tmp_path).numbers
    for entry in n["per_seed"]:  # 5 seeds
        grads = entry["grads"]
        assert grads == sorted(grads)  # |dL/dw_1| < |dL/dw_2| < ... < |dL/dw_4|
        # layers 2-4: ~ a_k / (0.25 |w| a_(k-1)) ~ 4 / |w| with |w| ~ 0.01: factors of 10^2-10^4
        assert all(f > 20 for f in entry["factors"][1:])
        assert entry["moved"][-1] > 1e3 * entry["moved"][0]
    assert 100 < n["median_factor"] < 3000
    assert n["max_prediction_error"] < 0.25


def test_chain_rule_prediction_is_exact_for_equal_units():
    """With the same weight everywhere and zero inputs, every unit sees the same z, and the
    factor between layers is exactly 1 / |w sigma'(z)| (a_k = a_(k-1))."""
    weights, biases, x, y = vanishing.chain(0)
    for w in weights:
        w.data[...] = 0.5
    x.data[...] = 0.5
    grads, predicted = vanishing.gradients(weights, biases, x, y)
    assert np.isclose(grads[3] / grads[2], predicted[2], rtol=0.05)
