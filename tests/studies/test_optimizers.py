"""optimizers: momentum in a ravine, both regimes, and the network comparison, by numbers."""

import numpy as np
from study_checks import needs_fashion_mnist, run_quick

from deepgrad.studies import optimizers


def test_optimizers_quick_run(tmp_path):
    needs_fashion_mnist()
    result = run_quick("optimizers", tmp_path)
    zig = result.numbers["quadratic"]["zig-zag regime"]
    # SGD at lr x curvature = 1.9 reverses across the valley at (almost) every step
    assert zig["SGD"]["reversals"] >= 95 and zig["SGD"]["path_ratio"] > 4
    # momentum with the same effective step: far fewer reversals, a shorter path, lower f
    for name in ("momentum", "Nesterov"):
        assert zig[name]["reversals"] < 0.3 * zig["SGD"]["reversals"], name
        assert zig[name]["path_ratio"] < 0.5 * zig["SGD"]["path_ratio"], name
        assert zig[name]["final_loss"] < 0.1 * zig["SGD"]["final_loss"], name
    smooth = result.numbers["quadratic"]["smooth regime"]
    assert smooth["SGD"]["reversals"] == 0 and smooth["momentum"]["reversals"] > 10
    net = result.numbers["fashion_mnist"]
    assert all(0.5 < v["test_accuracy"] <= 1 for v in net.values())


def test_path_shape():
    straight = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    assert optimizers.path_shape(straight) == (0, 1.0)
    zigzag = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [3.0, 1.0]])
    reversals, ratio = optimizers.path_shape(zigzag)
    assert reversals == 2 and np.isclose(ratio, 3 * np.sqrt(2) / np.sqrt(10))
