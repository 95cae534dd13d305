"""Losses and penalties: one table of cases drives the comparison with PyTorch 2.13 (value and
gradients, module and function, every reduction, float32 and float64) and gradcheck (float64,
reverse + forward mode + dot-product test). Then stability, the fused-vs-composed check of
softmax + cross-entropy, the penalties and the error messages.
"""

import numpy as np
import pytest

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad import nn, ops
from deepgrad.autograd import gradcheck
from deepgrad.ops import nn_ops

from torch_gate import torch  # gated per test: tests without PyTorch still run
TF = torch.nn.functional

TOL = {np.float32: dict(atol=1e-5, rtol=1e-4), np.float64: dict(atol=1e-10, rtol=1e-8)}
REDUCTIONS = ["mean", "sum", "none"]


# --- data makers: (rng) -> (input, target) in float64 / int64 ----------------------------------
def logits_labels(shape=(6, 5), ignore=None, fill=-100):
    def make(rng):
        x = rng.standard_normal(shape)
        labels_shape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
        y = rng.integers(0, shape[min(1, len(shape) - 1)], size=labels_shape)
        if ignore is not None:
            y.reshape(-1)[list(ignore)] = fill
        return x, y
    return make


def logits_probs(shape=(6, 5)):
    def make(rng):
        x = rng.standard_normal(shape)
        t = np.exp(rng.standard_normal(shape))
        return x, t / t.sum(axis=1, keepdims=True)
    return make


def log_probs_labels(shape=(6, 5), ignore=None):
    def make(rng):
        x, y = logits_labels(shape, ignore)(rng)
        return x - np.log(np.exp(x).sum(axis=1, keepdims=True)), y
    return make


def probs_and_targets(rng):
    return rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))


def logits_and_targets(rng):
    return rng.standard_normal((4, 3)) * 2, rng.uniform(0, 1, (4, 3))


def regression(rng):
    x = rng.standard_normal((4, 3))
    # keep x - y away from 0 (the kink of |x - y|)
    gap = rng.uniform(0.2, 1.0, (4, 3)) * rng.choice([-1, 1], (4, 3))
    return x, x + gap


def scores_signs(margin):
    def make(rng):
        y = rng.choice([-1, 1], 8)
        # y s sits at least 0.2 away from the kink at margin (hinge) or 0 (perceptron)
        ys = margin + rng.uniform(0.2, 1.5, 8) * rng.choice([-1, 1], 8)
        return ys * y, y
    return make


def margin_scores(rng):
    # scores on a grid of 0.5 with a small jitter: no violation margin - x_y + x_c sits at 0
    x = rng.integers(-4, 5, (6, 4)) * 0.5 + rng.uniform(-0.1, 0.1, (6, 4))
    x += 0.25  # with margin 1 or 0.5 the hinge arguments are then >= 0.05 away from 0
    return x, rng.integers(0, 4, 6)


def _torch_hinge(x, t, reduction, margin=1.0):
    loss = torch.clamp(margin - t * x, min=0)
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


def _torch_perceptron(x, t, reduction):
    loss = torch.clamp(-t * x, min=0)
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


W5 = np.array([0.5, 2.0, 1.0, 0.25, 1.5])
W4 = np.array([1.0, 0.5, 2.0, 1.5])

