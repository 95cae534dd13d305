"""The math of the layers, as functions of Tensors (`import deepgrad.nn.functional as F`).

Composites are built from the primitives of `deepgrad.ops`, so they are correct in both
autodiff modes; fused primitives live in `deepgrad.ops` where speed or stability needs them
(the activations in `deepgrad/ops/activation.py`). Formulas, derivatives and the conventions at
kinks are collected in docs/nn_activations.md.
"""

from __future__ import annotations

import math
import numbers

from deepgrad import ops
from deepgrad.factories import randn
from deepgrad.ops import activation as _a
from deepgrad.ops import flatten, linear, log_softmax, relu, sigmoid, softmax, tanh
from deepgrad.ops.reduce import normalize_axis
from deepgrad.random import get_generator
from deepgrad.tensor import Tensor

__all__ = [
    "linear", "flatten", "identity", "step", "sigmoid", "tanh", "soboleva_tanh", "relu",
    "leaky_relu", "prelu", "elu", "selu", "gelu", "softplus", "silu", "swish", "softmax",
    "log_softmax", "glu", "gated_linear", "dropout", "gaussian_noise", "relu6", "hardtanh",
    "hardsigmoid", "hardswish", "mish", "softsign", "logsigmoid", "tanhshrink",
]

# Klambauer et al. 2017, "Self-Normalizing Neural Networks", eq. 14
SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _real(value, op, name):
    """`value` as a float, or a TypeError naming the function and the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {type(value).__name__} "
                        f"{value!r}")
    return float(value)


def check_dropout_probability(p, op):
    """p as a float in [0, 1], or an error naming `op` and p."""
    p = _real(p, op, "p")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: p (the probability of dropping an entry) must be in [0, 1], "
                         f"got p={p}")
    return p


# --- activations ------------------------------------------------------------------------------
def identity(x):
    """y = x"""
    return x


def step(x):
    """Binary step: y = 1 if x >= 0 else 0. Its derivative is 0 wherever it exists, so no
    gradient flows through it (train step networks with the perceptron rule instead)."""
    return _a.Step.apply(x)


def soboleva_tanh(x, a=1.0, b=1.0, c=1.0, d=1.0):
    """Soboleva's modified tanh: y = (e^(a x) - e^(-b x)) / (e^(c x) + e^(-d x)).

    a = b = c = d = 1 gives tanh. Evaluated without overflow (one fused primitive).
    """
    a, b, c, d = (_real(v, "soboleva_tanh", n) for v, n in ((a, "a"), (b, "b"), (c, "c"),
                                                              (d, "d")))
    return _a.SobolevaTanh.apply(x, a=a, b=b, c=c, d=d)


def leaky_relu(x, negative_slope=0.01):
    """y = x if x > 0 else negative_slope * x  (derivative at 0: negative_slope)."""
    return _a.LeakyRelu.apply(x, negative_slope=_real(negative_slope, "leaky_relu",
                                                      "negative_slope"))


def prelu(x, weight):
    """y = x if x > 0 else a x, with learnable slopes `weight` of shape (1,) (one shared slope)
    or (C,) (one per channel, the channels on axis 1). The gradient at x = 0 goes to the slope
    branch (as PyTorch)."""
    if weight.size > 1:
        channels = x.shape[1] if x.ndim >= 2 else None
        if channels != weight.size:
            raise ValueError(f"prelu: weight has {weight.size} slopes (one per channel) but the "
                             f"input of shape {tuple(x.shape)} has "
                             f"{'no channel axis' if channels is None else f'{channels} channels'}"
                             " on axis 1")
        weight = ops.reshape(weight, (1, weight.size) + (1,) * (x.ndim - 2))
    else:
        weight = ops.reshape(weight, ())
    return ops.where(x > 0, x, weight * x)


def elu(x, alpha=1.0):
    """y = x if x > 0 else alpha (e^x - 1)."""
    return _a.Elu.apply(x, alpha=_real(alpha, "elu", "alpha"))


def selu(x):
    """y = lambda * elu(x, alpha) with Klambauer et al.'s lambda ~ 1.0507, alpha ~ 1.6733: the
    fixed point mean 0, variance 1 is attracting for lecun_normal_ weights."""
    return _a.Elu.apply(x, alpha=SELU_ALPHA) * SELU_SCALE


def gelu(x, approximate="none"):
    """y = x Phi(x) = x/2 (1 + erf(x / sqrt 2))  (approximate="none"), or
    y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  (approximate="tanh")."""
    if approximate == "none":
        return x * 0.5 * (ops.erf(x * _SQRT_HALF) + 1.0)
    if approximate == "tanh":
        # tanh(inner) is +-1 in float64 once |x| > 10, so clipping x there changes no value
        # and keeps x^3 finite (x^3 = inf would give 0 * inf = NaN in the gradient)
        xc = ops.clip(x, -10.0, 10.0)
        inner = (xc + xc ** 3 * 0.044715) * _SQRT_2_OVER_PI
        return x * 0.5 * (ops.tanh(inner) + 1.0)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(x, beta=1.0, threshold=20.0):
    """y = ln(1 + e^(beta x)) / beta, and y = x where beta x > threshold (as PyTorch)."""
    beta = _real(beta, "softplus", "beta")
    if beta <= 0:
        raise ValueError(f"softplus: beta must be positive, got beta={beta}")
    return _a.Softplus.apply(x, beta=beta, threshold=_real(threshold, "softplus", "threshold"))


def silu(x):
    """y = x sigmoid(x)  (Swish with beta = 1)."""
    return x * ops.sigmoid(x)


def swish(x, beta=1.0):
    """y = x sigmoid(beta x); beta is a number or a (learnable) Tensor."""
    if not isinstance(beta, Tensor):
        beta = _real(beta, "swish", "beta")
    return x * ops.sigmoid(x * beta)


def relu6(x):
    """y = min(max(x, 0), 6)."""
    return ops.clip(x, 0.0, 6.0)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """y = min(max(x, min_val), max_val)."""
    return ops.clip(x, _real(min_val, "hardtanh", "min_val"),
                    _real(max_val, "hardtanh", "max_val"))


def hardsigmoid(x):
    """y = relu6(x + 3) / 6: a piecewise-linear sigmoid."""
    return ops.clip(x + 3.0, 0.0, 6.0) * (1.0 / 6.0)


def hardswish(x):
    """y = x relu6(x + 3) / 6 (MobileNetV3)."""
    return x * hardsigmoid(x)


def mish(x):
    """y = x tanh(softplus(x)) (Misra 2019)."""
    return x * ops.tanh(softplus(x))


def softsign(x):
    """y = x / (1 + |x|)."""
    return x / (ops.abs(x) + 1.0)


def logsigmoid(x):
    """y = ln sigmoid(x) = -softplus(-x), finite for any x."""
    return -softplus(-x)


def tanhshrink(x):
    """y = x - tanh(x)."""
    return x - ops.tanh(x)


# --- gated linear units ---------------------------------------------------------------------
def glu(x, dim=-1):
    """PyTorch's glu: split x in halves a, b along `dim`, y = a * sigmoid(b)."""
    axis = normalize_axis(dim, x.ndim, "glu")[0]
    size = x.shape[axis]
    if size % 2:
        raise ValueError(f"glu: dimension {dim} must have an even size to be split in halves, "
                         f"got size {size} (shape {tuple(x.shape)})")
    before = (slice(None),) * axis
    a = ops.getitem(x, before + (slice(0, size // 2),))
    b = ops.getitem(x, before + (slice(size // 2, size),))
    return a * ops.sigmoid(b)


def gated_linear(x, weight, bias, value_weight, value_bias, activation=sigmoid):
    """y = activation(x W^T + b) * (x V^T + c)  (Dauphin et al. 2017; Shazeer 2020)."""
    return activation(linear(x, weight, bias)) * linear(x, value_weight, value_bias)


# --- regularizing noise -------------------------------------------------------------------------
def dropout(x, p=0.5, training=True, generator=None):
    """Inverted dropout: in training y = x m / (1 - p), each m_i = 0 with probability p (else 1),
    drawn from `generator`; y = x otherwise. Expected value E[y] = x in both modes."""
    p = check_dropout_probability(p, "dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:  # every entry dropped: zeros (and zero gradients), as PyTorch
        return x * 0.0
    return _a.Dropout.apply(x, p=p, generator=get_generator(generator))


def gaussian_noise(x, std, training=True, generator=None):
    """y = x + std * n, n ~ N(0, 1) drawn from `generator`, in training; y = x otherwise."""
    std = _real(std, "gaussian_noise", "std")
    if std < 0:
        raise ValueError(f"gaussian_noise: std must be non-negative, got std={std}")
    if not training or std == 0.0:
        return x
    return x + randn(*x.shape, generator=generator, dtype=x.dtype) * std


# --- losses, penalties and normalization (functional_loss.py, functional_norm.py) ----------
from deepgrad.nn.functional_loss import (  # noqa: E402
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, elastic_net,
    hinge_loss, l1_loss, l1_penalty, l2_penalty, mse_loss, multi_margin_loss, nll_loss,
    perceptron_loss)
from deepgrad.nn.functional_norm import batch_norm, batch_norm_composed, layer_norm  # noqa: E402

__all__ += [
    "mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cross_entropy", "nll_loss", "multi_margin_loss", "hinge_loss", "perceptron_loss",
    "l1_penalty", "l2_penalty", "elastic_net", "batch_norm", "batch_norm_composed", "layer_norm",
]
# --- end of losses, penalties and normalization ---------------------------------------------

# --- padding, one-hot, embedding, similarity, attention --------------------------------------
from deepgrad.nn.functional_attention import (  # noqa: E402
    cosine_similarity, normalize, scaled_dot_product_attention)
from deepgrad.nn.functional_shape import embedding, one_hot, pad  # noqa: E402

__all__ += ["pad", "one_hot", "embedding", "normalize", "cosine_similarity",
            "scaled_dot_product_attention"]

# --- convolution and pooling (functional_conv.py) ---------------------------------------------
from deepgrad.nn.functional_conv import (  # noqa: E402
    adaptive_avg_pool2d, avg_pool2d, conv1d, conv2d, conv2d_max_pool2d, conv_transpose2d,
    global_avg_pool2d, max_pool2d)

__all__ += ["conv1d", "conv2d", "conv_transpose2d", "conv2d_max_pool2d", "max_pool2d",
            "avg_pool2d", "adaptive_avg_pool2d", "global_avg_pool2d"]
# --- end of convolution and pooling -----------------------------------------------------------
