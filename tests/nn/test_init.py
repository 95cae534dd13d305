"""Initializers: statistics of 10^6 draws match each formula (std within 2%), fans of Linear and
convolution shapes, gains as PyTorch, orthogonality, SELU self-normalization with
lecun_normal_, LSUV unit variance, reproducibility from a seed."""

import math

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.nn import functional as F
from deepgrad.nn import init

from torch_gate import torch  # gated per test: tests without PyTorch still run

# (out, in) = (500, 2000): 10^6 draws, fan_in = 2000 and fan_out = 500 differ, so a formula
# using the wrong fan fails by a factor of 2 in std
SHAPE = (500, 2000)
FAN_IN, FAN_OUT = 2000, 500
CONV = (100, 50, 10, 20)  # 10^6 draws, fan_in = 50 * 200 = 10^4, fan_out = 2 * 10^4


def _param(shape=SHAPE):
    return nn.Parameter(init.empty(shape))


# (name, initializer, expected std, uniform limit or None, shape)
STATS = [
    ("normal_", lambda w: init.normal_(w, 0.0, 0.3, generator=0), 0.3, None, SHAPE),
    ("uniform_", lambda w: init.uniform_(w, -0.5, 0.5, generator=0), 1 / math.sqrt(12), 0.5,
     SHAPE),
    ("xavier_normal_", lambda w: init.xavier_normal_(w, generator=0),
     math.sqrt(2 / (FAN_IN + FAN_OUT)), None, SHAPE),
    ("xavier_normal_gain", lambda w: init.xavier_normal_(w, gain=5 / 3, generator=0),
     5 / 3 * math.sqrt(2 / (FAN_IN + FAN_OUT)), None, SHAPE),
    ("xavier_uniform_", lambda w: init.xavier_uniform_(w, generator=0),
     math.sqrt(2 / (FAN_IN + FAN_OUT)), math.sqrt(6 / (FAN_IN + FAN_OUT)), SHAPE),
    ("lecun_normal_", lambda w: init.lecun_normal_(w, generator=0), math.sqrt(1 / FAN_IN),
     None, SHAPE),
    ("kaiming_normal_", lambda w: init.kaiming_normal_(w, generator=0), math.sqrt(2 / FAN_IN),
     None, SHAPE),
    ("kaiming_normal_fan_out", lambda w: init.kaiming_normal_(w, mode="fan_out", generator=0),
     math.sqrt(2 / FAN_OUT), None, SHAPE),
    ("kaiming_normal_leaky", lambda w: init.kaiming_normal_(w, a=0.2, generator=0),
     math.sqrt(2 / (1 + 0.04) / FAN_IN), None, SHAPE),
    ("kaiming_normal_tanh", lambda w: init.kaiming_normal_(w, nonlinearity="tanh", generator=0),
     5 / 3 / math.sqrt(FAN_IN), None, SHAPE),
    ("kaiming_uniform_", lambda w: init.kaiming_uniform_(w, generator=0), math.sqrt(2 / FAN_IN),
     math.sqrt(6 / FAN_IN), SHAPE),
    ("kaiming_uniform_sqrt5", lambda w: init.kaiming_uniform_(w, a=math.sqrt(5), generator=0),
     1 / math.sqrt(3 * FAN_IN), 1 / math.sqrt(FAN_IN), SHAPE),
    ("kaiming_normal_conv", lambda w: init.kaiming_normal_(w, generator=0), math.sqrt(2 / 1e4),
     None, CONV),
    ("xavier_uniform_conv", lambda w: init.xavier_uniform_(w, generator=0),
     math.sqrt(2 / 3e4), math.sqrt(6 / 3e4), CONV),
]


