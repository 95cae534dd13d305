"""Convolution and pooling primitives: gradcheck (reverse + forward mode, float64) and equality
with PyTorch (float32), over a table of strides, paddings, dilations and odd sizes, in both
column orders of the im2col matrix."""

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.autograd import gradcheck
from deepgrad.nn import functional_conv as F
from deepgrad.ops import conv as conv_ops
from graph_checks import (check_in_place_change_is_caught, check_two_graphs_stay_exact,
                          conv_inputs)

# (N, C, H, W, C_out, kernel, stride, padding, dilation, bias)
CONV_CASES = [
    (2, 2, 5, 5, 3, (3, 3), 1, 0, 1, True),
    (1, 3, 6, 7, 2, (3, 2), 2, 1, 1, True),             # odd sizes, stride 2, padding
    (2, 2, 7, 6, 2, (2, 3), (2, 1), (1, 2), (2, 1), False),  # mixed pairs, dilation, no bias
    (1, 1, 5, 5, 1, (5, 5), 1, 0, 1, True),             # kernel as large as the input
    (2, 3, 4, 5, 3, (1, 1), 1, 0, 1, True),             # 1x1 convolution
    (1, 2, 5, 6, 2, (2, 4), 1, "same", 1, True),        # asymmetric "same" padding
    (1, 2, 9, 9, 2, (2, 2), 3, 0, 1, False),            # stride > kernel: pixels skipped
    (1, 2, 6, 6, 2, (3, 3), 1, 2, 2, True),             # padding + dilation
]


@pytest.fixture(params=["batch_last", "batch_first"])
def column_order(request, monkeypatch):
    """Run a test with each column order of im2col (they must give identical numbers)."""
    width = 10**9 if request.param == "batch_last" else 0
    monkeypatch.setattr(conv_ops, "BATCH_LAST_BELOW_WIDTH", width)
    return request.param


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_gradcheck_reverse_and_forward(case, column_order):
    x, weight, b = conv_inputs(case, np.float64)
    stride, padding, dilation = case[6:9]
    inputs = [x, weight] + ([b] if b is not None else [])

    def f(x, weight, *rest):
        return F.conv2d(x, weight, rest[0] if rest else None, stride, padding, dilation)

    assert gradcheck(f, [dg.tensor(a, requires_grad=True) for a in inputs])


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("case", CONV_CASES + [(8, 20, 12, 12, 50, (5, 5), 1, 0, 1, True),
                                               (4, 1, 28, 28, 20, (5, 5), 1, 0, 1, True)])
def test_conv2d_matches_torch_float32(case, column_order):
    torch = pytest.importorskip("torch")
    x, weight, b = conv_inputs(case, np.float32, seed=1)
    stride, padding, dilation = case[6:9]
    xt = dg.tensor(x, requires_grad=True)
    wt = dg.tensor(weight, requires_grad=True)
    bt = dg.tensor(b, requires_grad=True) if b is not None else None
    y = F.conv2d(xt, wt, bt, stride, padding, dilation)
    g = np.random.default_rng(2).standard_normal(y.shape).astype(np.float32)
    y.backward(dg.tensor(g))

    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(weight, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if b is not None else None
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride, padding, dilation)
    ty.backward(torch.tensor(g))

    # float32 sums of `terms` products of O(1) numbers: rounding error grows like sqrt(terms)
    fan_in = weight[0].size
    terms_w = y.shape[0] * y.shape[2] * y.shape[3]
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-4,
                               atol=1e-5 * np.sqrt(fan_in))
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-4,
                               atol=1e-5 * np.sqrt(weight.shape[0] * weight[0, 0].size))
    np.testing.assert_allclose(wt.grad.data, tw.grad.numpy(), rtol=1e-4,
                               atol=1e-5 * np.sqrt(terms_w))
    if b is not None:
        np.testing.assert_allclose(bt.grad.data, tb.grad.numpy(), rtol=1e-4,
                                   atol=1e-5 * np.sqrt(terms_w))
    assert y.dtype == np.float32 and xt.grad.dtype == np.float32


