"""Loss functions and weight penalties (re-exported by `deepgrad.nn.functional`).

Every loss takes `input` (predictions) and `target`, and a `reduction`: "mean" (default),
"sum" or "none" (one loss per example, or per position for spatial inputs). Names, arguments
and conventions follow PyTorch (`torch.nn.functional`). The math and the gradients are derived
in docs/nn_losses.md.
"""

from __future__ import annotations

import numbers

import numpy as np

from deepgrad import ops
from deepgrad.ops import nn_ops
from deepgrad.tensor import Tensor, as_tensor

__all__ = [
    "mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cross_entropy", "nll_loss", "multi_margin_loss", "hinge_loss", "perceptron_loss",
    "l1_penalty", "l2_penalty", "elastic_net",
]

REDUCTIONS = ("mean", "sum", "none")


# --- argument checks ----------------------------------------------------------------------
def check_reduction(reduction, op):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _float_input(input, op):
    input = as_tensor(input)
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point (scores, logits or "
                        f"probabilities), got dtype {input.dtype}")
    return input


def _float_target(input, target, op):
    """A floating target of the input's shape and dtype (the cast is differentiable)."""
    target = as_tensor(target)
    if target.dtype.kind != "f":
        raise TypeError(f"{op}: target must be floating point like the input ({input.dtype}), "
                        f"got dtype {target.dtype}; convert it with target.float()"
                        + (" (class indices belong to cross_entropy)" if op == "mse_loss"
                           else ""))
    if target.shape != input.shape:
        raise ValueError(f"{op}: input shape {input.shape} and target shape {target.shape} "
                         "must be equal")
    if target.dtype != input.dtype:
        target = ops.cast(target, input.dtype)
    return target


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    return ops.mean(loss) if reduction == "mean" else ops.sum(loss)


def _check_denominator(reduction, denominator, op):
    if reduction == "mean" and denominator == 0:
        raise ValueError(f"{op}: the mean is 0/0: every target equals ignore_index or has "
                         "class weight 0; use reduction='sum' for such batches")


def _reduce_by(loss, reduction, denominator, op):
    """Sum of per-position losses divided by `denominator` (weighted mean, PyTorch's rule)."""
    _check_denominator(reduction, denominator, op)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return ops.sum(loss)
    return ops.div(ops.sum(loss), denominator)


def _weight_array(weight, num_classes, op):
    if weight is None:
        return None
    array = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
    if array.shape != (num_classes,):
        raise ValueError(f"{op}: weight must have one entry per class, shape ({num_classes},), "
                         f"got {array.shape}")
    return array


# --- regression ---------------------------------------------------------------------------
def mse_loss(input, target, reduction="mean"):
    """l = (x - y)^2;  dl/dx = 2 (x - y)"""
    check_reduction(reduction, "mse_loss")
    input = _float_input(input, "mse_loss")
    diff = ops.sub(input, _float_target(input, target, "mse_loss"))
    return _reduce(ops.mul(diff, diff), reduction)


def l1_loss(input, target, reduction="mean"):
    """l = |x - y|;  dl/dx = sign(x - y)  (0 where x = y)"""
    check_reduction(reduction, "l1_loss")
    input = _float_input(input, "l1_loss")
    return _reduce(ops.abs(ops.sub(input, _float_target(input, target, "l1_loss"))), reduction)


