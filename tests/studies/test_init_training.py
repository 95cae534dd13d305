"""init-training: the LSUV-style table and the factor of two, checked by numbers."""

import numpy as np
import pytest
from study_checks import needs_fashion_mnist, run_quick

from deepgrad.studies import init_training


def test_init_training_quick_run(tmp_path):
    needs_fashion_mnist()
    result = run_quick("init-training", tmp_path)
    table = result.numbers["table"]
    assert len(table) == 24
    # sigmoid does not converge, as in the notes' table
    assert all(table[f"{s}/sigmoid"]["test_accuracy"] is None for s in init_training.SCHEMES)
    # scaled initializations train tanh / ReLU / leaky ReLU; too small or too large do not
    for scheme in ("Xavier", "He", "orthogonal", "LSUV"):
        for activation in ("tanh", "ReLU", "leaky ReLU"):
            assert table[f"{scheme}/{activation}"]["test_accuracy"] > 0.4, (scheme, activation)
    for scheme in ("small N(0, 0.01^2)", "large N(0, 1)"):
        assert table[f"{scheme}/ReLU"]["test_accuracy"] is None
    assert "| LSUV | n/c |" in result.summary()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_factor_of_two_in_a_30_layer_relu_network(seed):
    needs_fashion_mnist()
    data = init_training.load(True, seed)
    finals = {}
    for scheme in ("LeCun N(0, 1/n_in)", "He"):
        model = init_training.build("ReLU", scheme, 30, 32, np.random.default_rng(seed),
                                    data[0][0][:64])
        finals[scheme] = init_training.train(model, data, 100, 64, seed)[1]
    assert finals["LeCun N(0, 1/n_in)"] > init_training.NOT_CONVERGED
    assert finals["He"] < finals["LeCun N(0, 1/n_in)"] - 0.3
