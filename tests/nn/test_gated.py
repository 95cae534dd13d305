"""Gated linear units: shapes, parameter counts, gradcheck in float64, and PyTorch 2.13
compositions with the same weights (values and every gradient, float32)."""

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.autograd import gradcheck
from deepgrad.nn import functional as F

from torch_gate import torch  # gated per test: tests without PyTorch still run
TF = torch.nn.functional

VARIANTS = [
    ("GLU", nn.GLU, {}, torch.sigmoid),
    ("ReGLU", nn.ReGLU, {}, TF.relu),
    ("GEGLU", nn.GEGLU, {}, TF.gelu),
    ("GEGLU_tanh", nn.GEGLU, {"approximate": "tanh"},
     lambda z: TF.gelu(z, approximate="tanh")),
    ("SwiGLU", nn.SwiGLU, {}, TF.silu),
    ("SwiGLU_beta", nn.SwiGLU, {"beta": 1.7}, lambda z: z * torch.sigmoid(1.7 * z)),
]
IDS = [v[0] for v in VARIANTS]
NAMES = ["gate_weight", "gate_bias", "value_weight", "value_bias"]


def _x(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("name,cls,kwargs,gate", VARIANTS, ids=IDS)
def test_shapes_and_parameter_counts(name, cls, kwargs, gate):
    layer = cls(7, 3, generator=0, **kwargs)
    assert [n for n, _ in layer.named_parameters()] == NAMES
    assert layer.num_parameters() == 2 * (7 * 3 + 3)
    assert cls(7, 3, bias=False, **kwargs).num_parameters() == 2 * 7 * 3
    assert layer(dg.tensor(_x((5, 7), np.float32))).shape == (5, 3)
    assert layer(dg.tensor(_x((2, 4, 7), np.float32))).shape == (2, 4, 3)


@pytest.mark.parametrize("name,cls,kwargs,gate", VARIANTS, ids=IDS)
def test_matches_torch_composition_with_same_weights(name, cls, kwargs, gate):
    layer = cls(6, 4, generator=1, **kwargs)
    x_np = _x((5, 6), np.float32, seed=2)
    upstream = _x((5, 4), np.float32, seed=3)
    x = dg.tensor(x_np, requires_grad=True)
    y = layer(x)
    y.backward(dg.tensor(upstream))

    t = torch.tensor(x_np, requires_grad=True)
    w = {n: torch.tensor(getattr(layer, n).data, requires_grad=True) for n in NAMES}
    y_t = gate(TF.linear(t, w["gate_weight"], w["gate_bias"])) \
        * TF.linear(t, w["value_weight"], w["value_bias"])
    (y_t * torch.from_numpy(upstream)).sum().backward()
    tol = dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y.data, y_t.detach().numpy(), **tol)
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), **tol)
    for n in NAMES:
        np.testing.assert_allclose(getattr(layer, n).grad.data, w[n].grad.numpy(), **tol,
                                   err_msg=n)


def test_glu_layer_equals_torch_glu_on_stacked_weights():
    """torch's glu splits (a, b) and returns a * sigmoid(b): stacking V over W gives our GLU."""
    layer = nn.GLU(5, 3, generator=4)
    x_np = _x((4, 5), np.float32, seed=5)
    weight = np.concatenate([layer.value_weight.data, layer.gate_weight.data])
    bias = np.concatenate([layer.value_bias.data, layer.gate_bias.data])
    expected = TF.glu(TF.linear(torch.tensor(x_np), torch.tensor(weight), torch.tensor(bias)))
    np.testing.assert_allclose(layer(dg.tensor(x_np)).data, expected.numpy(), rtol=1e-4,
                               atol=1e-5)
    joined = F.linear(dg.tensor(x_np), dg.tensor(weight), dg.tensor(bias))
    np.testing.assert_allclose(F.glu(joined).data, expected.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,cls,kwargs,gate", VARIANTS, ids=IDS)
def test_gradcheck_float64_input_and_weights(name, cls, kwargs, gate):
    layer = cls(4, 3, generator=6, **kwargs).double()
    x = dg.tensor(_x((2, 4), np.float64, seed=7))
    assert gradcheck(lambda t: layer(t), [x]) is True
    params = [dg.tensor(getattr(layer, n).data.copy()) for n in NAMES]
    assert gradcheck(lambda x, w, b, v, c: F.gated_linear(x, w, b, v, c, layer.gate),
                     [x] + params) is True


def test_default_initialization_and_reproducibility():
    a, b = nn.SwiGLU(16, 8, generator=9), nn.SwiGLU(16, 8, generator=9)
    for n in NAMES:
        np.testing.assert_array_equal(getattr(a, n).data, getattr(b, n).data)
        assert np.abs(getattr(a, n).data).max() <= 1 / 4  # U(-1/sqrt(16), 1/sqrt(16))
    assert not np.array_equal(a.gate_weight.data, a.value_weight.data)


def test_errors_name_the_layer_and_numbers():
    with pytest.raises(ValueError, match=r"GEGLU\(in_features=4, out_features=2\): expected "
                                         r"input whose last dimension is 4, got shape \(3, 5\)"):
        nn.GEGLU(4, 2)(dg.zeros(3, 5))
    with pytest.raises(ValueError, match="ReGLU: out_features must be a positive integer, got 0"):
        nn.ReGLU(3, 0)
    with pytest.raises(ValueError, match="GEGLU: approximate must be"):
        nn.GEGLU(3, 2, approximate="fast")
