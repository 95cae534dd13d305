"""Fused primitives of the layers: softmax + cross-entropy, binary cross-entropy (on
probabilities and on logits) and batch normalization; plus the array helpers of the losses
(class-index targets, label checks) and the batch-norm running statistics.

Each fused primitive exists because composing it from smaller primitives is slower (softmax +
cross-entropy, batch norm) or numerically worse (log of a saturated probability, softplus of a
large logit, kinks of |x| and max(x, 0) that cancel only in exact arithmetic). Every one is
checked against the same computation composed of primitives in tests/nn.
"""

from __future__ import annotations

import numpy as np

from deepgrad.engine import Function
from deepgrad.ops import fast, workspace
from deepgrad.ops.activation import shifted_exp

_LOG_FLOOR = -100.0  # PyTorch clamps log(x) and log(1 - x) of binary_cross_entropy at -100
_BCE_EPS = 1e-12  # PyTorch's floor of x (1 - x) in the binary_cross_entropy gradient


def _reduce_loss(loss, reduction, denominator):
    """Sum or average per-position losses (the forward half of every reduction below)."""
    if reduction == "none":
        return loss
    total = loss.sum()
    return total / denominator if reduction == "mean" else total


def _reduce_grad(grad_out, reduction, denominator):
    """d(reduced)/d(per-position loss): 1, 1/D, or the incoming per-position gradient."""
    if reduction == "none":
        return grad_out
    return grad_out / denominator if reduction == "mean" else grad_out


class SoftmaxCrossEntropy(Function):
    """l = sum_c t_c (lse(x) - x_c) at each position, then reduced (sum, / D, or none);
    with p = softmax(x) and s = sum_c t_c (1 for one-hot or probability rows):
    dl/dx = (s p - t) / D,   dl/dt = -log p / D

    x holds logits with classes on `axis`; t holds the (weighted, smoothed) target mass per
    class, of x's shape. For one-hot rows and mean reduction the gradient is (P - Y) / N.
    """

    symbol = "softmax_cross_entropy"

    def forward(ctx, x, t, axis, reduction, denominator):
        ctx.axis, ctx.reduction, ctx.denominator = axis, reduction, denominator
        z, e, total = shifted_exp(x, axis)
        log_p = z - np.log(total)
        p = e / total
        ctx.save(p, log_p, t)
        loss = -(t * log_p).sum(axis=axis)
        return _reduce_loss(loss, reduction, denominator)

    def _per_position(ctx, g):
        g = _reduce_grad(g, ctx.reduction, ctx.denominator)
        return np.expand_dims(g, ctx.axis) if ctx.reduction == "none" else g

    def backward(ctx, grad_out):
        p, log_p, t = ctx.saved
        g = ctx._per_position(grad_out)
        need_x, need_t = ctx.needs_input_grad
        grad_x = g * (t.sum(axis=ctx.axis, keepdims=True) * p - t) if need_x else None
        return grad_x, (-g * log_p if need_t else None)

    def jvp(ctx, x_dot, t_dot):
        p, log_p, t = ctx.saved
        s = t.sum(axis=ctx.axis, keepdims=True)
        loss_dot = ((s * p - t) * x_dot - log_p * t_dot).sum(axis=ctx.axis)
        return _reduce_loss(loss_dot, ctx.reduction, ctx.denominator)