def test_column_orders_give_identical_numbers(monkeypatch):
    x, weight, b = conv_inputs((3, 4, 9, 11, 5, (3, 3), 1, 0, 1, True), np.float32)
    results = []
    for width in (0, 10**9):
        monkeypatch.setattr(conv_ops, "BATCH_LAST_BELOW_WIDTH", width)
        xt, wt = dg.tensor(x, requires_grad=True), dg.tensor(weight, requires_grad=True)
        y = F.conv2d(xt, wt, b, stride=2, padding=1)
        y.sum().backward()
        results.append((y.data, xt.grad.data, wt.grad.data))
    for first, second in zip(*results):
        np.testing.assert_allclose(first, second, rtol=1e-6, atol=1e-6)


def test_conv2d_input_gradient_skipped_when_not_needed():
    x, weight, b = conv_inputs(CONV_CASES[0], np.float32)
    xt = dg.tensor(x)  # e.g. the images fed to the first layer
    wt = dg.tensor(weight, requires_grad=True)
    F.conv2d(xt, wt, b).sum().backward()
    assert xt.grad is None
    # d(sum y)/dW[o, c, i, j] = sum over n and output positions of the input pixel it meets
    expected = np.stack([np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3))
                         .sum(axis=(0, 2, 3))] * 3)
    np.testing.assert_allclose(wt.grad.data, expected, rtol=1e-5, atol=1e-4)


def test_conv_output_size_formula():
    # floor((H + 2p - d(k - 1) - 1) / s) + 1
    assert conv_ops.conv_output_size(28, 5, 1, 0, 0, 1) == 24
    assert conv_ops.conv_output_size(7, 3, 2, 1, 1, 1) == 4
    assert conv_ops.conv_output_size(6, 3, 1, 2, 2, 2) == 6
    assert conv_ops.conv_output_size(9, 2, 3, 0, 0, 1) == 3


# --- pooling ------------------------------------------------------------------------------------
# (function, torch function name, shape, keyword arguments)
POOL_CASES = [
    (F.max_pool2d, "max_pool2d", (2, 2, 6, 6), dict(kernel_size=2)),                # tiled
    (F.max_pool2d, "max_pool2d", (2, 3, 7, 5), dict(kernel_size=2)),                # odd: crop
    (F.max_pool2d, "max_pool2d", (1, 2, 7, 7), dict(kernel_size=3, stride=2)),      # overlap
    (F.max_pool2d, "max_pool2d", (2, 2, 5, 6), dict(kernel_size=3, stride=2, padding=1)),
    (F.max_pool2d, "max_pool2d", (1, 2, 6, 5), dict(kernel_size=(3, 2), stride=1,
                                                    padding=(1, 0))),
    (F.max_pool2d, "max_pool2d", (1, 2, 7, 7), dict(kernel_size=2, stride=1, dilation=2)),
    (F.avg_pool2d, "avg_pool2d", (2, 2, 6, 6), dict(kernel_size=2)),
    (F.avg_pool2d, "avg_pool2d", (1, 3, 7, 5), dict(kernel_size=3, stride=2, padding=1)),
    (F.avg_pool2d, "avg_pool2d", (2, 2, 5, 6), dict(kernel_size=(2, 3), stride=(1, 2))),
    (F.adaptive_avg_pool2d, "adaptive_avg_pool2d", (2, 2, 7, 5), dict(output_size=(3, 2))),
    (F.adaptive_avg_pool2d, "adaptive_avg_pool2d", (1, 2, 5, 6), dict(output_size=(5, 4))),
    (F.adaptive_avg_pool2d, "adaptive_avg_pool2d", (2, 3, 4, 6), dict(output_size=1)),
    (F.adaptive_avg_pool2d, "adaptive_avg_pool2d", (1, 2, 3, 3), dict(output_size=(6, 4))),
]


