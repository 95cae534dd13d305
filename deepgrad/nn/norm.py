"""Normalization layers: BatchNorm1d, BatchNorm2d (batch statistics, running estimates) and
LayerNorm (per-example statistics). The math is in deepgrad.nn.functional_norm and the fused
batch-norm primitive in deepgrad.ops.nn_ops."""

from __future__ import annotations

import numpy as np

from deepgrad import _state
from deepgrad.nn import functional_norm as FN
from deepgrad.nn import init
from deepgrad.nn.module import Module, Parameter
from deepgrad.tensor import Tensor
from deepgrad.registry import register

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d (they differ only in the input shapes accepted).

    y = gamma (x - mu) / sqrt(var + eps) + beta per channel (axis 1). Training: mu and var are
    the batch statistics (biased var), and the running estimates are updated,
    r <- (1 - momentum) r + momentum * batch statistic (unbiased var for running_var;
    momentum=None: the cumulative average over all batches seen). Eval: the running estimates
    are used (with track_running_stats=False the batch statistics are used in both modes).
    """

    _shape_text = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype="float32"):
        super().__init__()
        if not isinstance(num_features, int) or isinstance(num_features, bool) \
                or num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive integer, "
                             f"got {num_features!r}")
        if eps <= 0:
            raise ValueError(f"{type(self).__name__}: eps must be positive, got {eps}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1] or None, "
                             f"got {momentum}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(init.empty((num_features,), dtype))
            self.bias = Parameter(init.empty((num_features,), dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.zeros((), np.int64)))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.fill_(0.0)
            self.running_var.fill_(1.0)
            self.num_batches_tracked.fill_(0)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            with _state.no_grad():
                self.weight.fill_(1.0)
                self.bias.fill_(0.0)

    def _describe(self):
        return f"{type(self).__name__}(num_features={self.num_features})"

    def _check_input(self, x):
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            expected = self._shape_text.replace("C", str(self.num_features))
            raise ValueError(f"{self._describe()}: expected input of shape {expected}, got "
                             f"{tuple(x.shape)}")

    def forward(self, x):
        self._check_input(x)
        training = self.training or not self.track_running_stats
        if training:
            FN.check_batch_size(x, self._describe())
        factor = 0.0
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            factor = self.momentum if self.momentum is not None \
                else 1.0 / int(self.num_batches_tracked.item())
        return FN.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                             training=training, momentum=factor, eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


@register("layer")
class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) features or (N, C, L) sequences."""

    _ndims = (2, 3)
    _shape_text = "(N, C) or (N, C, L)"


@register("layer")
class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) images, one mean and variance per channel."""

    _ndims = (4,)
    _shape_text = "(N, C, H, W)"


@register("layer")
class LayerNorm(Module):
    """y = gamma (x - mu) / sqrt(var + eps) + beta, statistics per example over the trailing
    dims `normalized_shape`; gamma (init 1) and beta (init 0) have that shape. Training and
    eval behave the same."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 dtype="float32"):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) \
            else tuple(normalized_shape)
        if not shape or any(not isinstance(n, int) or n <= 0 for n in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be a positive integer or a "
                             f"tuple of them, got {normalized_shape!r}")
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(init.empty(shape, dtype))
            self.bias = Parameter(init.empty(shape, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            with _state.no_grad():
                self.weight.fill_(1.0)
                self.bias.fill_(0.0)

    def forward(self, x):
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k:]) != self.normalized_shape:
            raise ValueError(f"LayerNorm(normalized_shape={self.normalized_shape}): expected "
                             f"input whose trailing dimensions are {self.normalized_shape}, "
                             f"got shape {tuple(x.shape)}")
        return FN.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
