"""Normalization functions (re-exported by `deepgrad.nn.functional`).

batch_norm is one fused primitive (deepgrad.ops.nn_ops.BatchNorm, closed-form backward);
batch_norm_composed is the same math written with primitives, kept as the readable reference
the fused version is tested against. layer_norm is composed of primitives.
"""

from __future__ import annotations

from deepgrad import ops
from deepgrad.ops import nn_ops
from deepgrad.tensor import as_tensor

__all__ = ["batch_norm", "batch_norm_composed", "layer_norm"]


def check_batch_size(x, op):
    """Batch statistics need more than one value per channel (else the variance is 0)."""
    if x.size // max(x.shape[1], 1) <= 1:
        raise ValueError(f"{op}: expected more than 1 value per channel when training, got "
                         f"input of shape {x.shape} (batch statistics of one value give a "
                         "variance of 0; use a larger batch or call .eval())")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """y = weight (x - mu) / sqrt(var + eps) + bias per channel (axis 1), statistics over every
    other axis.

    Batch statistics are used when `training` or when there are no running statistics; when
    training, `running_mean` and `running_var` (Tensors of shape (C,)) are then updated in
    place: r <- (1 - momentum) r + momentum * batch statistic, with the unbiased batch variance.
    Otherwise (eval) the running statistics are used. weight and bias: (C,) or both None.
    """
    x = as_tensor(input)
    if (weight is None) != (bias is None):
        raise ValueError("batch_norm: pass both weight and bias, or neither")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: pass both running_mean and running_var, or neither")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C) or (N, C, ...), got "
                         f"{x.shape}")
    channels = x.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (channels,):
            raise ValueError(f"batch_norm: {name} must have shape ({channels},) for an input "
                             f"of shape {x.shape}, got {tuple(t.shape)}")
    use_batch_stats = training or running_mean is None
    if use_batch_stats:
        check_batch_size(x, "batch_norm")
    affine = () if weight is None else (weight, bias)
    y = nn_ops.BatchNorm.apply(
        x, *affine, eps=eps, training=training,
        running_mean=None if running_mean is None else running_mean.data,
        running_var=None if running_var is None else running_var.data,
        momentum=momentum)
    if training and running_mean is not None:
        running_mean._bump()
        running_var._bump()
    return y


def batch_norm_composed(input, weight=None, bias=None, eps=1e-5):
    """Training-mode batch norm written with primitives (mean, var, sqrt, ...): slower than
    batch_norm, but its gradient comes from the chain rule alone, so it checks the fused one."""
    x = as_tensor(input)
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mean = ops.mean(x, axis=axes, keepdims=True)
    var = ops.var(x, axis=axes, keepdims=True, correction=0)
    x_hat = ops.div(ops.sub(x, mean), ops.sqrt(ops.add(var, eps)))
    if weight is None:
        return x_hat
    return ops.add(ops.mul(x_hat, ops.reshape(weight, shape)), ops.reshape(bias, shape))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """y = weight (x - mu) / sqrt(var + eps) + bias, with mu and the (biased) var of each
    example over the trailing dimensions `normalized_shape`; weight and bias have that shape.
    The same in training and eval. Composed of primitives, so both AD modes come for free."""
    x = as_tensor(input)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(normalized_shape)
    k = len(normalized_shape)
    if k == 0 or x.shape[x.ndim - k:] != normalized_shape or x.ndim < k:
        raise ValueError(f"layer_norm: expected input whose trailing dimensions are "
                         f"{normalized_shape}, got shape {x.shape}")
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = ops.mean(x, axis=axes, keepdims=True)
    var = ops.var(x, axis=axes, keepdims=True, correction=0)
    y = ops.div(ops.sub(x, mean), ops.sqrt(ops.add(var, eps)))
    if weight is not None:
        y = ops.mul(y, weight)
    if bias is not None:
        y = ops.add(y, bias)
    return y