# --- binary classification ----------------------------------------------------------------
def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """l = -w (y ln x + (1 - y) ln(1 - x)) for probabilities x in [0, 1] (logs floored at -100);
    dl/dx = w (x - y) / (x (1 - x))."""
    op = "binary_cross_entropy"
    check_reduction(reduction, op)
    input = _float_input(input, op)
    target = _float_target(input, target, op)
    if input.size:
        low, high = nn_ops.value_range(input.data)
        if not (low >= 0 and high <= 1):  # also catches NaN
            raise ValueError(f"{op}: input must hold probabilities in [0, 1], got values from "
                             f"{low:.6g} to {high:.6g}; for logits (scores before a sigmoid) "
                             "use binary_cross_entropy_with_logits")
    loss = nn_ops.BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = ops.mul(loss, as_tensor(weight, like=input))
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """l = w ((1 - y) x + (1 + (p - 1) y) ln(1 + e^-x)) with p = pos_weight (1 if None), which
    is the binary cross-entropy of sigmoid(x), computed without overflow;
    dl/dx = w (sigmoid(x) - y) without pos_weight."""
    op = "binary_cross_entropy_with_logits"
    check_reduction(reduction, op)
    input = _float_input(input, op)
    target = _float_target(input, target, op)
    if pos_weight is None:
        loss = nn_ops.BinaryCrossEntropyWithLogits.apply(input, target)
    else:
        pos_weight = as_tensor(pos_weight, like=input)
        try:
            np.broadcast_shapes(pos_weight.shape, input.shape)
        except ValueError:
            raise ValueError(f"{op}: pos_weight of shape {pos_weight.shape} does not broadcast "
                             f"against the input shape {input.shape} (use one entry per "
                             "class, shape (C,))") from None
        loss = nn_ops.BinaryCrossEntropyWithLogits.apply(input, target, pos_weight)
    if weight is not None:
        loss = ops.mul(loss, as_tensor(weight, like=input))
    return _reduce(loss, reduction)


# --- multiclass classification ------------------------------------------------------------
def _class_layout(input, target, op):
    """input (N, C, d...) and target; an unbatched input (C,) becomes (1, C)."""
    input = _float_input(input, op)
    target = as_tensor(target)
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, shape (N, C), "
                         "(N, C, d1, ...) or (C,), got a scalar")
    unbatched = input.ndim == 1
    if unbatched:
        input = ops.reshape(input, (1,) + input.shape)
        target = ops.reshape(target, (1,) + target.shape)
    return input, target, unbatched


def _index_targets(input, target, op, weight, label_smoothing, ignore_index):
    """Check integer class labels; return the dense target T and the denominator."""
    num_classes = input.shape[1]
    expected = (input.shape[0],) + input.shape[2:]
    if target.shape != expected:
        raise ValueError(f"{op}: class-index target must have shape {expected} for an input of "
                         f"shape {input.shape} (classes on axis 1), got {target.shape}")
    nn_ops.check_class_indices(target.data, num_classes, op, ignore_index)
    weight = _weight_array(weight, num_classes, op)
    return nn_ops.class_index_targets(target.data, num_classes, input.dtype, weight,
                                      label_smoothing, ignore_index)


_UNSIGNED = {n: np.dtype(f"u{n}") for n in (1, 2, 4, 8)}


