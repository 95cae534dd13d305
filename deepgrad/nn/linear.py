"""Linear (affine) layer, Identity and Flatten."""

from __future__ import annotations

import math

import numpy as np

from deepgrad import ops
from deepgrad.nn import functional as F
from deepgrad.nn import init
from deepgrad.nn.activation import ReLU
from deepgrad.nn.module import Module, Parameter
from deepgrad.tensor import Tensor
from deepgrad.random import get_generator
from deepgrad.registry import register


@register("layer")
class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features).

    Default initialization (as PyTorch): W and b uniform on [-1/sqrt(in), 1/sqrt(in)], i.e.
    kaiming_uniform_ with a = sqrt(5). Use deepgrad.nn.init to choose another scheme.

    Shape: input (..., in_features) -> output (..., out_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 generator=None, dtype="float32"):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Linear: {name} must be a positive integer, got {value!r}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(init.empty((out_features, in_features), dtype))
        self.bias = Parameter(init.empty((out_features,), dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None) -> None:
        rng = get_generator(generator)
        bound = 1.0 / math.sqrt(self.in_features)
        init.uniform_(self.weight, -bound, bound, generator=rng)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, generator=rng)

    def forward(self, x):
        weight, bias = self._weight_and_bias(x)
        return F.linear(x, weight, bias)

    def _weight_and_bias(self, x):
        """The parameters, after checking the input's last dimension. Read from the parameter
        table itself: this runs for every batch, and `self.weight` would go through
        Module.__getattr__, the slow path of Python's attribute lookup."""
        shape = x.data.shape if isinstance(x, Tensor) else np.shape(x)
        if not shape or shape[-1] != self.in_features:
            raise ValueError(f"{self._describe()}: expected input whose last dimension is "
                             f"{self.in_features}, got shape {tuple(shape)}")
        parameters = self._parameters
        weight = parameters["weight"] if "weight" in parameters else self.weight
        dtype = x.data.dtype if isinstance(x, Tensor) else getattr(x, "dtype", None)
        if dtype is not None and dtype != weight.data.dtype:
            raise TypeError(_dtype_message(self._describe(), dtype, weight.data.dtype))
        return weight, parameters["bias"] if "bias" in parameters else self.bias

    def _fuses_with(self, following) -> bool:
        """A ReLU right after this layer runs fused with it (ops.linear_relu: the same numbers,
        one graph node, one array less) unless a hook watches either module."""
        return (type(self) is Linear and type(following) is ReLU
                and not (self._forward_hooks or self._forward_pre_hooks
                         or following._forward_hooks or following._forward_pre_hooks))

    def _fused_forward(self, following, x):
        weight, bias = self._weight_and_bias(x)
        return ops.linear_relu(x, weight, bias)

    def _describe(self):
        return f"Linear(in_features={self.in_features}, out_features={self.out_features})"

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def _dtype_message(layer: str, dtype, expected) -> str:
    """As PyTorch, a layer does not cast its input: say what to convert."""
    fix = f"convert the input, e.g. x.astype('{expected}')"
    if np.dtype(dtype).kind == "f":
        fix += f", or build the layer with dtype='{dtype}'"
    elif np.dtype(dtype).kind not in "biu":
        fix = "the input must hold real numbers; " + fix
    return f"{layer}: input of dtype {dtype}, but the layer's weight is {expected}; {fix}"


@register("activation", aliases=("identity",))
class Identity(Module):
    """y = x"""

    def forward(self, x):
        return x


@register("layer")
class Flatten(Module):
    """Merge dimensions start_dim..end_dim into one (default: all but the batch dimension)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


@register("layer")
class Unflatten(Module):
    """Split dimension `dim` into `unflattened_size` (the inverse of Flatten)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        dim = self.dim % x.ndim if x.ndim else 0
        size = 1
        for n in self.unflattened_size:
            size *= n if n != -1 else 1
        known = -1 not in self.unflattened_size
        if x.ndim == 0 or (known and size != x.shape[dim]):
            raise ValueError(f"Unflatten: dimension {self.dim} of shape {tuple(x.shape)} cannot "
                             f"be split into {self.unflattened_size}")
        return x.reshape(x.shape[:dim] + self.unflattened_size + x.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
