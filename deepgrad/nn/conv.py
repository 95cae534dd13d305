"""Conv2d: a 2-D convolution layer (NCHW, PyTorch semantics; the math is in ops/conv.py)."""

from __future__ import annotations

import math
import numbers

from deepgrad.nn import functional_conv as F
from deepgrad.nn import init
from deepgrad.nn.module import Module, Parameter
from deepgrad.ops import fast
from deepgrad.random import get_generator
from deepgrad.registry import register


@register("layer")
class Conv2d(Module):
    """y = conv2d(x, weight, bias, stride, padding, dilation) with learnable filters.

    weight: (out_channels, in_channels, KH, KW); bias: (out_channels,) or None.

    Default initialization (as PyTorch, kaiming_uniform_ with a = sqrt(5)): weight and bias
    uniform on [-1/sqrt(fan_in), 1/sqrt(fan_in)], fan_in = in_channels * KH * KW.

    Args:
        in_channels, out_channels: positive integers.
        kernel_size, stride, dilation: positive int or pair (height, width).
        padding: non-negative int or pair, or "valid" / "same" (stride 1).
        bias: whether to learn an additive bias per output channel.
        generator: numpy Generator or int seed for the initialization.

    Shape: (N, in_channels, H, W) -> (N, out_channels, OH, OW),
        OH = floor((H + 2 padding - dilation (KH - 1) - 1) / stride) + 1 (the same for W).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, bias: bool = True, generator=None, dtype="float32"):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Conv2d: {name} must be a positive integer, got {value!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = F.pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = F.pair(stride, "stride", "Conv2d")
        self.dilation = F.pair(dilation, "dilation", "Conv2d")
        if isinstance(padding, str):
            F.conv_padding(padding, self.kernel_size, self.dilation, self.stride, "Conv2d")
            self.padding = padding
        else:
            self.padding = F.pair(padding, "padding", "Conv2d", minimum=0)
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = Parameter(init.empty(shape, dtype))
        self.bias = Parameter(init.empty((self.out_channels,), dtype)) if bias else None
        self.reset_parameters(generator)

    @property
    def fan_in(self) -> int:
        return self.in_channels * self.kernel_size[0] * self.kernel_size[1]

    def reset_parameters(self, generator=None) -> None:
        rng = get_generator(generator)
        bound = 1.0 / math.sqrt(self.fan_in)
        init.uniform_(self.weight, -bound, bound, generator=rng)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, generator=rng)

    def forward(self, x):
        return self._run(F.conv2d, x)

    def _fuses_with(self, following) -> bool:
        """The MaxPool2d this layer was fused with by nn.fuse(model) runs with it as one
        primitive (F.conv2d_max_pool2d: faster, rounds differently), unless the speed tricks
        are off (DEEPGRAD_FAST=0)."""
        return self.__dict__.get("_fused_partner") is following and fast.enabled()

    def _fused_forward(self, following, x):
        pool = following.kernel_size
        if x.ndim == 4 and x.shape[1] == self.in_channels:
            pads = F.conv_padding(self.padding, self.kernel_size, self.dilation, self.stride,
                                  "Conv2d")
            out_h, out_w = F.conv_output_shape(x.shape[2:], self.kernel_size, self.stride,
                                               pads, self.dilation, self._describe())
            if out_h < pool[0] or out_w < pool[1]:
                return following(self(x))  # the MaxPool2d explains its error itself
        return self._run(F.conv2d_max_pool2d, x, pool_size=pool)

    def _run(self, function, x, **options):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{self._describe()}: expected input of shape "
                             f"(N, {self.in_channels}, H, W), got {tuple(x.shape)}")
        try:
            return function(x, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, **options)
        except ValueError as error:
            # name the layer rather than the function the user never called
            message = str(error)
            prefix = function.__name__ + ": "
            if message.startswith(prefix):
                message = message[len(prefix):]
            raise ValueError(f"{self._describe()}: {message}") from None

    def _describe(self):
        return (f"Conv2d(in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"kernel_size={self.kernel_size})")

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.bias is None:
            text += ", bias=False"
        return text