@pytest.mark.parametrize("fn, _name, shape, kwargs", POOL_CASES)
def test_pooling_gradcheck_reverse_and_forward(fn, _name, shape, kwargs):
    # distinct values (a permutation) keep the maxima away from ties for finite differences
    rng = np.random.default_rng(3)
    x = rng.permutation(np.prod(shape)).reshape(shape) / 7.0
    assert gradcheck(lambda t: fn(t, **kwargs), [dg.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("fn, name, shape, kwargs", POOL_CASES)
def test_pooling_matches_torch_float32(fn, name, shape, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape).astype(np.float32)
    xt = dg.tensor(x, requires_grad=True)
    y = fn(xt, **kwargs)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(dg.tensor(g))
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch.nn.functional, name)(tx, **kwargs)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_max_pool_ties_first_maximum_gets_the_whole_gradient():
    torch = pytest.importorskip("torch")
    x = np.array([[[[1.0, 1.0, 0.0, 2.0],
                    [1.0, 0.0, 2.0, 2.0],
                    [3.0, 3.0, 5.0, 5.0],
                    [3.0, 3.0, 5.0, 5.0]]]], dtype=np.float32)
    xt = dg.tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, 2)
    y.sum().backward()
    expected = np.array([[[[1, 0, 0, 1],
                           [0, 0, 0, 0],
                           [1, 0, 1, 0],
                           [0, 0, 0, 0]]]], dtype=np.float32)
    np.testing.assert_array_equal(y.data, [[[[1, 2], [3, 5]]]])
    np.testing.assert_array_equal(xt.grad.data, expected)
    tx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(tx, 2).sum().backward()
    np.testing.assert_array_equal(xt.grad.data, tx.grad.numpy())


def test_max_pool_ties_in_overlapping_windows_accumulate():
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 1, 5, 5), dtype=np.float32)  # every window is one big tie
    xt = dg.tensor(x, requires_grad=True)
    F.max_pool2d(xt, 3, stride=1, padding=1).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(tx, 3, stride=1, padding=1).sum().backward()
    np.testing.assert_array_equal(xt.grad.data, tx.grad.numpy())
    assert xt.grad.data.sum() == 25  # one unit of gradient per output element


def test_max_pool_jvp_follows_the_winner():
    x = np.array([[[[4.0, 4.0], [1.0, 9.0]]]])
    x_dot = np.array([[[[10.0, 20.0], [30.0, 40.0]]]])
    _, y_dot = dg.autograd.jvp(lambda t: F.max_pool2d(t, 2), (dg.tensor(x),),
                               (dg.tensor(x_dot),))
    np.testing.assert_array_equal(y_dot.data, [[[[40.0]]]])
    x2 = np.array([[[[4.0, 4.0], [1.0, 2.0]]]])  # tie: the first 4 wins
    _, y_dot = dg.autograd.jvp(lambda t: F.max_pool2d(t, 2), (dg.tensor(x2),),
                               (dg.tensor(x_dot),))
    np.testing.assert_array_equal(y_dot.data, [[[[10.0]]]])


def test_max_pool_propagates_nan_like_torch():
    torch = pytest.importorskip("torch")
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 1, 1] = np.nan
    xt = dg.tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, 2)
    y.sum().backward()
    ty = torch.nn.functional.max_pool2d(torch.tensor(x), 2)
    np.testing.assert_array_equal(y.data, ty.numpy())  # NaN where torch has NaN
    assert np.isnan(y.data[0, 0, 0, 0]) and xt.grad.data[0, 0, 1, 1] == 1
    assert xt.grad.data.sum() == 4


def test_avg_pool_counts_padding_in_the_divisor():
    x = np.ones((1, 1, 2, 2), dtype=np.float32)
    y = F.avg_pool2d(dg.tensor(x), 2, stride=2, padding=1)
    # each 2x2 window holds one real 1 and three zeros of padding: 1/4
    np.testing.assert_allclose(y.data, np.full((1, 1, 2, 2), 0.25))


