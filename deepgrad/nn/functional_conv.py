"""Convolution and pooling as functions of Tensors (NCHW layout, PyTorch semantics).

    y = conv2d(x, weight, bias, stride=1, padding=0, dilation=1)
    y = conv2d_max_pool2d(x, weight, bias, ..., pool_size=2)     # the two, fused
    y = max_pool2d(x, kernel_size, stride=None, padding=0)      # stride defaults to kernel_size
    y = avg_pool2d(x, kernel_size, stride=None, padding=0)      # count_include_pad=True
    y = adaptive_avg_pool2d(x, output_size)                     # PyTorch's bins
    y = global_avg_pool2d(x)                                    # mean over H, W -> (N, C)

Every size argument is an int or a pair (height, width). This module checks the arguments and
the shapes and explains what is wrong; the math is in deepgrad/ops/conv.py.
"""

from __future__ import annotations

import numbers

import numpy as np

from deepgrad import ops
from deepgrad.ops import conv as _conv
from deepgrad.ops import conv_pool as _conv_pool
from deepgrad.ops import mean
from deepgrad.nn.functional_shape import pad as pad_or_crop
from deepgrad.ops.pool_index import max_pool2d_indices
from deepgrad.tensor import Tensor, as_tensor

__all__ = ["conv1d", "conv2d", "conv_transpose2d", "conv2d_max_pool2d", "max_pool2d",
           "avg_pool2d", "adaptive_avg_pool2d", "global_avg_pool2d", "conv_output_shape", "pair"]


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def pair(value, name, op, minimum=1):
    """An int or a pair of ints (each >= minimum) as a tuple (height, width)."""
    values = (value, value) if _is_int(value) else value
    if not (isinstance(values, (tuple, list)) and len(values) == 2
            and all(_is_int(v) and v >= minimum for v in values)):
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be a {kind} integer or a pair of {kind} integers "
                         f"(height, width), got {value!r}")
    return int(values[0]), int(values[1])


def conv_padding(padding, kernel_size, dilation, stride, op):
    """Padding as (top, bottom, left, right) from an int, a pair, "valid" or "same"."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
            pads = []
            for k, d in zip(kernel_size, dilation):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]  # the odd extra goes after, as PyTorch
            return tuple(pads)
        raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', got "
                         f"{padding!r}")
    ph, pw = pair(padding, "padding", op, minimum=0)
    return (ph, ph, pw, pw)


def conv_output_shape(in_hw, kernel_size, stride, pads, dilation, op):
    """(OH, OW) of a sliding-window operation, or a ValueError naming both sizes."""
    sizes = []
    for axis in range(2):
        size = in_hw[axis] + pads[2 * axis] + pads[2 * axis + 1]
        span = dilation[axis] * (kernel_size[axis] - 1) + 1
        sizes.append((size, span))
    if any(span > size for size, span in sizes):
        spans = tuple(span for _, span in sizes)
        note = f" (spanning {spans} with dilation {tuple(dilation)})" \
            if tuple(dilation) != (1, 1) else ""
        raise ValueError(
            f"{op}: kernel size {tuple(kernel_size)}{note} is larger than the padded input "
            f"size {tuple(size for size, _ in sizes)} (input {tuple(in_hw)} plus padding "
            f"{_describe_pads(pads)}); use a smaller kernel, more padding or a larger input")
    return tuple((size - span) // s + 1 for (size, span), s in zip(sizes, stride))


def _describe_pads(pads):
    top, bottom, left, right = pads
    if top == bottom and left == right:
        return f"{(top, left)} on each side"
    return f"(top, bottom, left, right) = {pads}"


def _check_4d(x, op, what="(N, C, H, W)"):
    if x.ndim != 4:
        raise ValueError(f"{op}: expected input of shape {what}, got {tuple(x.shape)}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation (what deep learning calls convolution), as torch.nn.functional.conv2d.

    y[n, o, p, q] = bias[o] + sum_{c, i, j} weight[o, c, i, j]
                                * x_pad[n, c, stride_h p + dilation_h i, stride_w q + dilation_w j]

    Args:
        x: input (N, C_in, H, W).
        weight: filters (C_out, C_in / groups, KH, KW).
        bias: (C_out,) or None.
        stride, dilation: positive int or pair.
        padding: non-negative int or pair (zeros on both sides), or "valid" (none) or "same"
            (output size = input size; stride 1 only).
        groups: the channels split into `groups` independent convolutions (groups = C_in is
            a depthwise convolution), run one after the other and joined.

    Returns:
        (N, C_out, OH, OW), OH = floor((H + 2 pad_h - dilation_h (KH - 1) - 1) / stride_h) + 1.
    """
    if groups != 1:
        return _grouped(conv2d, x, weight, bias, groups, "conv2d", stride=stride,
                        padding=padding, dilation=dilation)
    inputs, options = _conv_arguments(x, weight, bias, stride, padding, dilation, "conv2d")
    return _conv.Conv2d.apply(*inputs, **options)


