"""The fused convolution + max-pooling primitive (ops/conv_pool.py): gradcheck (reverse and
forward mode, float64), equality with the composed conv2d -> max_pool2d and with PyTorch, in
both output layouts; its buffers, layouts and the nn-level fusion (Sequential, LeNet)."""

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.autograd import gradcheck
from deepgrad.models import LeNet
from deepgrad.nn import functional_conv as F
from deepgrad.ops import conv_pool, workspace
from graph_checks import (check_in_place_change_is_caught, check_two_graphs_stay_exact,
                          conv_inputs)

# (N, C, H, W, C_out, kernel, stride, padding, dilation, bias, pool)
CASES = [
    (2, 2, 8, 8, 3, (3, 3), 1, 0, 1, True, (2, 2)),
    (3, 2, 9, 11, 4, (3, 3), 1, 0, 1, True, (2, 2)),        # odd conv output: floor mode
    (2, 3, 10, 9, 5, (3, 2), (2, 1), 1, (1, 2), True, (2, 3)),  # mixed pairs, non-square pool
    (1, 2, 7, 7, 2, (3, 3), 1, "same", 1, False, (3, 3)),   # padding, 3x3 pool, no bias
    (2, 1, 6, 6, 2, (1, 1), 1, 0, 1, True, (1, 1)),         # 1x1 conv, 1x1 pool
    (2, 2, 9, 9, 3, (2, 2), 2, 1, 2, True, (2, 2)),         # stride + padding + dilation
]


@pytest.fixture(params=["channels_first", "channels_last"])
def layout(request, monkeypatch):
    """Run a test with each output layout of the fused product."""
    rows = 10**9 if request.param == "channels_first" else 0
    monkeypatch.setattr(conv_pool, "CHANNELS_LAST_FROM_ROWS", rows)
    return request.param


def _fused(case):
    stride, padding, dilation, _, pool = case[6:]
    return lambda x, w, *b: F.conv2d_max_pool2d(x, w, b[0] if b else None, stride, padding,
                                                 dilation, pool)


def _composed(case):
    stride, padding, dilation, _, pool = case[6:]
    return lambda x, w, *b: F.max_pool2d(F.conv2d(x, w, b[0] if b else None, stride, padding,
                                                  dilation), pool)


def _leaves(arrays):
    return [dg.tensor(a, requires_grad=True) for a in arrays if a is not None]


@pytest.mark.parametrize("case", CASES)
def test_gradcheck_reverse_and_forward(case, layout):
    assert gradcheck(_fused(case), _leaves(conv_inputs(case, np.float64)))


@pytest.mark.parametrize("case", CASES)
def test_equals_the_composed_primitives(case, layout):
    arrays = conv_inputs(case, np.float64, seed=3)
    results = []
    for f in (_fused(case), _composed(case)):
        leaves = _leaves(arrays)
        y = f(*leaves)
        g = np.random.default_rng(4).standard_normal(y.shape)
        y.backward(dg.tensor(g))
        results.append([y.data] + [t.grad.data for t in leaves])
    assert results[0][0].shape == results[1][0].shape
    for fused, composed in zip(*results):
        np.testing.assert_allclose(fused, composed, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES + [(8, 20, 12, 12, 50, (5, 5), 1, 0, 1, True, (2, 2)),
                                          (4, 1, 28, 28, 20, (5, 5), 1, 0, 1, True, (2, 2))])
def test_matches_torch_float32(case, layout):
    torch = pytest.importorskip("torch")
    x, weight, b = conv_inputs(case, np.float32, seed=1)
    stride, padding, dilation, _, pool = case[6:]
    leaves = _leaves((x, weight, b))
    y = _fused(case)(*leaves)
    g = np.random.default_rng(2).standard_normal(y.shape).astype(np.float32)
    y.backward(dg.tensor(g))
    tleaves = [torch.tensor(a, requires_grad=True) for a in (x, weight, b) if a is not None]
    tb = tleaves[2] if b is not None else None
    if padding == "same":
        padding = tuple(d * (k - 1) // 2 for k, d in zip(case[5], (1, 1)))
    ty = torch.nn.functional.max_pool2d(
        torch.nn.functional.conv2d(tleaves[0], tleaves[1], tb, stride, padding, dilation),
        pool)
    ty.backward(torch.tensor(g))
    scale = np.sqrt(weight[0].size)  # float32 rounding of sums of fan_in products
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-4, atol=1e-5 * scale)
    for ours, theirs in zip(leaves, tleaves):
        terms = np.sqrt(y.size)
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-4,
                                   atol=1e-5 * terms * scale)
    assert y.dtype == np.float32 and leaves[0].grad.dtype == np.float32


