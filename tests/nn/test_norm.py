"""BatchNorm1d/2d and LayerNorm: against PyTorch 2.13 (forward, every gradient, running
statistics after several steps, eval), the fused batch-norm primitive against the same math
composed of primitives (reverse and forward mode), gradcheck (float64), layer declarations
(parameters, buffers, train/eval) and the error messages.
"""

import contextlib

import numpy as np
import pytest

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad import nn
from deepgrad.autograd import gradcheck, jvp
from deepgrad.engine import Function
from deepgrad.ops import fast

from torch_gate import torch  # gated per test: tests without PyTorch still run

TOL = {np.float32: dict(atol=1e-5, rtol=1e-4), np.float64: dict(atol=1e-10, rtol=1e-8)}

# (deepgrad class, torch class, input shape)
BATCH_NORMS = [
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 5)),
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (4, 3, 6)),
    (nn.BatchNorm2d, torch.nn.BatchNorm2d, (4, 3, 5, 2)),
]
BN_IDS = ["1d_features", "1d_sequence", "2d"]
# memory layouts of the input (outermost axis first): C order, and the channel-outermost
# layouts convolutions leave, which batch norm processes as (C, m) channel rows
ORDERS = {"C_order": None, "CNHW": (1, 0, 2, 3), "CHWN": (1, 2, 3, 0)}


def _same_affine(ours, theirs, gamma, beta):
    """Give a deepgrad and a torch normalization layer the same gamma and beta."""
    with dg.no_grad():
        ours.weight.copy_(gamma)
        ours.bias.copy_(beta)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(gamma))
        theirs.bias.copy_(torch.from_numpy(beta))


def _pair(dg_cls, torch_cls, channels, dtype, rng, **kwargs):
    """A deepgrad layer and a torch layer with the same random gamma and beta."""
    ours = dg_cls(channels, **kwargs)
    theirs = torch_cls(channels, **kwargs)
    if dtype == np.float64:
        ours.double()
        theirs.double()
    if ours.affine:
        _same_affine(ours, theirs, rng.uniform(0.5, 2, channels), rng.standard_normal(channels))
    return ours, theirs


def _batch(rng, shape, dtype, step=0):
    # shifted and scaled so that the running statistics move away from (0, 1)
    return (rng.standard_normal(shape) * (1.5 + step) + 0.7 * step).astype(dtype)


# --- the channel-rows path: inputs whose memory keeps each channel contiguous ------------------
class _Relayout(Function):
    """Identity whose output's memory is laid out in the axis order `order` (outermost first),
    as a convolution leaves its output: (1, 0, 2, 3) or (1, 2, 3, 0)."""

    def forward(ctx, x, order):
        ctx.order = order
        return _laid_out(x, order)

    def backward(ctx, grad_out):
        return grad_out

    def jvp(ctx, x_dot):
        return _laid_out(x_dot, ctx.order)


def _laid_out(x, order):
    return np.ascontiguousarray(x.transpose(order)).transpose(np.argsort(order))


LAYOUTS = [(1, 0, 2, 3), (1, 2, 3, 0)]


@pytest.mark.parametrize("momentum", [0.1, None], ids=["momentum", "cumulative"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dg_cls, torch_cls, shape, order",
                         [c + (None,) for c in BATCH_NORMS] + [
                             BATCH_NORMS[2] + (ORDERS["CNHW"],),
                             BATCH_NORMS[2] + (ORDERS["CHWN"],)],
                         ids=BN_IDS + ["2d_CNHW", "2d_CHWN"])
def test_batch_norm_matches_torch_over_training_steps(dg_cls, torch_cls, shape, order, dtype,
                                                      momentum):
    rng = np.random.default_rng(0)
    relayout = (lambda t: t) if order is None else (lambda t: _Relayout.apply(t, order=order))
    ours, theirs = _pair(dg_cls, torch_cls, shape[1], dtype, rng, momentum=momentum)
    for step in range(5):
        x = _batch(rng, shape, dtype, step)
        cotangent = rng.standard_normal(shape).astype(dtype)
        xd = dg.tensor(x, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        ours.zero_grad()
        theirs.zero_grad()
        y, yt = ours(relayout(xd)), theirs(xt)
        assert y._node.rows_axes == order  # the channel-rows path runs on those layouts
        y.backward(cotangent)
        yt.backward(torch.from_numpy(cotangent))
        assert y.dtype == dtype
        np.testing.assert_allclose(y.data, yt.detach().numpy(), **TOL[dtype])
        np.testing.assert_allclose(xd.grad.data, xt.grad.numpy(), **TOL[dtype])
        np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(),
                                   **TOL[dtype])
        np.testing.assert_allclose(ours.bias.grad.data, theirs.bias.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(),
                               **TOL[dtype])
    np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(),
                               **TOL[dtype])
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked) == 5
    # eval: the running statistics are used, and the gradient is gamma / sigma
    ours.eval()
    theirs.eval()
    x = _batch(rng, shape, dtype, 2)
    xd, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = ours(relayout(xd)), theirs(xt)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(xd.grad.data, xt.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(),
                               **TOL[dtype])  # unchanged by eval