# (id, deepgrad function, deepgrad module class, torch function, kwargs, make, target is
#  differentiable)
CASES = [
    ("mse", F.mse_loss, nn.MSELoss, TF.mse_loss, {}, regression, True),
    ("l1", F.l1_loss, nn.L1Loss, TF.l1_loss, {}, regression, True),
    ("bce", F.binary_cross_entropy, nn.BCELoss, TF.binary_cross_entropy, {},
     probs_and_targets, True),
    ("bce_weight", F.binary_cross_entropy, nn.BCELoss, TF.binary_cross_entropy,
     {"weight": np.array([0.5, 1.0, 2.0])}, probs_and_targets, True),
    ("bce_logits", F.binary_cross_entropy_with_logits, nn.BCEWithLogitsLoss,
     TF.binary_cross_entropy_with_logits, {}, logits_and_targets, True),
    ("bce_logits_pos_weight", F.binary_cross_entropy_with_logits, nn.BCEWithLogitsLoss,
     TF.binary_cross_entropy_with_logits,
     {"pos_weight": np.array([3.0, 0.5, 1.0]), "weight": np.array([1.0, 2.0, 0.5])},
     logits_and_targets, True),
    ("ce", F.cross_entropy, nn.CrossEntropyLoss, TF.cross_entropy, {}, logits_labels(), False),
    ("ce_ignore_index", F.cross_entropy, nn.CrossEntropyLoss, TF.cross_entropy, {},
     logits_labels(ignore=[1, 4]), False),
    ("ce_custom_ignore_index", F.cross_entropy, nn.CrossEntropyLoss, TF.cross_entropy,
     {"ignore_index": 3}, logits_labels(ignore=[0, 2], fill=3), False),
    ("ce_label_smoothing", F.cross_entropy, nn.CrossEntropyLoss, TF.cross_entropy,
     {"label_smoothing": 0.1}, logits_labels(), False),
    ("ce_weight", F.cross_entropy, nn.CrossEntropyLoss, TF.cross_entropy, {"weight": W5},
     logits_labels(), False),
    ("ce_weight_smoothing_ignore", F.cross_entropy, nn.CrossEntropyLoss, TF.cross_entropy,
     {"weight": W5, "label_smoothing": 0.2}, logits_labels(ignore=[3]), False),
    ("ce_probabilities", F.cross_entropy, nn.CrossEntropyLoss, TF.cross_entropy, {},
     logits_probs(), True),
    ("ce_probabilities_weight_smoothing", F.cross_entropy, nn.CrossEntropyLoss,
     TF.cross_entropy, {"weight": W5, "label_smoothing": 0.15}, logits_probs(), True),
    ("ce_spatial", F.cross_entropy, nn.CrossEntropyLoss, TF.cross_entropy, {"weight": W4},
     logits_labels((2, 4, 3, 2), ignore=[5]), False),
    ("ce_spatial_smoothing", F.cross_entropy, nn.CrossEntropyLoss, TF.cross_entropy,
     {"label_smoothing": 0.1}, logits_labels((2, 4, 3), ignore=[1]), False),
    ("ce_spatial_probabilities", F.cross_entropy, nn.CrossEntropyLoss, TF.cross_entropy, {},
     logits_probs((2, 4, 3, 2)), True),
    ("ce_unbatched", F.cross_entropy, nn.CrossEntropyLoss, TF.cross_entropy, {},
     logits_labels((5,)), False),
    ("nll", F.nll_loss, nn.NLLLoss, TF.nll_loss, {}, log_probs_labels(), False),
    ("nll_weight_ignore", F.nll_loss, nn.NLLLoss, TF.nll_loss, {"weight": W5},
     log_probs_labels(ignore=[2]), False),
    ("nll_spatial", F.nll_loss, nn.NLLLoss, TF.nll_loss, {},
     log_probs_labels((2, 5, 3), ignore=[0]), False),
    ("multi_margin_p1", F.multi_margin_loss, nn.MultiMarginLoss, TF.multi_margin_loss, {},
     margin_scores, False),
    ("multi_margin_p2_margin_weight", F.multi_margin_loss, nn.MultiMarginLoss,
     TF.multi_margin_loss, {"p": 2, "margin": 0.5, "weight": W4}, margin_scores, False),
    ("hinge", F.hinge_loss, nn.HingeLoss, _torch_hinge, {}, scores_signs(1.0), False),
    ("hinge_margin", F.hinge_loss, nn.HingeLoss, _torch_hinge, {"margin": 0.5},
     scores_signs(0.5), False),
    ("perceptron", F.perceptron_loss, nn.PerceptronLoss, _torch_perceptron, {},
     scores_signs(0.0), False),
]
IDS = [c[0] for c in CASES]