def _grouped(conv, x, weight, bias, groups, op, **options):
    """conv applied to each of `groups` slices of the channels, outputs joined on dim 1."""
    x, weight = as_tensor(x), as_tensor(weight)
    transposed = conv is conv_transpose2d  # its weight is (C_in, C_out / groups, ...)
    c_in = x.shape[1] if x.ndim > 1 else 0
    c_out = weight.shape[1] * groups if transposed else weight.shape[0]
    if not (isinstance(groups, int) and groups > 0 and c_in % groups == 0
            and c_out % groups == 0):
        raise ValueError(f"{op}: groups={groups!r} must be a positive int that divides both "
                         f"the input channels ({c_in}) and the output channels ({c_out})")
    step_in, step_out = c_in // groups, c_out // groups
    w_step = step_in if transposed else step_out
    outputs = []
    for g in range(groups):
        x_g = ops.getitem(x, (slice(None), slice(g * step_in, (g + 1) * step_in)))
        w_g = ops.getitem(weight, slice(g * w_step, (g + 1) * w_step))
        b_g = None if bias is None else ops.getitem(as_tensor(bias),
                                                    slice(g * step_out, (g + 1) * step_out))
        outputs.append(conv(x_g, w_g, b_g, **options))
    return ops.cat(outputs, 1)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of (N, C_in, L) with weight (C_out, C_in / groups, K), as PyTorch's:
    conv2d on a height-1 image."""
    x, weight = as_tensor(x), as_tensor(weight)
    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d: expected input (N, C_in, L) and weight (C_out, C_in, K), "
                         f"got shapes {tuple(x.shape)} and {tuple(weight.shape)}")
    if not isinstance(padding, str):
        padding = (0, padding)
    y = conv2d(ops.unsqueeze(x, 2), ops.unsqueeze(weight, 2), bias, stride=(1, stride),
               padding=padding, dilation=(1, dilation), groups=groups)
    return ops.squeeze(y, 2)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transposed convolution (the gradient of conv2d with respect to its input), as
    torch.nn.functional.conv_transpose2d. weight: (C_in, C_out / groups, KH, KW).

    Output size: (H - 1) stride - 2 padding + dilation (KH - 1) + output_padding + 1.
    Computed as a stride-1 convolution of the input spread out by `stride` (zeros between
    the pixels) with the flipped kernel, so its gradients come from conv2d's.
    """
    op = "conv_transpose2d"
    x, weight = as_tensor(x), as_tensor(weight)
    _check_4d(x, op, "(N, C_in, H, W)")
    if weight.ndim != 4 or weight.shape[0] != x.shape[1]:
        raise ValueError(f"{op}: weight must have shape (C_in={x.shape[1]}, C_out / groups, "
                         f"KH, KW), got {tuple(weight.shape)}")
    if groups != 1:
        return _grouped(conv_transpose2d, x, weight, bias, groups, op, stride=stride,
                        padding=padding, output_padding=output_padding, dilation=dilation)
    (sh, sw), (dh, dw) = pair(stride, "stride", op), pair(dilation, "dilation", op)
    (ph, pw), (oph, opw) = (pair(padding, "padding", op, minimum=0),
                            pair(output_padding, "output_padding", op, minimum=0))
    if oph >= max(sh, dh) or opw >= max(sw, dw):
        raise ValueError(f"{op}: output_padding {(oph, opw)} must be smaller than stride "
                         f"{(sh, sw)} or dilation {(dh, dw)}")
    n, c, h, w = x.shape
    kh, kw = weight.shape[2:]
    spread = ops.reshape(x, (n, c, h, 1, w, 1))
    spread = ops.pad(spread, ((0, 0), (0, 0), (0, 0), (0, sh - 1), (0, 0), (0, sw - 1)))
    spread = ops.reshape(spread, (n, c, h * sh, w * sw))
    spread = ops.getitem(spread, (Ellipsis, slice(0, (h - 1) * sh + 1),
                                  slice(0, (w - 1) * sw + 1)))
    top, left = dh * (kh - 1) - ph, dw * (kw - 1) - pw
    spread = pad_or_crop(spread, (left, left + opw, top, top + oph))
    kernel = ops.flip(ops.transpose(weight, 0, 1), (2, 3))
    return conv2d(spread, kernel, bias, dilation=(dh, dw))