@pytest.mark.parametrize("affine, track", [(False, True), (True, False)],
                         ids=["no_affine", "no_running_stats"])
def test_batch_norm_options_match_torch(affine, track):
    rng = np.random.default_rng(1)
    ours, theirs = _pair(nn.BatchNorm2d, torch.nn.BatchNorm2d, 3, np.float64, rng,
                         affine=affine, track_running_stats=track)
    for mode in ("train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        x = _batch(rng, (4, 3, 2, 2), np.float64, 1)
        xd, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours(xd).sum().backward()
        (theirs(xt) * 1.0).sum().backward()
        np.testing.assert_allclose(ours(xd).data, theirs(xt).detach().numpy(), atol=1e-10)
        np.testing.assert_allclose(xd.grad.data, xt.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 6), (4, 3, 5, 2)], ids=BN_IDS)
def test_fused_batch_norm_equals_composed(shape):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape) * 2 + 1
    gamma, beta = rng.uniform(0.5, 2, shape[1]), rng.standard_normal(shape[1])
    cotangent = rng.standard_normal(shape)
    tangents = [rng.standard_normal(v.shape) for v in (x, gamma, beta)]
    results = []
    for fn in (lambda a, w, b: F.batch_norm(a, None, None, w, b, training=True),
               lambda a, w, b: F.batch_norm_composed(a, w, b)):
        leaves = [dg.tensor(v, requires_grad=True) for v in (x, gamma, beta)]
        out = fn(*leaves)
        out.backward(cotangent)
        _, out_dot = jvp(fn, (x, gamma, beta), tuple(tangents))
        results.append((out.data, [t.grad.data for t in leaves], out_dot.data))
    (fused, fused_grads, fused_dot), (composed, composed_grads, composed_dot) = results
    np.testing.assert_allclose(fused, composed, atol=1e-12)
    for a, b in zip(fused_grads, composed_grads):
        np.testing.assert_allclose(a, b, atol=1e-12)
    np.testing.assert_allclose(fused_dot, composed_dot, atol=1e-12)


def test_batch_norm_closed_form_gradient():
    # dx = (gamma / sigma)(dy - mean(dy) - x_hat mean(dy x_hat)), written out with NumPy
    rng = np.random.default_rng(4)
    x, dy = rng.standard_normal((10, 3)), rng.standard_normal((10, 3))
    gamma = rng.uniform(0.5, 2, 3)
    xd = dg.tensor(x, requires_grad=True)
    F.batch_norm(xd, None, None, dg.tensor(gamma), dg.tensor(np.zeros(3)),
                 training=True, eps=1e-5).backward(dy)
    sigma = np.sqrt(x.var(axis=0) + 1e-5)
    x_hat = (x - x.mean(axis=0)) / sigma
    expected = gamma / sigma * (dy - dy.mean(axis=0) - x_hat * (dy * x_hat).mean(axis=0))
    np.testing.assert_allclose(xd.grad.data, expected, atol=1e-13)


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 4), (3, 2, 2, 3)], ids=BN_IDS)
def test_batch_norm_gradcheck(shape):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    gamma, beta = rng.uniform(0.5, 2, shape[1]), rng.standard_normal(shape[1])
    assert gradcheck(lambda a, w, b: F.batch_norm(a, None, None, w, b, training=True),
                     [x, gamma, beta])
    assert gradcheck(lambda a: F.batch_norm(a, None, None, training=True), [x])
    running_mean = dg.tensor(rng.standard_normal(shape[1]))
    running_var = dg.tensor(rng.uniform(0.5, 2, shape[1]))
    assert gradcheck(lambda a, w, b: F.batch_norm(a, running_mean, running_var, w, b,
                                                  training=False), [x, gamma, beta])


