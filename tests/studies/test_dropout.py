"""dropout: over three seeds p = 0.5 narrows the gap between test and training loss, and the
weight-scaled network predicts like the average of many thinned networks."""

from study_checks import timed_quick


def test_dropout_claims(tmp_path):
    result = timed_quick("dropout", tmp_path)
    n = result.numbers
    assert n["seeds"] == 3
    for s in range(3):
        without, with_dropout = n["per_seed"][0.0][s], n["per_seed"][0.5][s]
        assert with_dropout["loss_gap"] < without["loss_gap"], s
        assert without["train_accuracy"] == 1.0   # the small training set is memorized
    assert n["mean"][0.5]["loss_gap"] < n["mean"][0.0]["loss_gap"]
    assert n["agreement"] > 0.97
    assert abs(n["scaled_accuracy"] - n["mc_accuracy"][200]) < 0.02
    assert n["mc_accuracy"][1] < n["mc_accuracy"][200]   # one thinned network is worse
    assert "p is the probability of *keeping* a unit" in result.summary()
