"""Activations: one table drives every activation, as a module and as a function, through
output shape, gradcheck in float64 (reverse, forward and the dot-product test) and PyTorch 2.13
as an oracle for values and gradients in float32. Then: the fused primitives against the same
functions composed of primitives, stability at huge logits, PReLU parameters, errors.

A row: (name, module factory or None, deepgrad function, torch function, shape, domain).
Domains keep inputs away from kinks (0, and softplus's threshold) so finite differences hold.
"""

import math

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn, ops
from deepgrad.autograd import gradcheck, jvp
from deepgrad.nn import functional as F

from torch_gate import torch  # gated per test: tests without PyTorch still run
TF = torch.nn.functional

SLOPES = np.array([0.1, 0.25, -0.3], dtype=np.float32)
SOBOLEVA = dict(a=0.5, b=1.5, c=1.2, d=0.8)


def _prelu_channels():
    m = nn.PReLU(3)
    m.weight.data[...] = SLOPES
    return m


def _torch_soboleva(t, a, b, c, d):
    return (torch.exp(a * t) - torch.exp(-b * t)) / (torch.exp(c * t) + torch.exp(-d * t))


def _away(rng, shape, scale=1.0, kinks=(0.0,)):
    """Normal samples times `scale`, moved at least 0.1 away from each kink."""
    x = rng.standard_normal(shape) * scale
    for k in kinks:
        near = np.abs(x - k) < 0.1
        x = np.where(near, x + 0.2 * np.where(x >= k, 1, -1), x)
    return x


ANY = dict()
SOFTPLUS_2_3 = dict(kinks=(0.0, 1.5))  # beta x = threshold at x = 1.5
LARGE = dict(scale=12.0, kinks=(0.0, 20.0))

TABLE = [
    ("identity", nn.Identity, F.identity, lambda t: t * 1, (3, 4), ANY),
    ("step", nn.Step, F.step, lambda t: (t >= 0).to(t.dtype) + 0 * t, (3, 4), ANY),
    ("sigmoid", nn.Sigmoid, F.sigmoid, torch.sigmoid, (3, 4), ANY),
    ("tanh", nn.Tanh, F.tanh, torch.tanh, (3, 4), ANY),
    ("soboleva_is_tanh", nn.SobolevaTanh, F.soboleva_tanh, torch.tanh, (3, 4), ANY),
    ("soboleva", lambda: nn.SobolevaTanh(**SOBOLEVA), lambda x: F.soboleva_tanh(x, **SOBOLEVA),
     lambda t: _torch_soboleva(t, **SOBOLEVA), (3, 4), ANY),
    ("relu", nn.ReLU, F.relu, TF.relu, (3, 4), ANY),
    ("leaky_relu", nn.LeakyReLU, F.leaky_relu, TF.leaky_relu, (3, 4), ANY),
    ("leaky_relu_0.2", lambda: nn.LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2),
     lambda t: TF.leaky_relu(t, 0.2), (3, 4), ANY),
    ("prelu_shared", nn.PReLU, lambda x: F.prelu(x, dg.tensor([0.25])),
     lambda t: TF.prelu(t, torch.tensor([0.25])), (2, 3, 4), ANY),
    ("prelu_channels", _prelu_channels, lambda x: F.prelu(x, dg.tensor(SLOPES)),
     lambda t: TF.prelu(t, torch.tensor(SLOPES)), (2, 3, 4), ANY),
    ("elu", nn.ELU, F.elu, TF.elu, (3, 4), ANY),
    ("elu_0.7", lambda: nn.ELU(0.7), lambda x: F.elu(x, 0.7), lambda t: TF.elu(t, 0.7), (3, 4),
     ANY),
    ("selu", nn.SELU, F.selu, TF.selu, (3, 4), ANY),
    ("gelu", nn.GELU, F.gelu, TF.gelu, (3, 4), ANY),
    ("gelu_tanh", lambda: nn.GELU("tanh"), lambda x: F.gelu(x, "tanh"),
     lambda t: TF.gelu(t, approximate="tanh"), (3, 4), ANY),
    ("softplus", nn.Softplus, F.softplus, TF.softplus, (3, 4), ANY),
    ("softplus_beta2_threshold3", lambda: nn.Softplus(2.0, 3.0),
     lambda x: F.softplus(x, 2.0, 3.0), lambda t: TF.softplus(t, beta=2.0, threshold=3.0),
     (3, 4), SOFTPLUS_2_3),
    ("softplus_large_inputs", nn.Softplus, F.softplus, TF.softplus, (4, 5), LARGE),
    ("silu", nn.SiLU, F.silu, TF.silu, (3, 4), ANY),
    ("swish_1.5", lambda: nn.Swish(1.5), lambda x: F.swish(x, 1.5),
     lambda t: t * torch.sigmoid(1.5 * t), (3, 4), ANY),
    ("swish_trainable", lambda: nn.Swish(0.8, trainable=True), lambda x: F.swish(x, 0.8),
     lambda t: t * torch.sigmoid(0.8 * t), (3, 4), ANY),
    ("softmax", nn.Softmax, F.softmax, lambda t: TF.softmax(t, dim=-1), (3, 4), ANY),
    ("softmax_dim1", lambda: nn.Softmax(1), lambda x: F.softmax(x, 1),
     lambda t: TF.softmax(t, dim=1), (2, 3, 4), ANY),
    ("log_softmax", nn.LogSoftmax, F.log_softmax, lambda t: TF.log_softmax(t, dim=-1), (3, 4),
     ANY),
    ("log_softmax_dim0", lambda: nn.LogSoftmax(0), lambda x: F.log_softmax(x, 0),
     lambda t: TF.log_softmax(t, dim=0), (3, 4), ANY),
    ("glu_halves", None, F.glu, TF.glu, (3, 6), ANY),
    ("glu_halves_dim0", None, lambda x: F.glu(x, 0), lambda t: TF.glu(t, 0), (4, 3), ANY),
]
IDS = [row[0] for row in TABLE]


