"""weight-decay: each SGD step is the (1 - 2 lambda eta) decay plus a gradient step, L1 and
elastic net make the weights sparse and L2 does not, input noise trains to the ridge weights."""

from study_checks import timed_quick


def test_weight_decay_claims(tmp_path):
    result = timed_quick("weight-decay", tmp_path)
    n = result.numbers
    assert n["formula_error"] < 1e-12
    assert n["decay_vs_penalty"] < 1e-12
    assert n["pure_decay_relative_error"] < 1e-12
    sparsity = n["sparsity"]
    assert sparsity["L1"] > 0.8 and sparsity["elastic net"] > 0.8
    assert sparsity["L2"] < 0.2 and sparsity["none"] < 0.05
    assert n["test_mse"]["L1"] < n["test_mse"]["none"]   # 25 of 30 inputs are irrelevant
    for std, relative in n["noise_vs_ridge"].items():
        assert relative < 0.05, std
    norms = [n["noise_norms"][s] for s in sorted(n["noise_norms"])]
    assert norms == sorted(norms, reverse=True)       # more noise, smaller weights
    assert "| no |" not in result.summary()