def _plain_labels(input, target, weight, label_smoothing, ignore_index):
    """True for the common case the fast primitive handles: (N, C) logits, labels (N,) all in
    0..C-1 (none equal to ignore_index), no weights, no smoothing."""
    x, labels = input.data, target.data
    if weight is not None or label_smoothing or x.ndim != 2 or labels.dtype.kind not in "iu" \
            or labels.shape != x.shape[:1] or labels.shape[0] == 0:
        return False
    classes = x.shape[1]
    if labels.dtype.kind == "i":  # seen as unsigned, a negative label is a huge one: one pass
        labels = labels.view(_UNSIGNED[labels.itemsize])
    if not labels.max() < classes:
        return False
    return not 0 <= ignore_index < classes or not (target.data == ignore_index).any()


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy of softmax(input) (logits, classes on axis 1) against `target`:

        class indices y (shape (N,) or (N, d1, ...)):  l_n = -w[y_n] ln p[n, y_n]
        class probabilities Y (the input's shape):       l_n = -sum_c w_c Y[n, c] ln p[n, c]

    with p = softmax(input). label_smoothing eps replaces the target by (1 - eps) Y + eps / C.
    "mean" divides by the summed weights of the non-ignored labels (index targets) or by the
    number of positions (probability targets). One fused primitive: dl/dx = (P - Y) / N.
    """
    op = "cross_entropy"
    check_reduction(reduction, op)
    # the common case (a batch of float logits and integer labels) first, with the fewest steps
    if type(input) is Tensor and type(target) is Tensor and input.data.dtype.kind == "f" \
            and _plain_labels(input, target, weight, label_smoothing, ignore_index):
        labels = target.data
        return nn_ops.SoftmaxCrossEntropyLabels.apply(
            input, labels=labels, reduction=reduction, denominator=float(labels.shape[0]))
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    input, target, unbatched = _class_layout(input, target, op)
    num_classes = input.shape[1]
    if target.dtype.kind in "iu":
        dense, denominator = _index_targets(input, target, op, weight, label_smoothing,
                                            ignore_index)
        dense = Tensor._wrap(dense)
    elif target.dtype.kind == "f":
        if target.shape != input.shape:
            hint = " (class-index targets must be integers: use target.long())" \
                if target.shape == (input.shape[0],) + input.shape[2:] else ""
            raise ValueError(f"{op}: probability target must have the input's shape "
                             f"{input.shape}, got {target.shape}{hint}")
        dense = target if target.dtype == input.dtype else ops.cast(target, input.dtype)
        if label_smoothing:
            dense = ops.add(ops.mul(dense, 1 - label_smoothing), label_smoothing / num_classes)
        w = _weight_array(weight, num_classes, op)
        if w is not None:
            shape = (1, num_classes) + (1,) * (input.ndim - 2)
            dense = ops.mul(dense, Tensor._wrap(w.astype(input.dtype).reshape(shape)))
        denominator = float(input.size // num_classes)
    else:
        raise TypeError(f"{op}: target must hold integer class indices or float class "
                        f"probabilities, got dtype {target.dtype}")
    _check_denominator(reduction, denominator, op)
    loss = nn_ops.SoftmaxCrossEntropy.apply(input, dense, axis=1, reduction=reduction,
                                            denominator=denominator)
    return ops.reshape(loss, ()) if unbatched and reduction == "none" else loss


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities `input` (classes on axis 1):
    l_n = -w[y_n] input[n, y_n];  dl/dinput[n, c] = -w[c] [c = y_n]. "mean" divides by the
    summed weights of the non-ignored targets. log_softmax then nll_loss equals cross_entropy.
    """
    op = "nll_loss"
    check_reduction(reduction, op)
    input, target, unbatched = _class_layout(input, target, op)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype "
                        f"{target.dtype}")
    dense, denominator = _index_targets(input, target, op, weight, 0.0, ignore_index)
    loss = ops.neg(ops.sum(ops.mul(input, Tensor._wrap(dense)), axis=1))
    loss = _reduce_by(loss, reduction, denominator, op)
    return ops.reshape(loss, ()) if unbatched and reduction == "none" else loss


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """Multiclass SVM hinge (Weston-Watkins / PyTorch MultiMarginLoss) for scores (N, C):

        l_n = w[y_n] / C  sum_{c != y_n} max(0, margin - x[n, y_n] + x[n, c])^p,   p in {1, 2}
    """
    op = "multi_margin_loss"
    check_reduction(reduction, op)
    if p not in (1, 2):
        raise ValueError(f"{op}: p must be 1 or 2, got {p!r}")
    input, target, unbatched = _class_layout(input, target, op)
    if input.ndim != 2:
        raise ValueError(f"{op}: input must have shape (N, C) or (C,), got {input.shape}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype "
                        f"{target.dtype}")
    num_classes = input.shape[1]
    if target.shape != (input.shape[0],):
        raise ValueError(f"{op}: target must have shape ({input.shape[0]},) for an input of "
                         f"shape {input.shape}, got {target.shape}")
    nn_ops.check_class_indices(target.data, num_classes, op)
    one_hot, others = nn_ops.multi_margin_masks(
        target.data, num_classes, input.dtype, _weight_array(weight, num_classes, op))
    true_score = ops.sum(ops.mul(input, Tensor._wrap(one_hot)), axis=1, keepdims=True)
    violation = ops.relu(ops.add(ops.sub(input, true_score), float(margin)))
    if p == 2:
        violation = ops.mul(violation, violation)
    loss = _reduce(ops.sum(ops.mul(violation, Tensor._wrap(others)), axis=1), reduction)
    return ops.reshape(loss, ()) if unbatched and reduction == "none" else loss