def test_ties_go_to_the_first_maximum_like_torch(layout):
    torch = pytest.importorskip("torch")
    # a zero image gives equal convolution outputs in every window: the first one wins
    x = np.zeros((2, 1, 6, 6), np.float32)
    weight = np.random.default_rng(5).standard_normal((3, 1, 3, 3)).astype(np.float32)
    xt, wt = dg.tensor(x, requires_grad=True), dg.tensor(weight, requires_grad=True)
    F.conv2d_max_pool2d(xt, wt, pool_size=2).sum().backward()
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(weight, requires_grad=True)
    torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(tx, tw), 2).sum().backward()
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(wt.grad.data, tw.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_nan_propagates_as_in_the_composed_primitives(layout):
    x, weight, b = conv_inputs(CASES[0], np.float64, seed=6)
    x[0, 1, 2, 3] = np.nan
    outs = []
    for f in (_fused(CASES[0]), _composed(CASES[0])):
        leaves = _leaves((x, weight, b))
        y = f(*leaves)
        y.sum().backward()
        outs.append((y.data, leaves[2].grad.data))
    np.testing.assert_array_equal(np.isnan(outs[0][0]), np.isnan(outs[1][0]))
    assert np.isnan(outs[0][0]).any()
    np.testing.assert_allclose(outs[0][1], outs[1][1], equal_nan=True)


def test_output_is_laid_out_batch_last_and_the_next_layer_reads_it_without_a_copy():
    rng = np.random.default_rng(9)
    x = dg.tensor(rng.standard_normal((3, 1, 12, 12)))
    w1 = dg.tensor(rng.standard_normal((4, 1, 3, 3)), requires_grad=True)
    w2 = dg.tensor(rng.standard_normal((5, 4, 3, 3)), requires_grad=True)
    h = F.conv2d_max_pool2d(x, w1, pool_size=2)            # (3, 4, 5, 5)
    assert h.data.transpose(1, 2, 3, 0).flags.c_contiguous
    from deepgrad.ops.conv import _Geometry, batch_last_padded
    geo = _Geometry(h.shape[2:], (3, 3), (1, 1), (0, 0, 0, 0), (1, 1))
    assert np.shares_memory(batch_last_padded(h.data, geo), h.data)
    assert gradcheck(lambda a, b: F.conv2d_max_pool2d(F.conv2d_max_pool2d(x, a, pool_size=2),
                                                      b, pool_size=1), [w1, w2])


def test_two_graphs_and_a_retained_graph_stay_exact(layout):
    # the column matrix saved for backward lives in a reused buffer: a second forward before
    # the first backward must get a buffer of its own
    check_two_graphs_stay_exact(F.conv2d_max_pool2d)
    rng = np.random.default_rng(7)
    x = dg.tensor(rng.standard_normal((2, 2, 8, 8)))
    w = dg.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    fused = dg.autograd.grad(F.conv2d_max_pool2d(x, w).sum(), [w])[0]
    composed = dg.autograd.grad(F.max_pool2d(F.conv2d(x, w), 2).sum(), [w])[0]
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-12)


def test_changing_the_input_in_place_before_backward_is_caught():
    check_in_place_change_is_caught(F.conv2d_max_pool2d)


def test_pool_larger_than_the_convolution_output_is_named():
    x = dg.tensor(np.zeros((1, 1, 4, 4)))
    w = dg.tensor(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d_max_pool2d: pool_size \(3, 3\) is larger "
                                         r"than the convolution's output size \(2, 2\)"):
        F.conv2d_max_pool2d(x, w, pool_size=3)


def test_reusable_buffers_are_handed_out_again_only_when_free():
    workspace.release()
    a = workspace.reusable("test.r", (3, 4), np.float32)
    b = workspace.reusable("test.r", (3, 4), np.float32)
    assert not np.shares_memory(a, b)          # a is still alive
    address = a.__array_interface__["data"][0]
    del a
    c = workspace.reusable("test.r", (2, 6), np.float32)
    assert c.__array_interface__["data"][0] == address  # a's buffer again
    view = c[1:]
    del c
    d = workspace.reusable("test.r", (3, 4), np.float32)
    assert not np.shares_memory(d, view)        # a view keeps the buffer in use
    big = workspace.reusable("test.r", (100, 100), np.float64)
    assert big.shape == (100, 100) and big.flags.c_contiguous
    assert workspace.held_bytes() >= 80_000
    workspace.release()
    assert workspace.held_bytes() == 0


# --- the fusion in nn ---------------------------------------------------------------------------
def _conv_pool_model(pool=None, seed=0):
    return nn.Sequential(nn.Conv2d(2, 3, 3, generator=seed), pool or nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(3 * 3 * 3, 2, generator=seed))


def _loss_and_grads(model, x):
    for p in model.parameters():
        p.grad = None
    loss = model(x).sum()
    loss.backward()
    return loss.item(), [p.grad.data.copy() for p in model.parameters()]


