"""activation-pathologies: zig-zag updates from positive inputs and dead ReLUs, by numbers."""

import math

import numpy as np
from study_checks import run_quick

from deepgrad.studies import pathologies


def test_activation_pathologies_quick_run(tmp_path):
    n = run_quick("activation-pathologies", tmp_path).numbers
    zig = n["zigzag"]
    assert zig["sigmoid outputs (all positive)"]["same_sign"] == 1.0
    assert zig["tanh outputs (zero-centred)"]["same_sign"] < 0.7
    assert zig["sigmoid outputs (all positive)"]["steps_to_0.05"] > \
        2 * zig["tanh outputs (zero-centred)"]["steps_to_0.05"]
    bias = n["bias"]
    assert bias[-5.0]["dead_start"] > 0.9 and bias[-5.0]["dead_end"] == bias[-5.0]["dead_start"]
    assert bias[-5.0]["dead_unit_grad"] == 0.0 and bias[0.1]["dead_start"] == 0.0
    relu, leaky = n["rate"]["ReLU"], n["rate"]["leaky ReLU"]
    # 3 seeds: lr 10 kills most ReLUs, lr 0.01 none; a leaky unit in the same state learns on
    assert min(relu[10.0]["negative"]) > 0.5 and max(relu[0.01]["negative"]) == 0.0
    assert all(g == 0.0 for g in relu[10.0]["gradient"])
    assert all(g > 0 for g in leaky[10.0]["gradient"] if math.isfinite(g))


def test_same_sign_fraction():
    updates = np.array([[1.0, 2.0], [-1.0, -3.0], [1.0, -1.0], [0.0, 1.0]])
    assert pathologies.same_sign_fraction(updates) == 2 / 3