@pytest.mark.parametrize("name,fill,std,limit,shape", STATS, ids=[s[0] for s in STATS])
def test_statistics_match_formula(name, fill, std, limit, shape):
    w = _param(shape)
    assert fill(w) is w
    values = w.data.astype(np.float64)
    assert values.size == 10 ** 6
    assert abs(values.std() / std - 1) < 0.02, (values.std(), std)
    assert abs(values.mean()) < 5 * std / math.sqrt(values.size)
    if limit is not None:
        assert values.min() >= -limit and values.max() <= limit
        assert values.max() > 0.999 * limit and values.min() < -0.999 * limit


def test_constant_initializers():
    w = _param((3, 4))
    np.testing.assert_array_equal(init.ones_(w).data, np.ones((3, 4), np.float32))
    np.testing.assert_array_equal(init.zeros_(w).data, np.zeros((3, 4), np.float32))
    np.testing.assert_array_equal(init.constant_(w, 0.5).data, np.full((3, 4), 0.5, np.float32))
    version = w._version
    init.normal_(w, mean=2.0, std=0.0, generator=0)
    np.testing.assert_array_equal(w.data, np.full((3, 4), 2.0, np.float32))
    assert w._version == version + 1  # in-place changes bump the version counter


@pytest.mark.parametrize("shape", [(7, 3), (64, 32, 3, 3), (8, 4, 5), (6, 2, 3, 3, 3), (1, 1)])
def test_fans_match_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._calculate_fan_in_and_fan_out(_param(shape)) == expected


def test_fans_of_linear_and_conv_weights():
    assert init._calculate_fan_in_and_fan_out(nn.Linear(784, 256).weight) == (784, 256)
    assert init._calculate_fan_in_and_fan_out(_param((64, 32, 3, 3))) == (288, 576)
    with pytest.raises(ValueError, match=r"at least 2 dimensions .* got shape \(5,\)"):
        init._calculate_fan_in_and_fan_out(_param((5,)))


@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)])
def test_gains_match_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-12)


@pytest.mark.parametrize("shape,gain", [((64, 128), 1.0), ((128, 64), 1.0), ((50, 50), 2.0),
                                        ((16, 4, 3, 3), 1.0)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape, gain):
    w = init.orthogonal_(_param(shape), gain=gain, generator=1)
    m = w.data.reshape(shape[0], -1).astype(np.float64)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(gram.shape[0]), atol=1e-5 * gain ** 2)


@pytest.mark.parametrize("fill", [
    lambda w, g: init.normal_(w, generator=g), lambda w, g: init.uniform_(w, generator=g),
    lambda w, g: init.xavier_normal_(w, generator=g),
    lambda w, g: init.xavier_uniform_(w, generator=g),
    lambda w, g: init.lecun_normal_(w, generator=g),
    lambda w, g: init.kaiming_normal_(w, generator=g),
    lambda w, g: init.kaiming_uniform_(w, generator=g),
    lambda w, g: init.orthogonal_(w, generator=g)])