def _data(case, dtype, seed=0):
    x, t = case[5](np.random.default_rng(seed))
    x = x.astype(dtype)
    if t.dtype.kind == "f":
        t = t.astype(dtype)
    return x, t


def _kwargs_np(kwargs, dtype):
    return {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}


def _kwargs_torch(kwargs, dtype):
    return {k: (torch.from_numpy(v.astype(dtype)) if isinstance(v, np.ndarray) else v)
            for k, v in kwargs.items()}


def _torch_result(case, x, t, reduction, dtype, cotangent):
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t, requires_grad=case[6])
    out = case[3](xt, tt, reduction=reduction, **_kwargs_torch(case[4], dtype))
    out.backward(torch.from_numpy(cotangent.astype(dtype)).reshape(out.shape))
    return (out.detach().numpy(), xt.grad.numpy(),
            tt.grad.numpy() if case[6] else None)


def _deepgrad_result(fn, x, t, cotangent, target_grad):
    xd = dg.tensor(x, requires_grad=True)
    td = dg.tensor(t, requires_grad=target_grad)
    out = fn(xd, td)
    out.backward(cotangent.astype(x.dtype).reshape(out.shape))
    return out, xd.grad, (td.grad if target_grad else None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_loss_matches_torch(case, reduction, dtype):
    x, t = _data(case, dtype)
    kwargs = _kwargs_np(case[4], dtype)
    functional = lambda a, b: case[1](a, b, reduction=reduction, **kwargs)  # noqa: E731
    module = case[2](reduction=reduction, **kwargs)
    shape = functional(dg.tensor(x), dg.tensor(t)).shape
    cotangent = np.random.default_rng(1).standard_normal(shape)
    expected = _torch_result(case, x, t, reduction, dtype, cotangent)
    for fn in (functional, module):
        out, grad_x, grad_t = _deepgrad_result(fn, x, t, cotangent, case[6])
        assert out.dtype == dtype and out.shape == expected[0].shape
        np.testing.assert_allclose(out.data, expected[0], **TOL[dtype])
        assert grad_x.dtype == dtype
        np.testing.assert_allclose(grad_x.data, expected[1], **TOL[dtype])
        if case[6]:
            np.testing.assert_allclose(grad_t.data, expected[2], **TOL[dtype])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_loss_gradcheck(case, reduction):
    x, t = _data(case, np.float64, seed=2)
    kwargs = case[4]
    if case[6]:  # a float target: check d/d(input) and d/d(target)
        assert gradcheck(lambda a, b: case[1](a, b, reduction=reduction, **kwargs), [x, t])
    else:
        target = dg.tensor(t)
        assert gradcheck(lambda a: case[1](a, target, reduction=reduction, **kwargs), [x])


def test_bce_with_logits_gradcheck_pos_weight():
    # PyTorch does not differentiate pos_weight; deepgrad does: dl/dw_pos = y softplus(-x)
    rng = np.random.default_rng(3)
    x, t = logits_and_targets(rng)
    pos_weight = rng.uniform(0.5, 3, 3)
    assert gradcheck(lambda a, b, w: F.binary_cross_entropy_with_logits(a, b, pos_weight=w),
                     [x, t, pos_weight])
    w = dg.tensor(pos_weight, requires_grad=True)
    F.binary_cross_entropy_with_logits(dg.tensor(x), dg.tensor(t), pos_weight=w,
                                       reduction="sum").backward()
    softplus_neg = np.log1p(np.exp(-x))
    np.testing.assert_allclose(w.grad.data, (t * softplus_neg).sum(axis=0), rtol=1e-12)


# --- cross-entropy: the fused primitive ---------------------------------------------------
def _composed_cross_entropy(x, labels):
    """log_softmax from primitives, then the mean negative log-likelihood."""
    z = x - ops.amax(x, axis=1, keepdims=True)
    log_p = z - ops.log(ops.sum(ops.exp(z), axis=1, keepdims=True))
    return F.nll_loss(log_p, labels)


def test_cross_entropy_fused_equals_composed_and_is_p_minus_y():
    rng = np.random.default_rng(4)
    x_np, y_np = rng.standard_normal((128, 10)), rng.integers(0, 10, 128)
    x1, x2 = dg.tensor(x_np, requires_grad=True), dg.tensor(x_np, requires_grad=True)
    fused, composed = F.cross_entropy(x1, dg.tensor(y_np)), _composed_cross_entropy(
        x2, dg.tensor(y_np))
    fused.backward()
    composed.backward()
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-13)
    np.testing.assert_allclose(x1.grad.data, x2.grad.data, atol=1e-15)
    p = np.exp(x_np) / np.exp(x_np).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x1.grad.data, (p - np.eye(10)[y_np]) / 128, atol=1e-15)
    # forward mode agrees with the composed graph too
    v = rng.standard_normal((128, 10))
    _, dot_fused = dg.autograd.jvp(lambda a: F.cross_entropy(a, dg.tensor(y_np)), x_np, v)
    _, dot_comp = dg.autograd.jvp(lambda a: _composed_cross_entropy(a, dg.tensor(y_np)), x_np,
                                  v)
    np.testing.assert_allclose(dot_fused.data, dot_comp.data, rtol=1e-12)
    np.testing.assert_allclose(dot_fused.data, np.sum(x1.grad.data * v), rtol=1e-12)