def conv2d_max_pool2d(x, weight, bias=None, stride=1, padding=0, dilation=1, pool_size=2):
    """max_pool2d(conv2d(x, weight, bias, stride, padding, dilation), pool_size) as one fused
    primitive: the same numbers, faster (docs/conv.md). The pooling windows tile the
    convolution's output (pool stride = pool_size, no pooling padding); floor mode drops the
    rows and columns left over, as max_pool2d does.

    Returns:
        (N, C_out, OH // pool_h, OW // pool_w) with (OH, OW) the conv2d output size.
    """
    op = "conv2d_max_pool2d"
    inputs, options = _conv_arguments(x, weight, bias, stride, padding, dilation, op)
    pool = pair(pool_size, "pool_size", op)
    out_hw = conv_output_shape(inputs[0].shape[2:], tuple(inputs[1].shape[2:]),
                               options["stride"], options["padding"], options["dilation"], op)
    if out_hw[0] < pool[0] or out_hw[1] < pool[1]:
        raise ValueError(f"{op}: pool_size {pool} is larger than the convolution's output "
                         f"size {out_hw}")
    return _conv_pool.Conv2dMaxPool2d.apply(*inputs, pool=pool, **options)


def _conv_arguments(x, weight, bias, stride, padding, dilation, op):
    """Checked (inputs, options) of a convolution primitive, or an error naming the argument."""
    x, weight = as_tensor(x), as_tensor(weight)
    _check_4d(x, op, "(N, C_in, H, W)")
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must have shape (C_out, C_in, KH, KW), got "
                         f"{tuple(weight.shape)}")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"{op}: input has {x.shape[1]} channels (shape {tuple(x.shape)}) but "
                         f"the weight of shape {tuple(weight.shape)} expects {weight.shape[1]}")
    if bias is not None:
        bias = as_tensor(bias)
        if tuple(bias.shape) != (weight.shape[0],):
            raise ValueError(f"{op}: bias must have shape ({weight.shape[0]},) (one value per "
                             f"output channel), got {tuple(bias.shape)}")
    stride = pair(stride, "stride", op)
    dilation = pair(dilation, "dilation", op)
    kernel_size = tuple(weight.shape[2:])
    pads = conv_padding(padding, kernel_size, dilation, stride, op)
    conv_output_shape(x.shape[2:], kernel_size, stride, pads, dilation, op)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return inputs, dict(stride=stride, padding=pads, dilation=dilation)