def _input(shape, domain, dtype, seed=0):
    return _away(np.random.default_rng(seed), shape, **domain).astype(dtype)


def _callables(make_module, fn):
    """The function, and the module (if any), as functions of one tensor."""
    out = [("function", fn)]
    if make_module is not None:
        out.append(("module", make_module()))
    return out


@pytest.mark.parametrize("name,make_module,fn,torch_fn,shape,domain", TABLE, ids=IDS)
def test_output_shape(name, make_module, fn, torch_fn, shape, domain):
    x = dg.tensor(_input(shape, domain, np.float32))
    expected = tuple(torch_fn(torch.from_numpy(x.data)).shape)
    for kind, f in _callables(make_module, fn):
        y = f(x)
        assert y.shape == expected, kind
        assert y.dtype == np.float32, kind


@pytest.mark.parametrize("name,make_module,fn,torch_fn,shape,domain", TABLE, ids=IDS)
def test_gradcheck_float64(name, make_module, fn, torch_fn, shape, domain):
    x = dg.tensor(_input(shape, domain, np.float64), requires_grad=True)
    assert gradcheck(fn, [x]) is True
    if make_module is not None:
        module = make_module().double()
        assert gradcheck(lambda t: module(t), [x]) is True


@pytest.mark.parametrize("name,make_module,fn,torch_fn,shape,domain", TABLE, ids=IDS)
def test_matches_torch_float32(name, make_module, fn, torch_fn, shape, domain):
    x_np = _input(shape, domain, np.float32)
    t = torch.tensor(x_np, requires_grad=True)
    y_t = torch_fn(t)
    upstream = np.random.default_rng(1).standard_normal(tuple(y_t.shape)).astype(np.float32)
    (y_t * torch.from_numpy(upstream)).sum().backward()
    for kind, f in _callables(make_module, fn):
        x = dg.tensor(x_np, requires_grad=True)
        y = f(x)
        np.testing.assert_allclose(y.data, y_t.detach().numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name} {kind} value")
        y.backward(dg.tensor(upstream))
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name} {kind} gradient")