def test_same_seed_gives_identical_weights(fill):
    a, b, c = (fill(_param((20, 30)), seed).data for seed in (3, 3, 4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    dg.manual_seed(11)
    d = fill(_param((20, 30)), None).data.copy()
    dg.manual_seed(11)
    np.testing.assert_array_equal(fill(_param((20, 30)), None).data, d)


def test_selu_with_lecun_normal_is_self_normalizing():
    """10 layers of width 500: |mean| < 0.1 and |var - 1| < 0.15 after every SELU."""
    rng = np.random.default_rng(0)
    h = dg.tensor(rng.standard_normal((1000, 500)).astype(np.float32))
    for layer in range(10):
        w = init.lecun_normal_(_param((500, 500)), generator=rng)
        h = F.selu(F.linear(h, w))
        mean, var = float(h.data.mean()), float(h.data.var())
        assert abs(mean) < 0.1, (layer, mean)
        assert abs(var - 1) < 0.15, (layer, var)


def _mlp(seed):
    return nn.Sequential(nn.Linear(32, 64, generator=seed), nn.Tanh(),
                         nn.Linear(64, 64, generator=seed), nn.ReLU(),
                         nn.Linear(64, 48, generator=seed), nn.ELU(),
                         nn.Linear(48, 10, generator=seed))


def _output_variances(model, batch):
    variances = []
    handles = [m.register_forward_hook(lambda m, i, out: variances.append(float(out.data.var())))
               for m in model.modules() if isinstance(m, nn.Linear)]
    with dg.no_grad():
        model(batch)
    for h in handles:
        h.remove()
    return variances


def test_lsuv_gives_unit_output_variance_in_every_linear_layer():
    batch = dg.tensor(3 * np.random.default_rng(1).standard_normal((256, 32)) + 1,
                      dtype="float32")
    model = _mlp(0)
    before = _output_variances(model, batch)
    assert max(abs(v - 1) for v in before) > 0.3  # the default init is far from unit variance
    assert init.lsuv_(model, batch, tol=0.1, generator=5) is model
    after = _output_variances(model, batch)
    assert len(after) == 4
    for v in after:
        assert abs(v - 1) < 0.1, after
    for m in model.modules():  # biases zeroed, weights orthogonal up to one scale
        if isinstance(m, nn.Linear):
            np.testing.assert_array_equal(m.bias.data, 0)
            w = m.weight.data.astype(np.float64)
            gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            np.testing.assert_allclose(gram, gram[0, 0] * np.eye(len(gram)), atol=1e-5)
    # same seed -> identical weights
    again = init.lsuv_(_mlp(0), batch, generator=5)
    for (name, p), (_, q) in zip(model.named_parameters(), again.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


def test_lsuv_tighter_tolerance_and_error_without_layers():
    batch = dg.tensor(np.random.default_rng(2).standard_normal((128, 32)), dtype="float32")
    model = init.lsuv_(_mlp(1), batch, tol=0.01, max_iter=20, generator=0)
    for v in _output_variances(model, batch):
        assert abs(v - 1) < 0.01
    with pytest.raises(ValueError, match="lsuv_: Sequential has no Linear or Conv layer"):
        init.lsuv_(nn.Sequential(nn.ReLU()), batch)


def test_argument_errors():
    w = _param((4, 3))
    with pytest.raises(ValueError, match="kaiming_normal_: mode must be 'fan_in' or 'fan_out', "
                                         "got 'fan_avg'"):
        init.kaiming_normal_(w, mode="fan_avg")
    with pytest.raises(ValueError, match="calculate_gain: unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="uniform_: lower bound a=1 is greater than upper"):
        init.uniform_(w, 1, 0)
    with pytest.raises(ValueError, match="normal_: std must be non-negative, got std=-1"):
        init.normal_(w, 0, -1)
    with pytest.raises(ValueError, match=r"orthogonal_: needs a tensor with at least 2 "
                                         r"dimensions, got shape \(3,\)"):
        init.orthogonal_(_param((3,)))


def test_lsuv_handles_convolutions():
    conv = pytest.importorskip("deepgrad.nn.conv")
    model = nn.Sequential(conv.Conv2d(3, 8, 3, generator=0), nn.ReLU(),
                          conv.Conv2d(8, 8, 3, generator=0), nn.Flatten(),
                          nn.Linear(8 * 8 * 8, 10, generator=0))
    batch = dg.randn(32, 3, 12, 12, generator=1)
    init.lsuv_(model, batch, generator=2)
    variances = []
    handles = [m.register_forward_hook(lambda m, i, out: variances.append(float(out.data.var())))
               for m in (model[0], model[2], model[4])]
    with dg.no_grad():
        model(batch)
    for h in handles:
        h.remove()
    assert len(variances) == 3
    for v in variances:
        assert abs(v - 1) < 0.1, variances
    w = model[2].weight.data.reshape(8, -1).astype(np.float64)  # (8, 72): orthogonal rows
    gram = w @ w.T
    np.testing.assert_allclose(gram, gram[0, 0] * np.eye(8), atol=1e-5)