def _pool_arguments(x, kernel_size, stride, padding, op, dilation=1, ceil_mode=False):
    _check_4d(x, op)
    kernel_size = pair(kernel_size, "kernel_size", op)
    stride = kernel_size if stride is None else pair(stride, "stride", op)
    dilation = pair(dilation, "dilation", op)
    ph, pw = pair(padding, "padding", op, minimum=0)
    if 2 * ph > kernel_size[0] or 2 * pw > kernel_size[1]:
        # wider padding would create windows that see only padding
        raise ValueError(f"{op}: padding {(ph, pw)} must be at most half of kernel_size "
                         f"{kernel_size}")
    pads = (ph, ph, pw, pw)
    out_hw = conv_output_shape(x.shape[2:], kernel_size, stride, pads, dilation, op)
    if ceil_mode:  # one more window where the last would be partial, as PyTorch
        extra = []
        for axis, (p, k, s, d) in enumerate(zip((ph, pw), kernel_size, stride, dilation)):
            size = x.shape[2 + axis]
            out = -(-(size + 2 * p - d * (k - 1) - 1) // s) + 1
            if (out - 1) * s >= size + p:  # the last window must start inside the input
                out -= 1
            extra.append(max((out - 1) * s + d * (k - 1) + 1 - (size + 2 * p), 0))
        pads = (ph, ph + extra[0], pw, pw + extra[1])
    return kernel_size, stride, pads, dilation


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Maximum over each window (padding counts as -inf), as torch.nn.functional.max_pool2d.

    Ties: the first maximum of a window in row-major order receives the whole gradient (as in
    PyTorch). Shape: (N, C, H, W) -> (N, C, OH, OW) with the conv2d output-size formula
    (rounded up with ceil_mode=True). return_indices=True also returns, for each output, the
    flat index h * W + w of its maximum in the input (int64, as PyTorch).
    """
    x = as_tensor(x)
    kernel_size, stride, pads, dilation = _pool_arguments(x, kernel_size, stride, padding,
                                                          "max_pool2d", dilation, ceil_mode)
    y = _conv.MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=pads,
                              dilation=dilation)
    if not return_indices:
        return y
    return y, Tensor._wrap(max_pool2d_indices(x.data, kernel_size, stride, pads, dilation))


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over each window, as torch.nn.functional.avg_pool2d. The divisor is KH*KW with
    count_include_pad=True (zero padding counted; windows that ceil_mode adds past the padding
    count only their part inside it), else the number of input elements in the window;
    divisor_override replaces it."""
    x = as_tensor(x)
    op = "avg_pool2d"
    kernel_size, stride, pads, _ = _pool_arguments(x, kernel_size, stride, padding, op,
                                                   ceil_mode=ceil_mode)
    plain = pads[0] == pads[1] and pads[2] == pads[3]
    if plain and count_include_pad and divisor_override is None:
        return _conv.AvgPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=pads)
    top, bottom, left, right = pads
    h, w = x.shape[2:]
    padded = ops.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    means = _conv.AvgPool2d.apply(padded, kernel_size=kernel_size, stride=stride)
    area = kernel_size[0] * kernel_size[1]
    if divisor_override is not None:
        return means * (area / divisor_override)
    counted = np.zeros((1, 1, h + top + bottom, w + left + right), dtype=x.dtype)
    if count_include_pad:  # the input and the symmetric padding, not ceil_mode's extra
        counted[:, :, :h + 2 * top, :w + 2 * left] = 1
    else:
        counted[:, :, top:top + h, left:left + w] = 1
    share = _conv.AvgPool2d.apply(Tensor._wrap(counted), kernel_size=kernel_size,
                                  stride=stride)
    return means / share


def adaptive_avg_pool2d(x, output_size):
    """Average over PyTorch's adaptive bins: output row i averages input rows
    floor(i H / OH) .. ceil((i + 1) H / OH) - 1 (the same for columns). output_size is an int,
    a pair, or a pair with None meaning "keep the input size"."""
    x = as_tensor(x)
    op = "adaptive_avg_pool2d"
    _check_4d(x, op)
    sizes = (output_size, output_size) if not isinstance(output_size, (tuple, list)) \
        else tuple(output_size)
    if len(sizes) == 2:
        sizes = tuple(x.shape[2 + a] if s is None else s for a, s in enumerate(sizes))
    out_h, out_w = pair(sizes, "output_size", op)
    return _conv.AdaptiveAvgPool2d.apply(x, output_size=(out_h, out_w))


def global_avg_pool2d(x):
    """Mean over the spatial axes: (N, C, H, W) -> (N, C)."""
    x = as_tensor(x)
    _check_4d(x, "global_avg_pool2d")
    return mean(x, axis=(2, 3))