# --- fused primitives against their compositions -----------------------------------------------
def _composed_softmax(x, axis):
    e = ops.exp(x - x.amax(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _composed_log_softmax(x, axis):
    z = x - x.amax(axis=axis, keepdims=True)
    return z - ops.log(ops.exp(z).sum(axis=axis, keepdims=True))


def _composed_soboleva(x, a, b, c, d):
    return (ops.exp(x * a) - ops.exp(x * -b)) / (ops.exp(x * c) + ops.exp(x * -d))


FUSED = [
    ("softmax", lambda x: F.softmax(x, 1), lambda x: _composed_softmax(x, 1)),
    ("log_softmax", lambda x: F.log_softmax(x, 0), lambda x: _composed_log_softmax(x, 0)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.3),
     lambda x: ops.where(x > 0, x, x * 0.3)),
    ("elu", lambda x: F.elu(x, 1.3), lambda x: ops.where(x > 0, x, (ops.exp(x) - 1) * 1.3)),
    ("selu", F.selu, lambda x: ops.where(x > 0, x, (ops.exp(x) - 1) * F.SELU_ALPHA)
     * F.SELU_SCALE),
    ("softplus", lambda x: F.softplus(x, 1.5), lambda x: ops.log(ops.exp(x * 1.5) + 1) / 1.5),
    ("soboleva", lambda x: F.soboleva_tanh(x, **SOBOLEVA),
     lambda x: _composed_soboleva(x, **SOBOLEVA)),
]


@pytest.mark.parametrize("name,fused,composed", FUSED, ids=[r[0] for r in FUSED])
def test_fused_primitive_equals_composition(name, fused, composed):
    rng = np.random.default_rng(2)
    x_np = _away(rng, (3, 5), scale=2.0)
    direction = rng.standard_normal(x_np.shape)
    upstream = rng.standard_normal(x_np.shape)
    results = []
    for f in (fused, composed):
        x = dg.tensor(x_np, requires_grad=True)
        y = f(x)
        y.backward(dg.tensor(upstream))
        _, y_dot = jvp(f, (dg.tensor(x_np),), (dg.tensor(direction),))
        results.append((y.data, x.grad.data, y_dot.data))
    for got, want, what in zip(results[0], results[1], ("value", "gradient", "tangent")):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=what)


# --- stability ---------------------------------------------------------------------------------
def test_softmax_and_log_softmax_are_finite_for_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]], np.float32)
    x = dg.tensor(logits, requires_grad=True)
    p = F.softmax(x, 1)
    np.testing.assert_allclose(p.data, [[1, 0, 0], [0, 0, 1], [0.5, 0.5, 0]], atol=1e-7)
    p.backward(dg.tensor(np.ones_like(logits)))
    assert np.isfinite(x.grad.data).all()
    x2 = dg.tensor(logits, requires_grad=True)
    log_p = F.log_softmax(x2, 1)
    np.testing.assert_allclose(log_p.data, [[0, -2e4, -1e4], [-2e4, -2e4, 0],
                                            [-math.log(2), -math.log(2), -2e4 - math.log(2)]],
                               rtol=1e-6)
    log_p.sum().backward()
    assert np.isfinite(x2.grad.data).all()
    # d/dx sum(log_softmax) = 1 - C p: for the row (1e4, -1e4, 0) that is (-2, 1, 1)
    np.testing.assert_allclose(x2.grad.data[0], [-2, 1, 1], atol=1e-6)


def test_soboleva_and_softplus_are_finite_at_extremes():
    x = dg.tensor(np.array([-1e4, -100.0, 100.0, 1e4], np.float32), requires_grad=True)
    y = F.soboleva_tanh(x, a=0.5, b=0.5, c=1.0, d=1.0)  # a <= c, b <= d: bounded
    np.testing.assert_allclose(y.data, [0, 0, 0, 0], atol=1e-20)
    y.sum().backward()
    assert np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(F.soboleva_tanh(x).data, [-1, -1, 1, 1])
    np.testing.assert_allclose(F.softplus(x).data, [0, 0, 100, 1e4], atol=1e-30)
    np.testing.assert_allclose(F.softplus(x, beta=0.01, threshold=1e9).data,
                               [0, 100 * math.log1p(math.exp(-1)), 100 + 100 * math.log1p(
                                   math.exp(-1)), 1e4], rtol=1e-6, atol=1e-30)


# --- parameters: PReLU and trainable Swish -----------------------------------------------------
def test_prelu_parameter_counts_and_default_init():
    assert nn.PReLU().num_parameters() == 1
    assert nn.PReLU(7).num_parameters() == 7
    np.testing.assert_array_equal(nn.PReLU(4).weight.data, np.full(4, 0.25, np.float32))
    np.testing.assert_array_equal(nn.PReLU(2, init=0.1).weight.data, np.float32([0.1, 0.1]))
    assert [n for n, _ in nn.PReLU(3).named_parameters()] == ["weight"]


