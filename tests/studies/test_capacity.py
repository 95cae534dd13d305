"""capacity: more hidden units fit the training data better, the boundaries depend on the
initialization, the L2 penalty shrinks the weights, and the big regularized network beats the
small ones on test data (quick mode, three seeds)."""

import os

from study_checks import timed_quick


def test_capacity_claims(tmp_path):
    result = timed_quick("capacity", tmp_path)
    assert [os.path.basename(p) for p in result.figures] == [
        "capacity_hidden.png", "capacity_l2.png", "capacity_seeds.png"]
    n = result.numbers
    hidden, l2 = n["hidden"], n["l2"]
    for init in (0, 1):
        assert hidden[(100, init)]["train_accuracy"] > hidden[(3, init)]["train_accuracy"]
        assert hidden[(100, init)]["train_loss"] < hidden[(3, init)]["train_loss"]
    assert max(n["init_disagreement"].values()) > 0.01
    norms = [l2[lam]["weight_norm"] for lam in (0.0, 0.001, 0.01, 0.1)]
    assert norms == sorted(norms, reverse=True) and norms[-1] < 0.6 * norms[0]
    assert len(n["seeds"]) == 3
    assert n["wins"]["m = 3"] == 3 and n["wins"]["m = 100"] >= 2
    summary = result.summary()
    assert "sum of cross-entropies" in summary or "*summed*" in summary
    assert "Big Model + Regularize vs Small Model" in summary