def _signed_labels(input, target, op):
    input = _float_input(input, op)
    target = as_tensor(target)
    if target.shape != input.shape:
        raise ValueError(f"{op}: input shape {input.shape} and target shape {target.shape} "
                         "must be equal (one label in {-1, +1} per score)")
    bad = nn_ops.bad_values(target.data, (-1, 1))
    if bad is not None:
        raise ValueError(f"{op}: target must contain only -1 and +1, got {bad}"
                         + (" (for 0/1 labels pass 2 * y - 1)" if bad == 0 else ""))
    return input, Tensor._wrap(target.data.astype(input.dtype))


def hinge_loss(input, target, margin=1.0, reduction="mean"):
    """Binary hinge (linear SVM) loss for scores s and labels y in {-1, +1}:
    l = max(0, margin - y s);  dl/ds = -y where y s < margin, else 0."""
    op = "hinge_loss"
    check_reduction(reduction, op)
    input, target = _signed_labels(input, target, op)
    return _reduce(ops.relu(ops.sub(float(margin), ops.mul(target, input))), reduction)


def perceptron_loss(input, target, reduction="mean"):
    """Perceptron criterion for labels y in {-1, +1}: l = max(0, -y s);  dl/ds = -y on
    mistakes (y s < 0), else 0. SGD on it is Rosenblatt's perceptron update."""
    op = "perceptron_loss"
    check_reduction(reduction, op)
    input, target = _signed_labels(input, target, op)
    return _reduce(ops.relu(ops.neg(ops.mul(target, input))), reduction)


# --- penalties ----------------------------------------------------------------------------
def _parameter_list(params, op):
    if isinstance(params, Tensor):
        params = [params]
    params = list(params)
    if not params:
        raise ValueError(f"{op}: got no parameters (pass e.g. model.parameters() or "
                         "[layer.weight])")
    for i, p in enumerate(params):
        if not isinstance(p, Tensor) or p.dtype.kind != "f":
            raise TypeError(f"{op}: parameter {i} must be a floating-point Tensor, got "
                            f"{type(p).__name__}")
    return params


def _total(terms):
    total = terms[0]
    for term in terms[1:]:
        total = ops.add(total, term)
    return total


def l1_penalty(params):
    """R(theta) = sum over the tensors of sum |w|;  dR/dw = sign(w) (lasso, sparsity)."""
    params = _parameter_list(params, "l1_penalty")
    return _total([ops.sum(ops.abs(p)) for p in params])


def l2_penalty(params):
    """R(theta) = sum over the tensors of sum w^2 (no 1/2);  dR/dw = 2 w.

    So `loss + lam * l2_penalty(params)` adds 2 lam W to each gradient: the same as SGD's
    weight_decay = 2 lam (PyTorch's weight_decay is the coefficient of W in the gradient).
    """
    params = _parameter_list(params, "l2_penalty")
    return _total([ops.sum(ops.mul(p, p)) for p in params])


def elastic_net(params, l1_ratio=0.5):
    """R(theta) = l1_ratio * l1_penalty + (1 - l1_ratio) * l2_penalty, l1_ratio in [0, 1];
    dR/dw = l1_ratio sign(w) + 2 (1 - l1_ratio) w."""
    if not isinstance(l1_ratio, numbers.Real) or not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"elastic_net: l1_ratio must be a number in [0, 1], got {l1_ratio!r}")
    params = _parameter_list(params, "elastic_net")
    return ops.add(ops.mul(l1_penalty(params), float(l1_ratio)),
                   ops.mul(l2_penalty(params), 1.0 - float(l1_ratio)))