def test_cross_entropy_is_one_float32_node():
    x = dg.tensor(np.random.default_rng(5).standard_normal((128, 10)).astype(np.float32),
                  requires_grad=True)
    loss = F.cross_entropy(x, dg.tensor(np.arange(128) % 10))
    assert isinstance(loss.grad_fn, nn_ops.SoftmaxCrossEntropyLabels)
    assert loss.grad_fn.inputs[0] is x  # one primitive between the logits and the loss
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data.sum(axis=1), 0, atol=1e-8)


@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.3}, {"weight": W5},
                                    {"reduction": "none"}], ids=str)
def test_cross_entropy_gradient_rows_sum_to_zero(kwargs):
    rng = np.random.default_rng(6)
    x = dg.tensor(rng.standard_normal((7, 5)) * 3, requires_grad=True)
    out = F.cross_entropy(x, dg.tensor(rng.integers(0, 5, 7)), **kwargs)
    out.backward(rng.standard_normal(out.shape))
    np.testing.assert_allclose(x.grad.data.sum(axis=1), 0, atol=1e-14)
    x.grad = None
    F.cross_entropy(x, dg.tensor(logits_probs((7, 5))(rng)[1])).backward()
    np.testing.assert_allclose(x.grad.data.sum(axis=1), 0, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_stable_for_huge_logits(dtype):
    x_np = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, -1e4]], dtype=dtype)
    y_np = np.array([0, 0, 2])
    x = dg.tensor(x_np, requires_grad=True)
    loss = F.cross_entropy(x, dg.tensor(y_np), reduction="none")
    loss.sum().backward()
    xt = torch.tensor(x_np, requires_grad=True)
    lt = TF.cross_entropy(xt, torch.tensor(y_np), reduction="none")
    lt.sum().backward()
    assert np.isfinite(loss.data).all() and np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(loss.data, lt.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(loss.data, [0.0, 2e4 + np.log(2), 1e4 + np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(x.grad.data.sum(axis=1), 0, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_stable_for_huge_logits(dtype):
    x_np = np.array([1e4, -1e4, 1e4, -1e4, 0.0], dtype=dtype)
    y_np = np.array([0.0, 1.0, 1.0, 0.0, 1.0], dtype=dtype)
    x = dg.tensor(x_np, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, dg.tensor(y_np), reduction="none")
    loss.sum().backward()
    np.testing.assert_allclose(loss.data, [1e4, 1e4, 0.0, 0.0, np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, [1.0, -1.0, 0.0, 0.0, -0.5], atol=1e-7)


def test_bce_saturated_probabilities_stay_finite_like_torch():
    x_np = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    y_np = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    x = dg.tensor(x_np, requires_grad=True)
    loss = F.binary_cross_entropy(x, dg.tensor(y_np), reduction="none")
    loss.sum().backward()
    xt = torch.tensor(x_np, requires_grad=True)
    TF.binary_cross_entropy(xt, torch.tensor(y_np), reduction="none").sum().backward()
    np.testing.assert_allclose(loss.data, [100, 100, 0, 0, np.log(2)], rtol=1e-12)
    # the floor 1e-12 of x (1 - x) gives +-1e12 (PyTorch's float32 constant differs by 4e-9)
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-8)


# --- modules ------------------------------------------------------------------------------
def test_loss_module_buffers_and_repr():
    criterion = nn.CrossEntropyLoss(weight=W5, label_smoothing=0.1)
    assert list(criterion.state_dict()) == ["weight"]
    np.testing.assert_array_equal(criterion.state_dict()["weight"], W5)
    assert criterion.num_parameters() == 0
    assert repr(criterion) == ("CrossEntropyLoss(ignore_index=-100, reduction='mean', "
                               "label_smoothing=0.1)")
    assert list(nn.MSELoss().state_dict()) == []


# --- penalties ----------------------------------------------------------------------------
def test_penalties_values_and_gradients():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(5)
    pa, pb = nn.Parameter(a), nn.Parameter(b)
    np.testing.assert_allclose(F.l1_penalty([pa, pb]).data, np.abs(a).sum() + np.abs(b).sum())
    np.testing.assert_allclose(F.l2_penalty([pa, pb]).data, (a * a).sum() + (b * b).sum())
    net = F.elastic_net([pa, pb], l1_ratio=0.3)
    np.testing.assert_allclose(net.data, 0.3 * (np.abs(a).sum() + np.abs(b).sum())
                               + 0.7 * ((a * a).sum() + (b * b).sum()))
    lam = 0.01
    (lam * nn.l2_penalty([pa, pb])).backward()
    np.testing.assert_allclose(pa.grad.data, 2 * lam * a)  # lam * l2 gives 2 lam W
    np.testing.assert_allclose(pb.grad.data, 2 * lam * b)
    pa.grad = None
    nn.l1_penalty(pa).backward()
    np.testing.assert_array_equal(pa.grad.data, np.sign(a))


def test_penalty_added_to_a_loss_over_a_model():
    model = nn.Linear(3, 2, generator=0, dtype="float64")
    x = dg.tensor(np.random.default_rng(8).standard_normal((4, 3)))
    loss = F.mse_loss(model(x), dg.zeros((4, 2), dtype="float64")) \
        + 0.1 * F.l2_penalty([model.weight])
    loss.backward()
    linear = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(model.weight.data))
        linear.bias.copy_(torch.from_numpy(model.bias.data))
    loss_t = TF.mse_loss(linear(torch.from_numpy(x.data)), torch.zeros(4, 2, dtype=torch.float64))
    (loss_t + 0.1 * (linear.weight ** 2).sum()).backward()
    np.testing.assert_allclose(model.weight.grad.data, linear.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(model.bias.grad.data, linear.bias.grad.numpy(), rtol=1e-12)


def test_penalties_gradcheck():
    rng = np.random.default_rng(9)
    a = rng.standard_normal((2, 3))
    b = rng.standard_normal(4) + np.sign(rng.standard_normal(4)) * 0.2
    assert gradcheck(lambda p, q: F.elastic_net([p, q], 0.4), [a, b])
    assert gradcheck(lambda p, q: F.l1_penalty([p, q]) + F.l2_penalty([p, q]), [a, b])


# --- errors -------------------------------------------------------------------------------
def _x(*shape):
    return dg.tensor(np.zeros(shape, dtype=np.float32), requires_grad=True)


def test_cross_entropy_target_out_of_range():
    with pytest.raises(ValueError, match=r"^cross_entropy: target 10 is out of range for 10 "
                                         r"classes"):
        F.cross_entropy(_x(4, 10), dg.tensor([1, 10, 3, 12]))
    with pytest.raises(ValueError, match=r"cross_entropy: target -3 is out of range for 10 "
                                         r"classes .*ignore_index=-100"):
        nn.CrossEntropyLoss()(_x(3, 10), dg.tensor([-100, -3, 1]))
    with pytest.raises(ValueError, match=r"nll_loss: target 5 is out of range for 5 classes"):
        F.nll_loss(_x(2, 5, 3), dg.tensor([[0, 1, 5], [0, 0, 0]]))
    with pytest.raises(ValueError, match=r"multi_margin_loss: target 4 is out of range for 4"):
        F.multi_margin_loss(_x(2, 4), dg.tensor([4, 0]))


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "uint64"])
def test_cross_entropy_labels_of_every_integer_width(dtype):
    """The range check of the fast path reads signed labels as unsigned (one pass): every width
    gives the int64 loss, and a label outside 0..C-1 of any width is an error, not a wrong
    row of the flattened logits."""
    logits = dg.tensor(np.arange(12, dtype=np.float32).reshape(3, 4) % 5, requires_grad=True)
    expected = F.cross_entropy(logits, dg.tensor([3, 0, 2])).item()
    assert F.cross_entropy(logits, dg.tensor([3, 0, 2], dtype=dtype)).item() == expected
    with pytest.raises(ValueError, match=r"cross_entropy: target 4 is out of range for 4"):
        F.cross_entropy(logits, dg.tensor([1, 4, 0], dtype=dtype))
    if dtype.startswith("int"):
        with pytest.raises(ValueError, match=r"cross_entropy: target -1 is out of range for 4"):
            F.cross_entropy(logits, dg.tensor([1, -1, 0], dtype=dtype))


def test_cross_entropy_target_shapes():
    with pytest.raises(ValueError, match=r"probability target must have the input's shape "
                                         r"\(4, 10\), got \(4,\) \(class-index targets must "
                                         r"be integers"):
        F.cross_entropy(_x(4, 10), dg.tensor([1.0, 2.0, 3.0, 4.0]))
    with pytest.raises(ValueError, match=r"probability target must have the input's shape "
                                         r"\(4, 10\), got \(4, 9\)"):
        F.cross_entropy(_x(4, 10), dg.tensor(np.zeros((4, 9), np.float32)))
    with pytest.raises(ValueError, match=r"class-index target must have shape \(2, 3\) for an "
                                         r"input of shape \(2, 5, 3\)"):
        F.cross_entropy(_x(2, 5, 3), dg.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"weight must have one entry per class, shape "
                                         r"\(5,\), got \(4,\)"):
        F.cross_entropy(_x(2, 5), dg.tensor([0, 1]), weight=np.ones(4))


def test_cross_entropy_all_ignored_mean_is_an_error_not_nan():
    with pytest.raises(ValueError, match=r"cross_entropy: the mean is 0/0"):
        F.cross_entropy(_x(2, 3), dg.tensor([-100, -100]))
    out = F.cross_entropy(_x(2, 3), dg.tensor([-100, -100]), reduction="sum")
    np.testing.assert_array_equal(out.data, 0.0)


def test_regression_losses_reject_integer_targets_and_shape_mismatch():
    with pytest.raises(TypeError, match=r"mse_loss: target must be floating point like the "
                                        r"input \(float32\), got dtype int64"):
        F.mse_loss(_x(4), dg.tensor([1, 2, 3, 4]))
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(4, 1\) and target shape "
                                         r"\(4,\) must be equal"):
        nn.MSELoss()(_x(4, 1), dg.tensor([1.0, 2.0, 3.0, 4.0]))
    with pytest.raises(ValueError, match=r"l1_loss: input shape \(3,\) and target shape "
                                         r"\(2,\)"):
        F.l1_loss(_x(3), dg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: input shape "
                                         r"\(2, 3\) and target shape \(2,\)"):
        F.binary_cross_entropy_with_logits(_x(2, 3), dg.tensor([1.0, 0.0]))


def test_bce_rejects_values_outside_unit_interval():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities "
                                         r"in \[0, 1\], got values from -0.5 to 1.5; .*"
                                         r"binary_cross_entropy_with_logits"):
        F.binary_cross_entropy(dg.tensor([-0.5, 0.2, 1.5]), dg.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"got values from nan"):
        nn.BCELoss()(dg.tensor([np.nan, 0.5]), dg.tensor([0.0, 1.0]))


