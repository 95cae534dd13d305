"""Activation layers. Each holds its hyperparameters (and, for PReLU and a trainable Swish, its
parameters) and calls `deepgrad.nn.functional`; formulas and derivatives are in the docstrings
there and in docs/nn_activations.md. Identity lives in linear.py.

Default initialization of the learnable ones: PReLU slopes 0.25 (as PyTorch), Swish beta 1.0.
"""

from __future__ import annotations

import numbers

import numpy as np

from deepgrad.nn import functional as F
from deepgrad.nn.init import constant_, empty
from deepgrad.nn.module import Module, Parameter
from deepgrad.registry import register


def _number(value, layer, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{layer}: {name} must be a real number, got {type(value).__name__} "
                        f"{value!r}")
    return float(value)


@register("activation")
class Step(Module):
    """y = 1 if x >= 0 else 0. Its gradient is zero: nothing upstream learns by backprop."""

    def forward(self, x):
        return F.step(x)


@register("activation", aliases=("sigmoid",), family="sigmoid")
class Sigmoid(Module):
    """y = 1 / (1 + e^-x)"""

    def forward(self, x):
        return F.sigmoid(x)


@register("activation", aliases=("tanh",), family="tanh")
class Tanh(Module):
    """y = tanh(x)"""

    def forward(self, x):
        return F.tanh(x)


@register("activation")
class SobolevaTanh(Module):
    """y = (e^(a x) - e^(-b x)) / (e^(c x) + e^(-d x)); a = b = c = d = 1 is tanh."""

    def __init__(self, a: float = 1.0, b: float = 1.0, c: float = 1.0, d: float = 1.0):
        super().__init__()
        self.a, self.b, self.c, self.d = (_number(v, "SobolevaTanh", n)
                                          for v, n in ((a, "a"), (b, "b"), (c, "c"), (d, "d")))

    def forward(self, x):
        return F.soboleva_tanh(x, self.a, self.b, self.c, self.d)

    def extra_repr(self) -> str:
        return f"a={self.a}, b={self.b}, c={self.c}, d={self.d}"


