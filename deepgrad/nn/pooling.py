"""Pooling layers (NCHW): MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, GlobalAvgPool2d."""

from __future__ import annotations

from deepgrad.nn import functional_conv as F
from deepgrad.nn.module import Module
from deepgrad.registry import register


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        cls = type(self).__name__
        self.kernel_size = F.pair(kernel_size, "kernel_size", cls)
        self.stride = self.kernel_size if stride is None else F.pair(stride, "stride", cls)
        self.padding = F.pair(padding, "padding", cls, minimum=0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{cls}: padding {self.padding} must be at most half of "
                             f"kernel_size {self.kernel_size}")

    def _run(self, function, x):
        try:
            return function(x, self.kernel_size, self.stride, self.padding)
        except ValueError as error:
            message = str(error)
            prefix = function.__name__ + ": "
            if message.startswith(prefix):
                message = message[len(prefix):]
            raise ValueError(f"{self._describe()}: {message}") from None

    def _describe(self):
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride})"

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


@register("layer")
class MaxPool2d(_Pool2d):
    """y = maximum over each kernel_size window, moved by stride (default: kernel_size).

    Padding counts as -inf. Ties: the first maximum of a window in row-major order receives
    the whole gradient (as in PyTorch). Shape: (N, C, H, W) -> (N, C, OH, OW),
    OH = floor((H + 2 padding - KH) / stride) + 1.
    """

    def forward(self, x):
        return self._run(F.max_pool2d, x)


@register("layer")
class AvgPool2d(_Pool2d):
    """y = mean over each kernel_size window, moved by stride (default: kernel_size).

    Zero padding is included in the count (count_include_pad=True, PyTorch's default): the
    divisor is always KH*KW. Shape as MaxPool2d.
    """

    def forward(self, x):
        return self._run(F.avg_pool2d, x)


@register("layer")
class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (PyTorch's bins: output row i averages input rows
    floor(i H / OH) .. ceil((i + 1) H / OH) - 1). AdaptiveAvgPool2d(1) is global average
    pooling that keeps the spatial axes: (N, C, H, W) -> (N, C, 1, 1)."""

    def __init__(self, output_size):
        super().__init__()
        sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
        if len(sizes) != 2 or not all(s is None or (isinstance(s, int) and s > 0)
                                      for s in sizes):
            raise ValueError("AdaptiveAvgPool2d: output_size must be a positive integer or a "
                             f"pair of positive integers (or None), got {output_size!r}")
        self.output_size = tuple(sizes)

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


@register("layer")
class GlobalAvgPool2d(Module):
    """Mean over the spatial axes, dropping them: (N, C, H, W) -> (N, C) (Keras's
    GlobalAveragePooling2D; use AdaptiveAvgPool2d(1) to keep (N, C, 1, 1))."""

    def forward(self, x):
        return F.global_avg_pool2d(x)