def test_signed_label_losses_validate_labels():
    with pytest.raises(ValueError, match=r"hinge_loss: target must contain only -1 and \+1, "
                                         r"got 0 \(for 0/1 labels pass 2 \* y - 1\)"):
        F.hinge_loss(_x(3), dg.tensor([1, 0, -1]))
    with pytest.raises(ValueError, match=r"perceptron_loss: target must contain only -1 and "
                                         r"\+1, got 2"):
        nn.PerceptronLoss()(_x(2), dg.tensor([2.0, 1.0]))


def test_option_errors():
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: reduction must be 'mean', 'sum' or "
                                         r"'none', got 'avg'"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match=r"mse_loss: reduction must be"):
        F.mse_loss(_x(2), _x(2), reduction="batchmean")
    with pytest.raises(ValueError, match=r"MultiMarginLoss: p must be 1 or 2, got 3"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        F.cross_entropy(_x(2, 3), dg.tensor([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"elastic_net: l1_ratio must be a number in \[0, 1\]"):
        F.elastic_net([_x(2)], l1_ratio=2)
    with pytest.raises(ValueError, match=r"l2_penalty: got no parameters"):
        F.l2_penalty([])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_label_fast_path_equals_dense_primitive(reduction):
    # plain labels take SoftmaxCrossEntropyLabels; the general primitive with one-hot targets
    # must give the same value, gradient and tangent, also for feature-major (Fortran-order)
    # logits as nn.Linear produces
    rng = np.random.default_rng(7)
    x_np = np.asfortranarray(rng.standard_normal((9, 4)))
    labels = rng.integers(0, 4, 9)
    cot = rng.standard_normal(9) if reduction == "none" else np.array(0.7)
    v = rng.standard_normal((9, 4))
    results = []
    for dense in (False, True):
        x = dg.tensor(x_np, requires_grad=True)
        if dense:
            t = dg.tensor(np.eye(4)[labels])
            fn = lambda a: nn_ops.SoftmaxCrossEntropy.apply(  # noqa: E731
                a, t, axis=1, reduction=reduction, denominator=9.0)
        else:
            fn = lambda a: F.cross_entropy(a, dg.tensor(labels), reduction=reduction)  # noqa
        out = fn(x)
        assert isinstance(out.grad_fn, nn_ops.SoftmaxCrossEntropy if dense
                          else nn_ops.SoftmaxCrossEntropyLabels)
        out.backward(cot)
        _, tangent = dg.autograd.jvp(fn, x_np, v)
        results.append((out.data, x.grad.data, tangent.data))
    for fast, dense in zip(*results):
        np.testing.assert_allclose(fast, dense, rtol=1e-13, atol=1e-15)


def test_cross_entropy_label_fast_path_only_for_plain_labels():
    rng = np.random.default_rng(8)
    x = dg.tensor(rng.standard_normal((6, 5)), requires_grad=True)
    y = rng.integers(0, 5, 6)
    assert isinstance(F.cross_entropy(x, dg.tensor(y)).grad_fn, nn_ops.SoftmaxCrossEntropyLabels)
    y_ignored = y.copy()
    y_ignored[2] = 3
    for kwargs in ({"weight": W5}, {"label_smoothing": 0.1}, {"ignore_index": 3}):
        loss = F.cross_entropy(x, dg.tensor(y_ignored), **kwargs)
        assert isinstance(loss.grad_fn, nn_ops.SoftmaxCrossEntropy), kwargs
    with pytest.raises(ValueError, match="target 5 is out of range for 5 classes"):
        F.cross_entropy(x, dg.tensor(np.array([0, 1, 2, 3, 4, 5])))