class SoftmaxCrossEntropyLabels(Function):
    """The common case of SoftmaxCrossEntropy: x (N, C) logits, integer labels y (N,) all in
    0..C-1, no class weights or smoothing. l_n = lse(x_n) - x_n[y_n], then reduced;
    dl/dx = (p - onehot(y)) / D,   l_dot_n = sum_c p_nc x_dot_nc - x_dot_n[y_n].

    Same numbers as SoftmaxCrossEntropy with a one-hot t, without building t: the labels are
    picked by index, which cuts the loss from 52 to 34 us (forward + backward, 128 x 10).
    """

    symbol = "softmax_cross_entropy"

    def forward(ctx, x, labels, reduction, denominator):
        ctx.reduction, ctx.denominator = reduction, denominator
        # position of each label in the flattened (N, C) array: one 1-D take/put per pass
        n, c = labels.size, x.shape[1]
        # (labels as intp: uint64 + int64 would promote to float64, which take refuses)
        ctx.picks = workspace.constant(("row starts", n, c), lambda: np.arange(0, n * c, c)) \
            + labels.astype(np.intp, copy=False)
        z, e, total = shifted_exp(x, 1)
        loss = np.log(total[:, 0])
        loss -= z.take(ctx.picks)
        e /= total  # e is now p = softmax(x)
        ctx.save(e)
        return _reduce_loss(loss, reduction, denominator)

    def backward(ctx, grad_out):
        (p,) = ctx.saved
        g = _reduce_grad(grad_out, ctx.reduction, ctx.denominator)
        if ctx.reduction == "none":
            g = g[:, None]
        grad = np.multiply(p, g, order="C")  # C order: reshape(-1) below must be a view
        flat = grad.reshape(-1)
        flat[ctx.picks] -= g if g.ndim == 0 else g[:, 0]
        return grad

    def jvp(ctx, x_dot):
        (p,) = ctx.saved
        loss_dot = (p * x_dot).sum(axis=1) - x_dot.take(ctx.picks)
        return _reduce_loss(loss_dot, ctx.reduction, ctx.denominator)


class BinaryCrossEntropy(Function):
    """l = -(y max(ln x, -100) + (1 - y) max(ln(1 - x), -100))   (x a probability);
    dl/dx = (x - y) / max(x (1 - x), 1e-12),   dl/dy = max(ln(1 - x), -100) - max(ln x, -100)

    The floors are PyTorch's: the loss stays finite at x = 0 or 1 and so does the gradient.
    """

    symbol = "bce"

    def forward(ctx, x, y):
        with np.errstate(divide="ignore"):  # ln 0 = -inf is floored just below
            log_x = np.maximum(np.log(x), _LOG_FLOOR)
            log_1mx = np.maximum(np.log1p(-x), _LOG_FLOOR)
        ctx.save(x, y, log_x, log_1mx)
        return -(y * log_x + (1 - y) * log_1mx)

    def _derivatives(ctx):
        x, y, log_x, log_1mx = ctx.saved
        return (x - y) / np.maximum(x * (1 - x), _BCE_EPS), log_1mx - log_x

    def backward(ctx, grad_out):
        d_x, d_y = ctx._derivatives()
        need_x, need_y = ctx.needs_input_grad
        return (grad_out * d_x if need_x else None), (grad_out * d_y if need_y else None)

    def jvp(ctx, x_dot, y_dot):
        d_x, d_y = ctx._derivatives()
        return x_dot * d_x + y_dot * d_y


class BinaryCrossEntropyWithLogits(Function):
    """l = (1 - y) x + L softplus(-x),  L = 1 + (w_pos - 1) y   (w_pos = 1 without pos_weight);
    dl/dx = (1 - y) - L sigmoid(-x),  dl/dy = -x + (w_pos - 1) softplus(-x),
    dl/dw_pos = y softplus(-x).   Without pos_weight: l = max(x, 0) - x y + ln(1 + e^-|x|),
    dl/dx = sigmoid(x) - y.

    softplus(-x) = max(-x, 0) + ln(1 + e^-|x|) exponentiates only non-positive numbers, so the
    loss is finite for logits of any size.
    """

    symbol = "bce_with_logits"

    def forward(ctx, x, y, *pos_weight):
        z = np.exp(-np.abs(x))
        softplus_neg = np.maximum(-x, 0) + np.log1p(z)
        # sigmoid(-x) from the same z = e^-|x| (never overflows)
        sigmoid_neg = np.where(x >= 0, z / (1 + z), 1 / (1 + z)).astype(x.dtype, copy=False)
        ctx.save(x, y, softplus_neg, sigmoid_neg, *pos_weight)
        if pos_weight:
            return (1 - y) * x + (1 + (pos_weight[0] - 1) * y) * softplus_neg
        return (1 - y) * x + softplus_neg

    def _derivatives(ctx):
        x, y, softplus_neg, sigmoid_neg, *pos_weight = ctx.saved
        if not pos_weight:
            return (1 - sigmoid_neg) - y, -x, None
        w = pos_weight[0]
        d_x = (1 - y) - (1 + (w - 1) * y) * sigmoid_neg
        return d_x, -x + (w - 1) * softplus_neg, y * softplus_neg

    def backward(ctx, grad_out):
        d_x, d_y, d_w = ctx._derivatives()
        need = ctx.needs_input_grad
        grads = [grad_out * d_x if need[0] else None, grad_out * d_y if need[1] else None]
        if d_w is not None:
            grads.append(grad_out * d_w if need[2] else None)
        return tuple(grads)

    def jvp(ctx, x_dot, y_dot, *w_dot):
        d_x, d_y, d_w = ctx._derivatives()
        out = x_dot * d_x + y_dot * d_y
        return out + w_dot[0] * d_w if w_dot else out


