"""init: the DD2424 and backprop-notes initialization experiments, checked by their numbers."""

import numpy as np
import pytest
from study_checks import run_quick

from deepgrad.studies import init


def test_init_quick_run(tmp_path):
    result = run_quick("init", tmp_path)
    a = result.numbers["dd2424"]
    # tanh, s = 0.01: activations shrink by about 0.01 sqrt(500) = 0.22 per layer
    tiny = a["tanh/std 0.01"]["activation_std"]
    factor = (tiny[-1] / tiny[0]) ** (1 / 9)
    assert 0.15 < factor < 0.3
    # tanh, s = 1: saturated units, and dL/dW grows from layer 10 down to layer 1
    assert a["tanh/std 1"]["saturated"][4] > 0.8
    assert a["tanh/std 1"]["grad_ratio_1_to_10"] > 1e3
    # ReLU: about half the activations are exactly zero, whatever the scale
    for scheme in init.SCHEMES:
        assert 0.4 < a[f"relu/{scheme}"]["zero_activations"][4] < 0.6
    notes = result.numbers["notes"]
    assert notes["relu/std 0.01"]["activation_std"][-1] < 1e-9
    assert notes["relu/std 1"]["activation_std"][-1] > 1e6
    assert "| relu | He | std dL/dW |" in result.summary()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_init_gradient_claims_over_seeds(seed):
    """Xavier + tanh and He + ReLU keep dL/dW within a small range across the ten layers
    (the notes' "nice range of values at each layer"), with a larger layer 1 for tanh."""
    entries = {}
    for activation, scheme in (("tanh", "Xavier"), ("relu", "He"), ("tanh", "std 0.01")):
        entry = init.stats(activation, *init.dd2424_run(activation, scheme, 100, seed))
        entries[scheme] = entry
    xavier = entries["Xavier"]["grad_w_std"]
    assert max(xavier) / min(xavier) < 2 and xavier[0] > xavier[1]
    he = entries["He"]["grad_s_std"]
    assert max(he) / min(he) < 2  # per-example gradients keep their scale
    small = entries["std 0.01"]["grad_w_std"]
    assert max(small) < 1e-5 and max(small) / min(small) < 2
    np.testing.assert_array_less(entries["He"]["zero_grad_s"], 0.65)
