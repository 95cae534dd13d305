"""Conv1d and ConvTranspose2d layers (PyTorch semantics); the math is in functional_conv.py."""

from __future__ import annotations

import math
import numbers

from deepgrad.nn import functional_conv as F
from deepgrad.nn import init
from deepgrad.nn.module import Module, Parameter
from deepgrad.random import get_generator
from deepgrad.registry import register


def _positive(value, name, layer):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")
    return int(value)


class _Conv(Module):
    """Shared state: channel counts, groups, weight and bias, PyTorch's default init."""

    def _setup(self, in_channels, out_channels, weight_shape, groups, bias, generator, dtype):
        layer = type(self).__name__
        self.in_channels = _positive(in_channels, "in_channels", layer)
        self.out_channels = _positive(out_channels, "out_channels", layer)
        self.groups = _positive(groups, "groups", layer)
        if self.in_channels % groups or self.out_channels % groups:
            raise ValueError(f"{layer}: groups={groups} must divide in_channels="
                             f"{in_channels} and out_channels={out_channels}")
        self.weight = Parameter(init.empty(weight_shape, dtype))
        self.bias = Parameter(init.empty((self.out_channels,), dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None) -> None:
        """weight and bias uniform on [-1/sqrt(fan_in), 1/sqrt(fan_in)], as PyTorch."""
        rng = get_generator(generator)
        shape = self.weight.shape
        fan_in = shape[1] * math.prod(shape[2:])
        bound = 1.0 / math.sqrt(fan_in)
        init.uniform_(self.weight, -bound, bound, generator=rng)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, generator=rng)

    def _check(self, x, dims, what):
        if x.ndim != dims or x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__}(in_channels={self.in_channels}, "
                             f"out_channels={self.out_channels}): expected input of shape "
                             f"(N, {self.in_channels}, {what}), got {tuple(x.shape)}")


@register("layer")
class Conv1d(_Conv):
    """1-D convolution: (N, in_channels, L) -> (N, out_channels, L_out),
    weight (out_channels, in_channels / groups, kernel_size)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, generator=None, dtype="float32"):
        super().__init__()
        self.kernel_size = _positive(kernel_size, "kernel_size", "Conv1d")
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self._setup(in_channels, out_channels,
                    (out_channels, in_channels // max(groups, 1), self.kernel_size), groups,
                    bias, generator, dtype)

    def forward(self, x):
        self._check(x, 3, "L")
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")


@register("layer")
class ConvTranspose2d(_Conv):
    """Transposed 2-D convolution (upsampling): (N, in_channels, H, W) ->
    (N, out_channels, (H - 1) stride - 2 padding + dilation (KH - 1) + output_padding + 1, ..),
    weight (in_channels, out_channels / groups, KH, KW)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, generator=None,
                 dtype="float32"):
        super().__init__()
        self.kernel_size = F.pair(kernel_size, "kernel_size", "ConvTranspose2d")
        self.stride, self.padding = stride, padding
        self.output_padding, self.dilation = output_padding, dilation
        self._setup(in_channels, out_channels,
                    (in_channels, out_channels // max(groups, 1)) + self.kernel_size, groups,
                    bias, generator, dtype)

    def forward(self, x):
        self._check(x, 4, "H, W")
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