def test_adaptive_pool_matrix_uses_pytorch_bins():
    p = conv_ops.adaptive_pool_matrix(5, 3, np.float64)
    # bins [0, 2), [1, 4), [3, 5): floor(i*5/3) .. ceil((i+1)*5/3)
    expected = np.array([[1 / 2, 1 / 2, 0, 0, 0],
                         [0, 1 / 3, 1 / 3, 1 / 3, 0],
                         [0, 0, 0, 1 / 2, 1 / 2]])
    np.testing.assert_allclose(p, expected)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_global_avg_pool_is_the_spatial_mean():
    x = np.random.default_rng(5).standard_normal((3, 4, 5, 6))
    np.testing.assert_allclose(F.global_avg_pool2d(dg.tensor(x)).data, x.mean(axis=(2, 3)))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(dg.tensor(x), 1).data,
                               x.mean(axis=(2, 3), keepdims=True))


# --- memory layouts and the workspace ----------------------------------------------------------
LAYOUTS = {"nchw": (0, 1, 2, 3), "cnhw": (1, 0, 2, 3), "chwn": (1, 2, 3, 0)}


def _in_layout(array, layout):
    """The same (N, C, H, W) values stored with the axes `layout` outermost-first."""
    stored = np.ascontiguousarray(array.transpose(layout))
    out = stored.transpose(np.argsort(layout))
    assert conv_ops._layout(out) == layout
    return out


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
@pytest.mark.parametrize("fn, kwargs", [(F.max_pool2d, dict(kernel_size=2)),
                                        (F.max_pool2d, dict(kernel_size=3, stride=2)),
                                        (F.avg_pool2d, dict(kernel_size=2))])
def test_pooling_gradient_takes_the_input_layout_and_gradchecks(layout, fn, kwargs):
    rng = np.random.default_rng(5)
    x = _in_layout(rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) / 5.0, layout)
    xt = dg.tensor(x, requires_grad=True)
    y = fn(xt, **kwargs)
    y.backward(np.ones(y.shape))
    assert conv_ops._layout(xt.grad.data) == layout
    # same numbers as from a C-ordered input
    xc = dg.tensor(np.ascontiguousarray(x), requires_grad=True)
    fn(xc, **kwargs).backward(np.ones(y.shape))
    np.testing.assert_array_equal(xt.grad.data, xc.grad.data)
    assert gradcheck(lambda t: fn(t, **kwargs), [dg.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_conv2d_on_any_input_layout_gradchecks(layout, column_order):
    x, weight, b = conv_inputs((2, 3, 6, 5, 2, (3, 2), 1, 1, 1, True), np.float64)
    inputs = [dg.tensor(_in_layout(x, layout), requires_grad=True),
              dg.tensor(weight, requires_grad=True), dg.tensor(b, requires_grad=True)]
    assert gradcheck(lambda a, w, c: F.conv2d(a, w, c, padding=1), inputs)


def test_conv_output_keeps_the_column_layout_and_pool_hands_it_back(column_order):
    # conv -> max pool -> conv: the first conv's output is a view of its column matrix, the
    # pool's gradient comes back in that layout, so the conv's backward needs no copy
    rng = np.random.default_rng(6)
    x = dg.tensor(rng.standard_normal((4, 2, 10, 10)))
    w1 = dg.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    w2 = dg.tensor(rng.standard_normal((2, 3, 2, 2)), requires_grad=True)
    h = F.conv2d(x, w1)
    expected = (1, 2, 3, 0) if column_order == "batch_last" else (1, 0, 2, 3)
    assert conv_ops._layout(h.data) == expected and h.data.base is not None
    h.retain_grad()
    F.conv2d(F.max_pool2d(h, 2), w2).sum().backward()
    assert conv_ops._layout(h.grad.data) == expected
    g2 = conv_ops._to_columns(h.grad.data, column_order == "batch_last")
    assert np.shares_memory(g2, h.grad.data)  # a view, not a copy


def test_scratch_buffers_are_reused_per_name_and_per_thread():
    import threading

    from deepgrad.ops import workspace
    a = workspace.scratch("test.a", (3, 4), np.float32)
    b = workspace.scratch("test.a", (3, 2), np.float64)  # fits in the same bytes: same buffer
    c = workspace.scratch("test.c", (3, 4), np.float32)
    assert a.shape == (3, 4) and b.shape == (3, 2) and b.dtype == np.float64
    assert np.shares_memory(a, b) and not np.shares_memory(a, c)
    assert a.flags.c_contiguous and b.flags.c_contiguous
    seen = []
    thread = threading.Thread(target=lambda: seen.append(workspace.scratch("test.a", (3, 4),
                                                                           np.float32)))
    thread.start()
    thread.join()
    assert not np.shares_memory(seen[0], a)
    assert workspace.held_bytes() >= 2 * 48
    workspace.release()
    assert workspace.held_bytes() == 0


def _separate(x, w):
    return F.max_pool2d(F.conv2d(x, w), 2)


def test_two_graphs_alive_at_once_get_their_own_gradients(column_order):
    # the workspace holds only per-call temporaries
    check_two_graphs_stay_exact(_separate)


def test_changing_the_conv_input_in_place_before_backward_is_caught():
    # backward rebuilds the column matrix from the saved input
    check_in_place_change_is_caught(_separate)


def test_max_pool_window_of_minus_infinity_next_to_padding_matches_torch():
    # every real element of the first windows is -inf, like the padding: the gradient must go
    # to the first real element (as in PyTorch), never into the padding where it would be lost
    torch = pytest.importorskip("torch")
    x = np.full((1, 2, 4, 5), -np.inf)
    x[:, :, 2:, 2:] = np.arange(12.0).reshape(2, 2, 3)
    xt = dg.tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, 3, stride=2, padding=1)
    y.backward(np.ones(y.shape))
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, 3, stride=2, padding=1)
    ty.backward(torch.ones_like(ty))
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    np.testing.assert_array_equal(xt.grad.data, tx.grad.numpy())
    assert xt.grad.data.sum() == y.size  # every window's gradient arrived somewhere


