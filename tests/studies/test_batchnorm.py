"""batchnorm: the notes' 6-layer network with and without batch norm, checked by numbers."""

import math

import numpy as np
import pytest

from study_checks import needs_fashion_mnist, run_quick

from deepgrad.studies import batchnorm


def test_batchnorm_quick_run(tmp_path):
    needs_fashion_mnist()
    result = run_quick("batchnorm", tmp_path)
    n = result.numbers
    # eta 0.5 trains with batch norm and not without
    assert n["lr=0.5/bn"]["final_loss"] < 0.8
    assert not n["lr=0.5/plain"]["final_loss"] < 1.2
    # batch norm allows a larger learning rate: the largest rate that trains is >= 3x larger
    stable = n["largest_stable"]
    assert stable["bn"] >= 3 * stable["plain"] > 0
    # batch norm keeps every hidden layer's activations at a stable scale
    for stds in n["lr=0.5/bn"]["hidden_std"].values():
        assert all(0.2 < s < 3 for s in stds)
    # the histograms are labelled by hidden layer, with and without batch norm
    assert set(n["lr=0.5/bn"]["grad_std"]) == {0, 50}
    assert len(n["lr=0.5/plain"]["grad_std"][0]) == 5
    assert "| 0.5 | yes |" in result.summary()


def test_largest_stable_rate():
    assert batchnorm.largest_stable({0.1: 0.5, 0.3: 0.9, 1.0: 2.3, 3.0: math.inf}) == 0.3
    assert batchnorm.largest_stable({0.1: 2.3}) == 0.0


@pytest.mark.parametrize("seed", [1, 2])
def test_batchnorm_allows_a_larger_rate_over_seeds(seed, tmp_path):
    """The sweep's claim on seeds 1 and 2 (seed 0: the quick run above)."""
    needs_fashion_mnist()
    data = batchnorm.load_data(True, seed)
    stable = {}
    for label, batch_norm in (("plain", False), ("bn", True)):
        with np.errstate(over="ignore", invalid="ignore"):  # the largest rates diverge
            losses = {lr: batchnorm.train_run(batch_norm, lr, data, 100, seed=seed)[
                "final_loss"] for lr in batchnorm.QUICK_SWEEP}
        stable[label] = batchnorm.largest_stable(losses)
    assert stable["bn"] >= 3 * stable["plain"] > 0
