"""Where max pooling found each maximum: the indices PyTorch's `return_indices=True` gives."""

from __future__ import annotations

import numpy as np


def max_pool2d_indices(x: np.ndarray, kernel_size, stride, padding, dilation) -> np.ndarray:
    """int64 (N, C, OH, OW): the flat index h * W + w, in the unpadded input, of the first
    maximum (row-major) of each window. padding is (top, bottom, left, right), counted -inf."""
    n, c, h, w = x.shape
    top, bottom, left, right = padding
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=-np.inf)
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    rows = (np.arange(oh) * sh)[:, None] + np.arange(kh) * dh  # (OH, KH) padded rows
    cols = (np.arange(ow) * sw)[:, None] + np.arange(kw) * dw  # (OW, KW)
    windows = xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (N, C, OH, OW, KH, KW)
    best = windows.reshape(n, c, oh, ow, kh * kw).argmax(axis=-1)
    r = np.arange(oh)[:, None] * sh + (best // kw) * dh  # padded row of each maximum
    s = np.arange(ow) * sw + (best % kw) * dw
    return ((r - top) * w + (s - left)).astype(np.int64)