@pytest.mark.parametrize("case", [c for c in CONV_CASES if c[6] == 1 and c[8] == 1])
def test_input_gradient_by_transposed_conv_equals_col2im(case, column_order, monkeypatch):
    # stride 1, no dilation: dx is the output gradient convolved with the turned kernel (one
    # im2col gather) instead of col2im's added slabs; both are the same sums
    x, weight, b = conv_inputs(case, np.float64)
    kwargs = dict(stride=case[6], padding=case[7], dilation=case[8])
    cotangent = np.random.default_rng(8).standard_normal(F.conv2d(x, weight, b, **kwargs).shape)
    grads = []
    for full in (True, False):
        monkeypatch.setattr(conv_ops, "_gather_input_gradient",
                            lambda geo, w_shape: conv_ops._full_geometry(geo) if full else None)
        xt = dg.tensor(x, requires_grad=True)
        y = F.conv2d(xt, weight, b, **kwargs)
        assert conv_ops._full_geometry(y._node.geo) is not None
        y.backward(cotangent)
        grads.append(xt.grad.data)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-12)


def test_input_gradient_path_follows_the_column_matrix_sizes():
    geo = conv_ops._Geometry((14, 14), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    assert conv_ops._gather_input_gradient(geo, (16, 32, 3, 3)) is not None  # 32 -> 16 channels
    assert conv_ops._gather_input_gradient(geo, (32, 32, 3, 3)) is not None
    assert conv_ops._gather_input_gradient(geo, (32, 16, 3, 3)) is None  # widening: col2im
    lenet = conv_ops._Geometry((12, 12), (5, 5), (1, 1), (0, 0, 0, 0), (1, 1))
    assert conv_ops._gather_input_gradient(lenet, (50, 20, 5, 5)) is None  # 8x8 from 12x12
    strided = conv_ops._Geometry((14, 14), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1))
    assert conv_ops._gather_input_gradient(strided, (16, 16, 3, 3)) is None