@pytest.mark.parametrize("num_parameters,shape", [(1, (4, 3, 5)), (3, (4, 3, 5)), (3, (6, 3))])
def test_prelu_slope_gradient_matches_torch(num_parameters, shape):
    x_np = _input(shape, ANY, np.float32, seed=3)
    slopes = np.linspace(0.05, 0.4, num_parameters).astype(np.float32)
    module = nn.PReLU(num_parameters)
    module.weight.data[...] = slopes
    x = dg.tensor(x_np, requires_grad=True)
    y = module(x)
    upstream = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    y.backward(dg.tensor(upstream))
    t = torch.tensor(x_np, requires_grad=True)
    w = torch.tensor(slopes, requires_grad=True)
    y_t = TF.prelu(t, w)
    (y_t * torch.from_numpy(upstream)).sum().backward()
    np.testing.assert_allclose(y.data, y_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(module.weight.grad.data, w.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_prelu_gradcheck_in_slopes():
    x = dg.tensor(_input((3, 2, 4), ANY, np.float64, seed=5))
    w = dg.tensor(np.array([0.2, -0.1]))
    assert gradcheck(lambda x, w: F.prelu(x, w), [x, w]) is True
    assert gradcheck(lambda x, w: F.prelu(x, w), [x, dg.tensor(np.array([0.3]))]) is True


def test_trainable_swish_beta_gradient_matches_torch():
    x_np = _input((4, 5), ANY, np.float32, seed=6)
    module = nn.Swish(1.3, trainable=True)
    assert module.num_parameters() == 1 and nn.Swish(1.3).num_parameters() == 0
    x = dg.tensor(x_np, requires_grad=True)
    module(x).sum().backward()
    t = torch.tensor(x_np, requires_grad=True)
    beta = torch.tensor(1.3, requires_grad=True)
    (t * torch.sigmoid(beta * t)).sum().backward()
    np.testing.assert_allclose(module.beta.grad.data, beta.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-4, atol=1e-5)
    b = dg.tensor(np.array(1.3))
    assert gradcheck(lambda x, b: F.swish(x, b), [dg.tensor(x_np.astype(np.float64)), b])


def test_step_passes_no_gradient_and_silu_is_swish_one():
    x = dg.tensor(_input((10,), ANY, np.float32), requires_grad=True)
    F.step(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(10, np.float32))
    np.testing.assert_array_equal(F.step(dg.tensor([-1.0, 0.0, 2.0])).data, [0, 1, 1])
    np.testing.assert_allclose(F.silu(x).data, F.swish(x, 1.0).data)


# --- errors ------------------------------------------------------------------------------------
def test_bad_negative_slope_type_names_layer_and_argument():
    with pytest.raises(TypeError, match=r"LeakyReLU: negative_slope must be a real number, got "
                                        r"str '0.1'"):
        nn.LeakyReLU("0.1")
    with pytest.raises(TypeError, match="leaky_relu: negative_slope"):
        F.leaky_relu(dg.tensor([1.0]), None)


def test_prelu_channel_mismatch_names_layer_and_numbers():
    with pytest.raises(ValueError, match=r"PReLU\(num_parameters=3\): expected input with 3 "
                                         r"channels on axis 1, got shape \(2, 4\) \(4 channels\)"):
        nn.PReLU(3)(dg.zeros(2, 4))
    with pytest.raises(ValueError, match=r"PReLU\(num_parameters=3\).*no channel axis"):
        nn.PReLU(3)(dg.zeros(3))
    with pytest.raises(ValueError, match=r"prelu: weight has 2 slopes .* 5 channels"):
        F.prelu(dg.zeros(1, 5), dg.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="PReLU: num_parameters must be a positive integer"):
        nn.PReLU(0)


def test_other_argument_errors():
    with pytest.raises(ValueError, match="GELU: approximate must be 'none' or 'tanh', got 'erf'"):
        nn.GELU("erf")
    with pytest.raises(ValueError, match="softplus: beta must be positive, got beta=0.0"):
        F.softplus(dg.zeros(2), beta=0)
    with pytest.raises(ValueError, match="softmax: dim 2 is out of range"):
        F.softmax(dg.zeros(2, 3), dim=2)
    with pytest.raises(ValueError, match=r"glu: dimension -1 must have an even size .* size 5"):
        F.glu(dg.zeros(2, 5))
    with pytest.raises(TypeError, match="ELU: alpha must be a real number"):
        nn.ELU("1")


def test_reprs_show_hyperparameters():
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.Softplus(2, 5)) == "Softplus(beta=2.0, threshold=5.0)"
    assert repr(nn.Swish(0.5, trainable=True)) == "Swish(beta=0.5, trainable=True)"
    assert repr(nn.LogSoftmax(1)) == "LogSoftmax(dim=1)"