def test_batch_norm_layer_declarations():
    layer = nn.BatchNorm2d(16)
    assert layer.num_parameters() == 32
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert list(layer.state_dict()) == list(torch.nn.BatchNorm2d(16).state_dict())
    np.testing.assert_array_equal(layer.weight.data, np.ones(16))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(16))
    np.testing.assert_array_equal(layer.running_var.data, np.ones(16))
    assert layer.weight.dtype == np.float32
    assert nn.BatchNorm1d(8, affine=False).num_parameters() == 0
    assert list(nn.BatchNorm1d(8, track_running_stats=False).state_dict()) == ["weight", "bias"]
    assert repr(layer) == ("BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, "
                           "track_running_stats=True)")


def test_batch_norm_train_and_eval_behaviour():
    rng = np.random.default_rng(6)
    layer = nn.BatchNorm1d(3)
    x = dg.tensor((rng.standard_normal((32, 3)) * 3 + 2).astype(np.float32))
    y = layer(x)  # training: batch statistics -> zero mean, unit variance per channel
    np.testing.assert_allclose(y.data.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(y.data.var(axis=0), 1, rtol=1e-4)
    mean, var = x.data.mean(axis=0), x.data.var(axis=0, ddof=1)
    np.testing.assert_allclose(layer.running_mean.data, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(layer.running_var.data, 0.9 + 0.1 * var, rtol=1e-5)
    layer.eval()
    before = layer.running_mean.data.copy()
    y = layer(x)  # eval: the running statistics, not the batch's
    expected = (x.data - layer.running_mean.data) / np.sqrt(layer.running_var.data + 1e-5)
    np.testing.assert_allclose(y.data, expected, rtol=1e-5)
    np.testing.assert_array_equal(layer.running_mean.data, before)
    assert int(layer.num_batches_tracked.item()) == 1
    np.testing.assert_allclose(layer(x[:1]).data, expected[:1], rtol=1e-5)  # 1 example is fine


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"^BatchNorm2d\(num_features=16\): expected input of "
                                         r"shape \(N, 16, H, W\), got \(8, 3, 32, 32\)$"):
        nn.BatchNorm2d(16)(dg.zeros(8, 3, 32, 32))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(num_features=4\): expected input of "
                                         r"shape \(N, 4\) or \(N, 4, L\), got \(2, 4, 3, 3\)"):
        nn.BatchNorm1d(4)(dg.zeros(2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(num_features=16\): expected more than 1 "
                                         r"value per channel when training, got input of "
                                         r"shape \(1, 16\)"):
        nn.BatchNorm1d(16)(dg.zeros(1, 16))
    with pytest.raises(ValueError, match=r"batch_norm: expected more than 1 value per channel"):
        F.batch_norm(dg.zeros(1, 3, 1, 1), None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: weight must have shape \(3,\)"):
        F.batch_norm(dg.zeros(2, 3), None, None, dg.ones(4), dg.zeros(4), training=True)
    with pytest.raises(ValueError, match=r"BatchNorm1d: num_features must be a positive "
                                         r"integer, got 0"):
        nn.BatchNorm1d(0)


# --- LayerNorm ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, normalized", [((4, 6), 6), ((2, 3, 4, 5), (4, 5))],
                         ids=["features", "trailing_2d"])
def test_layer_norm_matches_torch(shape, normalized, dtype):
    rng = np.random.default_rng(7)
    ours, theirs = nn.LayerNorm(normalized), torch.nn.LayerNorm(normalized)
    if dtype == np.float64:
        ours.double()
        theirs.double()
    _same_affine(ours, theirs, rng.uniform(0.5, 2, ours.weight.shape),
                 rng.standard_normal(ours.bias.shape))
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    cotangent = rng.standard_normal(shape).astype(dtype)
    for mode in ("train", "eval"):  # the same in both modes
        getattr(ours, mode)()
        ours.zero_grad()
        theirs.zero_grad()
        xd, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, yt = ours(xd), theirs(xt)
        y.backward(cotangent)
        yt.backward(torch.from_numpy(cotangent))
        np.testing.assert_allclose(y.data, yt.detach().numpy(), **TOL[dtype])
        np.testing.assert_allclose(xd.grad.data, xt.grad.numpy(), **TOL[dtype])
        np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(),
                                   **TOL[dtype])
        np.testing.assert_allclose(ours.bias.grad.data, theirs.bias.grad.numpy(), **TOL[dtype])
    assert ours.num_parameters() == 2 * int(np.prod(ours.normalized_shape))