@register("activation", aliases=("relu",), family="relu")
class ReLU(Module):
    """y = max(x, 0). `inplace=True` is accepted for PyTorch code and computes out of place
    (a new tensor): deepgrad never overwrites an activation that backward may need."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, x):
        return F.relu(x)


@register("activation", aliases=("leaky_relu",), family="relu")
class LeakyReLU(Module):
    """y = x if x > 0 else negative_slope * x"""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = _number(negative_slope, "LeakyReLU", "negative_slope")

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


@register("activation", aliases=("prelu",), family="relu")
class PReLU(Module):
    """y = x if x > 0 else a x, with learnable slopes a: one shared (num_parameters=1) or one per
    channel (num_parameters=C, channels on axis 1). Default initialization: every a = `init`.

    Shape: input (N, C, ...) or any shape when num_parameters=1 -> output of the same shape.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype="float32"):
        super().__init__()
        # stored as num_slopes: an attribute `num_parameters` (PyTorch's) would hide the method
        # Module.num_parameters()
        if not isinstance(num_parameters, (int, np.integer)) or isinstance(num_parameters, bool) \
                or num_parameters <= 0:
            raise ValueError(f"PReLU: num_parameters must be a positive integer, got "
                             f"{num_parameters!r}")
        self.num_slopes = int(num_parameters)
        self.init = _number(init, "PReLU", "init")
        self.weight = Parameter(empty((self.num_slopes,), dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        constant_(self.weight, self.init)

    def forward(self, x):
        if self.num_slopes > 1 and (x.ndim < 2 or x.shape[1] != self.num_slopes):
            found = f"{x.shape[1]} channels" if x.ndim >= 2 else "no channel axis"
            raise ValueError(f"PReLU(num_parameters={self.num_slopes}): expected input with "
                             f"{self.num_slopes} channels on axis 1, got shape "
                             f"{tuple(x.shape)} ({found})")
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_slopes}"


@register("activation", aliases=("elu",), family="relu")
class ELU(Module):
    """y = x if x > 0 else alpha (e^x - 1)"""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = _number(alpha, "ELU", "alpha")

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


@register("activation", aliases=("selu",), family="relu")
class SELU(Module):
    """y = lambda * elu(x, alpha), lambda ~ 1.0507, alpha ~ 1.6733 (self-normalizing; pair it
    with init.lecun_normal_ weights)."""

    def forward(self, x):
        return F.selu(x)


@register("activation", aliases=("gelu",), family="relu")
class GELU(Module):
    """y = x Phi(x) (approximate="none", with erf) or its tanh approximation ("tanh")."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


@register("activation", aliases=("softplus",), family="relu")
class Softplus(Module):
    """y = ln(1 + e^(beta x)) / beta, linear (y = x) where beta x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta = _number(beta, "Softplus", "beta")
        self.threshold = _number(threshold, "Softplus", "threshold")
        if self.beta <= 0:
            raise ValueError(f"Softplus: beta must be positive, got beta={self.beta}")

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


@register("activation", aliases=("silu",), family="relu")
class SiLU(Module):
    """y = x sigmoid(x)"""

    def forward(self, x):
        return F.silu(x)


@register("activation", aliases=("swish",), family="relu")
class Swish(Module):
    """y = x sigmoid(beta x). With trainable=True, beta is a Parameter (a 0-d tensor initialized
    to `beta`); otherwise a constant. beta = 1 is SiLU."""

    def __init__(self, beta: float = 1.0, trainable: bool = False, dtype="float32"):
        super().__init__()
        beta = _number(beta, "Swish", "beta")
        self.trainable = bool(trainable)
        if self.trainable:
            self.beta = Parameter(np.array(beta, dtype=dtype))
        else:
            self.beta = beta

    def forward(self, x):
        return F.swish(x, self.beta)

    def extra_repr(self) -> str:
        value = float(self.beta.item()) if self.trainable else self.beta
        return f"beta={value}, trainable={self.trainable}"


@register("activation")
class Softmax(Module):
    """y_i = e^(x_i) / sum_j e^(x_j) along `dim` (stable: the maximum is subtracted)."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


@register("activation")
class LogSoftmax(Softmax):
    """y = x - max x - ln(sum_j e^(x_j - max x)) along `dim`."""

    def forward(self, x):
        return F.log_softmax(x, self.dim)


def _simple(name, function, doc, family=None):
    """An activation module without parameters: forward(x) = function(x)."""

    def __init__(self, inplace: bool = False):
        Module.__init__(self)
        self.inplace = bool(inplace)  # accepted as PyTorch's; always computed out of place

    def forward(self, x):
        return function(x)

    cls = type(name, (Module,), {"__init__": __init__, "forward": forward, "__doc__": doc,
                                  "__module__": __name__})
    return register("activation", **({"family": family} if family else {}))(cls)


ReLU6 = _simple("ReLU6", F.relu6, "y = min(max(x, 0), 6)", family="relu")
Hardsigmoid = _simple("Hardsigmoid", F.hardsigmoid, "y = relu6(x + 3) / 6", family="sigmoid")
Hardswish = _simple("Hardswish", F.hardswish, "y = x relu6(x + 3) / 6", family="relu")
Mish = _simple("Mish", F.mish, "y = x tanh(softplus(x))", family="relu")
Softsign = _simple("Softsign", F.softsign, "y = x / (1 + |x|)", family="tanh")
LogSigmoid = _simple("LogSigmoid", F.logsigmoid, "y = ln sigmoid(x)")
Tanhshrink = _simple("Tanhshrink", F.tanhshrink, "y = x - tanh(x)")


@register("activation", family="tanh")
class Hardtanh(Module):
    """y = min(max(x, min_val), max_val)"""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        self.min_val = _number(min_val, "Hardtanh", "min_val")
        self.max_val = _number(max_val, "Hardtanh", "max_val")
        if self.min_val >= self.max_val:
            raise ValueError(f"Hardtanh: min_val={min_val} must be less than max_val={max_val}")
        self.inplace = bool(inplace)

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


@register("activation")
class Softmax2d(Module):
    """Softmax over the channels of each position: dim -3 of (N, C, H, W) or (C, H, W)."""

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input (N, C, H, W) or (C, H, W), got shape "
                             f"{tuple(x.shape)}")
        return F.softmax(x, -3)