def channel_rows(x):
    """(axes, (C, m) view) when x's memory keeps each channel's values contiguous (the layouts
    convolutions leave: channels outermost); None otherwise, or with the speed tricks off."""
    if x.ndim < 3 or not fast.enabled():
        return None
    rest = tuple(range(2, x.ndim))
    for axes in ((1, 0) + rest, (1,) + rest + (0,)):
        view = x.transpose(axes)
        if view.flags.c_contiguous:
            return axes, view.reshape(x.shape[1], -1)
    return None


def _from_rows(rows, shape, axes):
    """Inverse of channel_rows: the (C, m) matrix as an array of `shape` (a view)."""
    return rows.reshape([shape[a] for a in axes]).transpose(np.argsort(axes))


class BatchNorm(Function):
    """y = gamma x_hat + beta,  x_hat = (x - mu) / sigma,  sigma = sqrt(var + eps), statistics
    per channel (axis 1) over every other axis (m values each).
    Batch statistics (training), with dy_hat = gamma dy and means over the m values:
        dx = (1/sigma) (dy_hat - mean(dy_hat) - x_hat mean(dy_hat x_hat))
    Fixed (running) statistics (eval):  dx = gamma dy / sigma.
    Both:  dgamma = sum(dy x_hat),  dbeta = sum(dy).

    The batch-statistics Jacobian (1/sigma)(I - 11^T/m - x_hat x_hat^T/m) is symmetric, so the
    jvp applies the same formula to the tangent. When x keeps each channel contiguous (a
    convolution's output) both passes work on the (C, m) matrix of channel rows, with in-place
    updates (_rows_forward, _rows_backward): the same formulas in fewer passes over memory.
    """

    symbol = "batch_norm"
    rows_axes = None  # set when the channel-rows path ran (SyncBatchNorm never takes it)

    def forward(ctx, x, *affine, eps, training=True, running_mean=None, running_var=None,
                momentum=0.1):
        """Batch statistics when training or when there are no running statistics; then, if
        training with running arrays, they are updated in place (non-differentiable state).
        Otherwise the running statistics are used as constants."""
        ctx.axes = (0,) + tuple(range(2, x.ndim))
        ctx.batch_stats = training or running_mean is None
        rows = channel_rows(x)
        if rows is not None:
            return ctx._rows_forward(x, rows, affine, eps, training, running_mean,
                                     running_var, momentum)
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        if ctx.batch_stats:
            mean = x.mean(axis=ctx.axes, keepdims=True)
            centered = x - mean
            var = (centered * centered).mean(axis=ctx.axes, keepdims=True)
            if training and running_mean is not None and momentum:
                update_running_stats(running_mean, running_var, mean.reshape(-1),
                                     var.reshape(-1), x.size // x.shape[1], momentum)
        else:
            centered = x - running_mean.astype(x.dtype, copy=False).reshape(shape)
            var = running_var.astype(x.dtype, copy=False).reshape(shape)
        inv_std = 1 / np.sqrt(var + eps)
        x_hat = centered * inv_std
        gamma = affine[0].reshape(shape) if affine else None
        ctx.save(x_hat, inv_std, gamma)
        return x_hat * gamma + affine[1].reshape(shape) if affine else x_hat

    def _rows_forward(ctx, x, rows, affine, eps, training, running_mean, running_var,
                      momentum):
        """forward on the channel rows r (C, m): x_hat = (r - mean) / sigma in place."""
        axes, r = rows
        count = r.shape[1]
        if ctx.batch_stats:
            mean = r.sum(axis=1, keepdims=True) / count
            x_hat = r - mean
            var = np.einsum("ij,ij->i", x_hat, x_hat)[:, None] / count
            if training and running_mean is not None and momentum:
                update_running_stats(running_mean, running_var, mean.reshape(-1),
                                     var.reshape(-1), count, momentum)
        else:
            x_hat = r - running_mean.astype(x.dtype, copy=False)[:, None]
            var = running_var.astype(x.dtype, copy=False)[:, None]
        inv_std = 1 / np.sqrt(var + eps)
        x_hat *= inv_std
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        gamma = affine[0].reshape(shape) if affine else None
        ctx.rows_axes = axes
        ctx.save(_from_rows(x_hat, x.shape, axes), inv_std.reshape(shape), gamma)
        if not affine:
            return _from_rows(x_hat.copy(), x.shape, axes)
        y = np.multiply(x_hat, affine[0][:, None])
        y += affine[1][:, None]
        return _from_rows(y, x.shape, axes)

    def _rows_backward(ctx, grad_out):
        """backward on channel rows: dx = s (g - sum(g)/m - x_hat sum(g x_hat)/m), s = gamma
        / sigma, with sum(g) = dbeta and sum(g x_hat) = dgamma (batch statistics)."""
        x_hat, inv_std, gamma = ctx.saved
        axes, channels = ctx.rows_axes, x_hat.shape[1]
        xh = x_hat.transpose(axes).reshape(channels, -1)
        g = np.ascontiguousarray(grad_out.transpose(axes)).reshape(channels, -1)
        sum_g, sum_gx = g.sum(axis=1), np.einsum("ij,ij->i", g, xh)
        scale = inv_std.reshape(channels, 1)
        if gamma is not None:
            scale = scale * gamma.reshape(channels, 1)
        grad_x = None
        if ctx.needs_input_grad[0]:
            if ctx.batch_stats:
                count = g.shape[1]
                dx = np.multiply(xh, (-sum_gx / count)[:, None])
                dx += g
                dx -= (sum_g / count)[:, None]
                dx *= scale
            else:
                dx = g * scale
            grad_x = _from_rows(dx, x_hat.shape, axes)
        if gamma is None:
            return grad_x
        need = ctx.needs_input_grad
        return grad_x, sum_gx if need[1] else None, sum_g if need[2] else None

    def _normalize_tangent(ctx, dx_hat):
        """dx from dx_hat (backward) or x_hat_dot from x_dot (jvp): the same symmetric map."""
        x_hat, inv_std, _ = ctx.saved
        if not ctx.batch_stats:
            return dx_hat * inv_std
        mean_d = dx_hat.mean(axis=ctx.axes, keepdims=True)
        mean_dx = (dx_hat * x_hat).mean(axis=ctx.axes, keepdims=True)
        return inv_std * (dx_hat - mean_d - x_hat * mean_dx)

    def _input_gradient(ctx, dx_hat):
        """dx from dx_hat = gamma dy (SyncBatchNorm weighs the ranks' sums here)."""
        return ctx._normalize_tangent(dx_hat)

    def backward(ctx, grad_out):
        if ctx.rows_axes is not None:
            return ctx._rows_backward(grad_out)
        x_hat, _, gamma = ctx.saved
        need = ctx.needs_input_grad
        grad_x = None
        if need[0]:
            grad_x = ctx._input_gradient(grad_out if gamma is None else grad_out * gamma)
        if gamma is None:
            return grad_x
        grad_gamma = (grad_out * x_hat).sum(axis=ctx.axes) if need[1] else None
        grad_beta = grad_out.sum(axis=ctx.axes) if need[2] else None
        return grad_x, grad_gamma, grad_beta

    def jvp(ctx, x_dot, *affine_dots):
        x_hat, _, gamma = ctx.saved
        x_hat_dot = ctx._normalize_tangent(x_dot)
        if gamma is None:
            return x_hat_dot
        gamma_dot, beta_dot = (d.reshape(gamma.shape) for d in affine_dots)
        return gamma * x_hat_dot + gamma_dot * x_hat + beta_dot


# --- helpers of the losses and layers (non-differentiable array work) -----------------------
def update_running_stats(running_mean, running_var, batch_mean, batch_var, count, momentum):
    """In place: r <- (1 - momentum) r + momentum * batch, with the UNBIASED batch variance
    var * m / (m - 1) for running_var (as PyTorch). Arrays: (C,)."""
    unbiased = batch_var * (count / (count - 1))
    for running, batch in ((running_mean, batch_mean), (running_var, unbiased)):
        running *= 1 - momentum
        running += momentum * batch.astype(running.dtype, copy=False)


def check_class_indices(labels, num_classes, op, ignore_index=None):
    """Raise a ValueError naming the first label outside 0..num_classes-1 (except ignore_index)."""
    if labels.size == 0 or (labels.min() >= 0 and labels.max() < num_classes):
        return
    bad = (labels < 0) | (labels >= num_classes)
    if ignore_index is not None:
        bad &= labels != ignore_index
    if bad.any():
        value = int(labels[bad].flat[0])
        skip = "" if ignore_index is None else f", or ignore_index={ignore_index} to skip one"
        raise ValueError(f"{op}: target {value} is out of range for {num_classes} classes "
                         f"(class indices are 0..{num_classes - 1}{skip})")


def class_index_targets(labels, num_classes, dtype, weight=None, label_smoothing=0.0,
                        ignore_index=None):
    """Dense targets T (classes on axis 1) for integer labels of shape (N, d1, ...), and the
    mean-reduction denominator D (PyTorch's conventions):

        T[n, c] = (1 - eps) w[y_n] [c = y_n] + eps w[c] / C,   rows with y_n = ignore_index are 0
        D = sum of w[y_n] over the rows not ignored  (the number of such rows without weights)
    """
    valid = None if ignore_index is None else labels != ignore_index
    if valid is not None and valid.all():
        valid = None  # the common case: nothing to mask
    safe = labels if valid is None else np.where(valid, labels, 0)
    target = np.eye(num_classes, dtype=dtype)[safe]  # one-hot rows, classes last
    if weight is None:
        w_label = None if valid is None else valid.astype(dtype)
        spread = np.ones(num_classes, dtype)
    else:
        spread = weight.astype(dtype, copy=False)
        w_label = spread[safe] if valid is None else spread[safe] * valid
    if w_label is not None:
        target *= w_label[..., None]
    if label_smoothing:
        smooth = (label_smoothing / num_classes) * spread
        target *= 1 - label_smoothing
        target += smooth if valid is None else valid[..., None] * smooth
    if target.ndim > 2:
        target = np.moveaxis(target, -1, 1)
    denominator = float(labels.size) if w_label is None else float(w_label.sum())
    return target, denominator


def multi_margin_masks(labels, num_classes, dtype, weight=None):
    """For labels (N,): the one-hot matrix, and w[y_n] [c != y_n] / C (the weights of the
    margin violations in multi_margin_loss: the true class does not count)."""
    one_hot = (labels[:, None] == np.arange(num_classes)).astype(dtype)
    scale = np.full(labels.shape, 1.0 / num_classes, dtype=dtype) if weight is None \
        else weight.astype(dtype, copy=False)[labels] / num_classes
    return one_hot, (1 - one_hot) * scale[:, None]


def value_range(x):
    """(min, max) of an array as Python floats (for the checks of the losses)."""
    return float(x.min()), float(x.max())


def bad_values(x, allowed):
    """The first value of x not in `allowed`, or None."""
    bad = ~np.isin(x, allowed)
    return x[bad].flat[0].item() if bad.any() else None