def test_layer_norm_gradcheck_and_no_affine():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 2, 4))
    gamma, beta = rng.uniform(0.5, 2, (2, 4)), rng.standard_normal((2, 4))
    assert gradcheck(lambda a, w, b: F.layer_norm(a, (2, 4), w, b), [x, gamma, beta])
    layer = nn.LayerNorm(4, elementwise_affine=False)
    assert layer.num_parameters() == 0
    y = layer(dg.tensor(x))
    expected = torch.nn.functional.layer_norm(torch.from_numpy(x), (4,)).numpy()
    np.testing.assert_allclose(y.data, expected, atol=1e-12)


def test_layer_norm_errors():
    with pytest.raises(ValueError, match=r"LayerNorm\(normalized_shape=\(8,\)\): expected input "
                                         r"whose trailing dimensions are \(8,\), got shape "
                                         r"\(4, 6\)"):
        nn.LayerNorm(8)(dg.zeros(4, 6))
    with pytest.raises(ValueError, match=r"layer_norm: expected input whose trailing "
                                         r"dimensions are \(3, 4\), got shape \(4, 3\)"):
        F.layer_norm(dg.zeros(4, 3), (3, 4))


@pytest.mark.parametrize("order", LAYOUTS, ids=["CNHW", "CHWN"])
def test_batch_norm_channel_rows_gradcheck(order):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 2, 2, 3))
    gamma, beta = rng.uniform(0.5, 2, 2), rng.standard_normal(2)
    node = F.batch_norm(_Relayout.apply(dg.tensor(x, requires_grad=True), order=order), None,
                        None, training=True)._node
    assert node.rows_axes == order  # the channel-rows path ran
    assert gradcheck(lambda a, w, b: F.batch_norm(_Relayout.apply(a, order=order), None, None,
                                                  w, b, training=True), [x, gamma, beta])
    assert gradcheck(lambda a: F.batch_norm(_Relayout.apply(a, order=order), None, None,
                                            training=True), [x])
    running_mean = dg.tensor(rng.standard_normal(2))
    running_var = dg.tensor(rng.uniform(0.5, 2, 2))
    assert gradcheck(lambda a, w, b: F.batch_norm(_Relayout.apply(a, order=order), running_mean,
                                                  running_var, w, b, training=False),
                     [x, gamma, beta])


@pytest.mark.parametrize("order", LAYOUTS, ids=["CNHW", "CHWN"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_channel_rows_equal_the_plain_path(order, training):
    rng = np.random.default_rng(7)
    layer = nn.BatchNorm2d(4).double().train(training)
    x, cotangent = _batch(rng, (6, 4, 5, 3), np.float64, 1), rng.standard_normal((6, 4, 5, 3))
    results = []
    for rows in (True, False):
        with fast.disabled() if not rows else contextlib.nullcontext():
            xd = dg.tensor(x, requires_grad=True)
            y = layer(_Relayout.apply(xd, order=order) if rows else xd)
            assert y._node.rows_axes == (order if rows else None)
            y.backward(_laid_out(cotangent, order) if rows else cotangent)
            results.append([y.data, xd.grad.data, layer.weight.grad.data, layer.bias.grad.data])
            layer.zero_grad()
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
