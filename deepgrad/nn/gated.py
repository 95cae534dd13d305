"""Gated linear units: two affine maps of the same input, one passed through a gate
activation, multiplied elementwise (Dauphin et al. 2017; Shazeer 2020, "GLU Variants Improve
Transformer"):

    GLU(x)    = sigmoid(x W^T + b) * (x V^T + c)
    ReGLU(x)  = max(0, x W^T + b)  * (x V^T + c)
    GEGLU(x)  = GELU(x W^T + b)    * (x V^T + c)
    SwiGLU(x) = Swish_beta(x W^T + b) * (x V^T + c)

Unlike torch.nn.GLU (which splits its input in halves, see F.glu), these are layers with their
own weights: gate_weight W and value_weight V of shape (out_features, in_features), biases b, c.
Default initialization: as Linear, every entry U(-1/sqrt(in), 1/sqrt(in)).

Shape: input (..., in_features) -> output (..., out_features).
"""

from __future__ import annotations

import math

from deepgrad.nn import functional as F
from deepgrad.nn import init
from deepgrad.nn.module import Module, Parameter
from deepgrad.random import get_generator
from deepgrad.registry import register


@register("activation")
class GLU(Module):
    """sigmoid(x W^T + b) * (x V^T + c); subclasses change the gate activation."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 generator=None, dtype="float32"):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{type(self).__name__}: {name} must be a positive integer, "
                                 f"got {value!r}")
        self.in_features, self.out_features = in_features, out_features
        shape = (out_features, in_features)
        self.gate_weight = Parameter(init.empty(shape, dtype))
        self.gate_bias = Parameter(init.empty((out_features,), dtype)) if bias else None
        self.value_weight = Parameter(init.empty(shape, dtype))
        self.value_bias = Parameter(init.empty((out_features,), dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None) -> None:
        rng = get_generator(generator)
        bound = 1.0 / math.sqrt(self.in_features)
        for p in (self.gate_weight, self.gate_bias, self.value_weight, self.value_bias):
            if p is not None:
                init.uniform_(p, -bound, bound, generator=rng)

    def gate(self, z):
        return F.sigmoid(z)

    def forward(self, x):
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{type(self).__name__}(in_features={self.in_features}, "
                             f"out_features={self.out_features}): expected input whose last "
                             f"dimension is {self.in_features}, got shape {tuple(x.shape)}")
        return F.gated_linear(x, self.gate_weight, self.gate_bias, self.value_weight,
                              self.value_bias, activation=self.gate)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.gate_bias is not None}")


@register("activation")
class ReGLU(GLU):
    """max(0, x W^T + b) * (x V^T + c)"""

    def gate(self, z):
        return F.relu(z)


@register("activation")
class GEGLU(GLU):
    """GELU(x W^T + b) * (x V^T + c), GELU exact (erf) or "tanh"-approximated."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 generator=None, dtype="float32", approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GEGLU: approximate must be 'none' or 'tanh', got {approximate!r}")
        super().__init__(in_features, out_features, bias, generator, dtype)
        self.approximate = approximate

    def gate(self, z):
        return F.gelu(z, self.approximate)


@register("activation")
class SwiGLU(GLU):
    """Swish_beta(x W^T + b) * (x V^T + c), Swish_beta(z) = z sigmoid(beta z) (beta constant)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 generator=None, dtype="float32", beta: float = 1.0):
        if isinstance(beta, bool) or not isinstance(beta, (int, float)):
            raise TypeError(f"SwiGLU: beta must be a real number, got {type(beta).__name__}")
        super().__init__(in_features, out_features, bias, generator, dtype)
        self.beta = float(beta)

    def gate(self, z):
        return F.swish(z, self.beta)
