"""bias-variance: the three terms add up to the measured test error, bias falls and variance
rises with the number of hidden units, and the bootstrap estimates the variance."""

from study_checks import timed_quick


def test_bias_variance_decomposition(tmp_path):
    result = timed_quick("bias-variance", tmp_path)
    n = result.numbers
    for h in n["sum"]:
        assert abs(n["direct_test_mse"][h] / n["sum"][h] - 1) < 0.05, h
        assert 0.5 < n["bootstrap_variance"][h] / n["variance"][h] < 2.5, h
    assert n["bias2"][1] > 3 * n["bias2"][4]            # too few units: bias
    assert n["variance"][32] > 1.5 * n["variance"][2]    # many units: variance
    assert n["sum"][n["best_hidden"]] < min(n["sum"][1], n["sum"][32])  # the U
    assert n["train_mse"][32] < n["train_mse"][1]
    assert "Practice to track Biases and Variance" in result.summary()