def test_nn_fuse_runs_conv_and_tiling_max_pool_as_one_primitive_with_close_numbers():
    x = dg.tensor(np.random.default_rng(1).standard_normal((4, 2, 8, 8)))
    model = _conv_pool_model().double()
    assert type(model[:2](x)._node).__name__ == "MaxPool2d"  # never fused unless asked
    composed = _loss_and_grads(model, x)
    assert nn.fuse(model) is model
    assert type(model[:2](x)._node).__name__ == "Conv2dMaxPool2d"
    fused = _loss_and_grads(model, x)
    np.testing.assert_allclose(fused[0], composed[0], rtol=1e-12)
    for a, b in zip(fused[1], composed[1]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    nn.unfuse(model)
    assert type(model[:2](x)._node).__name__ == "MaxPool2d"
    again = _loss_and_grads(model, x)
    assert again[0] == composed[0]
    for a, b in zip(again[1], composed[1]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("pool", [nn.MaxPool2d(2, stride=1), nn.MaxPool2d(2, padding=1),
                                  nn.AvgPool2d(2)])
def test_overlapping_padded_or_average_pooling_is_not_fused(pool):
    x = dg.tensor(np.random.default_rng(1).standard_normal((2, 2, 8, 8)))
    model = nn.fuse(nn.Sequential(nn.Conv2d(2, 3, 3), pool))
    assert type(model(x)._node).__name__ in ("MaxPool2d", "AvgPool2d")


def test_fused_pair_reports_a_too_large_pool_as_max_pool2d_does():
    model = nn.fuse(nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(4)))
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=\(4, 4\)"):
        model(dg.tensor(np.zeros((1, 1, 5, 5), np.float32)))
    with pytest.raises(ValueError, match=r"Conv2d\(in_channels=1, out_channels=1, "
                                         r"kernel_size=\(3, 3\)\): expected input of shape "
                                         r"\(N, 1, H, W\), got \(5, 5\)"):
        model(dg.tensor(np.zeros((5, 5), np.float32)))


def test_observing_lenet_never_changes_its_numbers():
    rng = np.random.default_rng(3)
    x = dg.tensor(rng.standard_normal((4, 1, 28, 28)).astype(np.float32))
    model = LeNet(generator=0)
    plain = _loss_and_grads(model, x)
    seen = []
    handles = [m.register_forward_hook(lambda m, i, o: seen.append(o.shape))
               for m in (model.conv1, model.conv2)]
    watched = _loss_and_grads(model, x)
    for handle in handles:
        handle.remove()
    assert seen == [(4, 20, 24, 24), (4, 50, 8, 8)]
    assert watched[0] == plain[0]  # bit for bit
    for a, b in zip(watched[1], plain[1]):
        np.testing.assert_array_equal(a, b)


def test_fused_lenet_is_close_and_refuses_hooks_instead_of_unfusing():
    rng = np.random.default_rng(3)
    x = dg.tensor(rng.standard_normal((4, 1, 28, 28)).astype(np.float32))
    model = LeNet(generator=0)
    composed = _loss_and_grads(model, x)
    nn.fuse(model)
    assert type(model.features(x)._node).__name__ == "Conv2dMaxPool2d"
    assert len(nn.fusion.fused_pairs(model)) == 2
    fused = _loss_and_grads(model, x)
    # the same math, other summation orders: close, not equal (docs/conv.md)
    np.testing.assert_allclose(fused[0], composed[0], rtol=1e-5)
    for a, b in zip(fused[1], composed[1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max())
    for module in (model.conv1, model.pool2):
        with pytest.raises(RuntimeError, match=r"runs fused with .* \(nn.fuse\), so its hooks "
                                               r"would never be called; nn.unfuse\(model\)"):
            module.register_forward_hook(lambda m, i, o: None)
    nn.unfuse(model)
    handle = model.conv1.register_forward_pre_hook(lambda m, i: None)
    with pytest.raises(RuntimeError, match=r"nn.fuse: Conv2d\(1, 20.* has forward hooks"):
        nn.fuse(model)
    handle.remove()


def test_a_free_buffer_too_small_is_replaced_not_added():
    workspace.release()
    small = workspace.reusable("test.g", (10,), np.float32)
    del small
    large = workspace.reusable("test.g", (1000,), np.float32)
    assert large.shape == (1000,) and workspace.held_bytes() == 4000
    workspace.release()


@pytest.mark.parametrize("x_dtype,w_dtype", [(np.float32, np.float64), (np.float64, np.float32),
                                             (np.float32, np.float32)])
def test_output_dtype_is_that_of_the_separate_primitives(x_dtype, w_dtype, layout):
    x, weight, b = conv_inputs(CASES[0], np.float64, seed=2)
    x, weight = x.astype(x_dtype), weight.astype(w_dtype)
    fused = F.conv2d_max_pool2d(dg.tensor(x), dg.tensor(weight), dg.tensor(b.astype(w_dtype)))
    composed = F.max_pool2d(F.conv2d(dg.tensor(x), dg.tensor(weight),
                                     dg.tensor(b.astype(w_dtype))), 2)
    assert fused.dtype == composed.dtype
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-5, atol=1e-5)


def test_constants_are_made_once_read_only_and_bounded():
    made = []

    def make():
        made.append(1)
        return np.ones(3)

    a = workspace.constant(("test", 3), make)
    b = workspace.constant(("test", 3), make)
    assert a is b and len(made) == 1 and not a.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        a[0] = 2.0
    for i in range(200):  # many keys: the cache starts afresh instead of growing
        workspace.constant(("test", "many", i), lambda: np.zeros(1))
    assert len(workspace._CONSTANTS) <= 128
