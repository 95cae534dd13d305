"""Convolution followed by non-overlapping max pooling, as one primitive (Conv2dMaxPool2d).

    p = max_pool2d(conv2d(x, W, b, stride, padding, dilation), (PKH, PKW))   (pool stride =
                                                                              pool kernel)

It computes what the two primitives of ops/conv.py compute (the tests compare them) and exists
for speed: the Conv2d + MaxPool2d pairs of a model fused by nn.fuse(model) run through it
(rounding differently from the separate primitives: docs/conv.md).

The trick is the order of the convolution's output columns. With pooling windows of
PKH x PKW, output pixel (oh, ow) = (PKH ph + a, PKW pw + b) is ordered

    M = (a, b, ph, pw, n)       a < PKH, b < PKW: the offset inside the pooling window

so the convolution's product Y2 = W2 @ cols (O, M) is PKH*PKW contiguous slabs of the pooled
output's size, one per window offset. Pooling is then a running maximum over whole slabs and
its backward fills whole slabs (no strided window slices), the batch stays the innermost
axis of every copy (runs of N numbers), and the pooled output (O, PH, PW, N) is already the
batch-last layout the next convolution reads (ops.conv.batch_last_padded: no copy). The bias
is added after the maximum, to the pooled output only: max_k(y_k + b) = max_k(y_k) + b, since
rounding is monotonic. Output rows and columns that the floor-mode pooling drops are never
computed.

With L = PH*PW*N, winners[k] (O, L) the first-maximum mask of offset k (row-major window
order, ties to the first, as MaxPool2d) and dY2[:, k] = dP * winners[k]:

    dW2 = dY2 cols^T,   db = sum of dP,   dx = col2im(W2^T dY2)
    p_dot = sum_k winners[k] * (W2 @ cols(x_dot) + W2_dot @ cols(x))[:, k] + b_dot
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from deepgrad.engine import Function
from deepgrad.ops import workspace
from deepgrad.ops.conv import _Geometry, batch_last_padded, max_and_winners


def pooled_size(geo, pool):
    """(PH, PW): the pooled output size of a convolution of geometry `geo` (floor mode)."""
    return geo.out_h // pool[0], geo.out_w // pool[1]


def _window_strides(xp, geo, pool):
    """Shape and strides of the (C, PKH, PKW, PH, PW, N) view of the padded batch-last input
    xp (C, H_pad, W_pad, N) read by kernel offset (0, 0); offset (i, j) starts (dh i, dw j)
    further. Element (c, a, b, ph, pw, n) is xp[c, sh (PKH ph + a), sw (PKW pw + b), n]."""
    (pkh, pkw), (ph, pw) = pool, pooled_size(geo, pool)
    s_c, s_h, s_w, s_n = xp.strides
    shape = (xp.shape[0], pkh, pkw, ph, pw, xp.shape[3])
    strides = (s_c, geo.sh * s_h, geo.sw * s_w, pkh * geo.sh * s_h, pkw * geo.sw * s_w, s_n)
    return shape, strides


def _pooled_im2col(x, geo, pool, buffer_name=None):
    """The column matrix (C*KH*KW, M) of x (N, C, H, W), M in the order (a, b, ph, pw, n):
    a new array, or one in the reusable workspace buffer `buffer_name`."""
    xp = batch_last_padded(x, geo)
    shape, strides = _window_strides(xp, geo, pool)
    s_h, s_w = xp.strides[1:3]
    full = (shape[0], geo.kh, geo.kw) + shape[1:]
    view = as_strided(xp, full, strides[:1] + (geo.dh * s_h, geo.dw * s_w) + strides[1:],
                      writeable=False)
    rows = shape[0] * geo.kh * geo.kw
    if buffer_name is None:
        return view.reshape(rows, -1)
    cols = workspace.reusable(buffer_name, full, x.dtype)
    np.copyto(cols, view)
    return cols.reshape(rows, -1)


def _pooled_col2im(dcols, x_shape, geo, pool):
    """Adjoint of _pooled_im2col: a new (N, C, H, W) array (laid out batch last)."""
    n, c, h, w = x_shape
    dxp = workspace.scratch("convpool.dx", (c, geo.padded_h, geo.padded_w, n), dcols.dtype)
    dxp.fill(0)
    shape, strides = _window_strides(dxp, geo, pool)
    dc = dcols.reshape((c, geo.kh, geo.kw) + shape[1:])
    for i in range(geo.kh):
        for j in range(geo.kw):
            # within one kernel offset every element of the view is a different input pixel
            # (distinct (a, ph) give distinct rows), so += adds each contribution once
            target = as_strided(dxp[:, geo.dh * i:, geo.dw * j:], shape, strides)
            target += dc[:, i, j]
    inner = dxp[:, geo.pt:geo.pt + h, geo.pl:geo.pl + w]
    return inner.copy().transpose(3, 0, 1, 2)  # a copy: dxp is a workspace buffer


# (O, M) products ("channels first") run best for few input rows K = C*KH*KW, (M, O) ones
# ("channels last": Y2^T = cols^T W2^T) for many: LeNet's conv2 (K = 500) forward takes
# 8.3 ms against 11.1 ms, conv1 (K = 25) 2.7 against 2.2 ms (docs/conv.md)
CHANNELS_LAST_FROM_ROWS = 256


class Conv2dMaxPool2d(Function):
    """p = max_pool2d(conv2d(x, W, b), pool) for pooling windows that tile (stride = kernel);
    dW2 = dY2 cols^T, db = sum dp, dx = col2im(W2^T dY2) with dY2 the pooled gradient routed
    to each window's first maximum (see the module docstring)."""

    symbol = "conv_maxpool"

    def forward(ctx, x, weight, bias=None, stride=(1, 1), padding=(0, 0, 0, 0),
                dilation=(1, 1), pool=(2, 2)):
        geo = _Geometry(x.shape[2:], weight.shape[2:], stride, padding, dilation)
        ph, pw = pooled_size(geo, pool)
        if ph < 1 or pw < 1:
            raise ValueError(f"pooling window {tuple(pool)} is larger than the convolution's "
                             f"output {(geo.out_h, geo.out_w)}")
        ctx.geo, ctx.pool, ctx.x_shape, ctx.w_shape = geo, pool, x.shape, weight.shape
        w2 = weight.reshape(weight.shape[0], -1)
        o, k, n = w2.shape[0], pool[0] * pool[1], x.shape[0]
        ctx.channels_last = last = w2.shape[1] >= CHANNELS_LAST_FROM_ROWS
        # kept for the weight gradient (rebuilding it in backward costs a second copy)
        cols = _pooled_im2col(x, geo, pool, "convpool.cols")
        dtype = np.result_type(cols, w2)  # as w2 @ cols would give
        if last:
            y2 = np.matmul(cols.T, w2.T, out=workspace.scratch(
                "convpool.y", (cols.shape[1], o), dtype))
            slabs = y2.reshape(k, -1, o)
            p, ctx.winners = max_and_winners([slabs[i] for i in range(k)])
        else:
            y2 = np.matmul(w2, cols, out=workspace.scratch(
                "convpool.y", (o, cols.shape[1]), dtype))
            slabs = y2.reshape(o, k, -1)
            p, ctx.winners = max_and_winners([slabs[:, i] for i in range(k)])
        if bias is not None:
            p += bias if last else bias[:, None]
        ctx.save(x, w2, cols)
        return _pooled_nchw(p, (ph, pw, n), last)

    def backward(ctx, grad_out):
        x, w2, cols = ctx.saved
        needs = ctx.needs_input_grad
        last = ctx.channels_last
        g, dy2 = _pooled_grad(grad_out, ctx.winners, last)
        grad_x = grad_w = grad_b = None
        if needs[1]:
            # (cols dY2^T)^T: the orientation OpenBLAS splits well (see ops.conv.Conv2d)
            grad_w = (cols @ (dy2 if last else dy2.T)).T.reshape(ctx.w_shape)
        if needs[0]:
            dcols = np.matmul(w2.T, dy2.T if last else dy2, out=workspace.scratch(
                "convpool.dcols", cols.shape, dy2.dtype))
            grad_x = _pooled_col2im(dcols, ctx.x_shape, ctx.geo, ctx.pool)
        if len(needs) == 3:
            # each pooled value came from exactly one winner, so sum dY2 = sum dP
            grad_b = g.sum(axis=0 if last else 1) if needs[2] else None
            return grad_x, grad_w, grad_b
        return grad_x, grad_w

    def jvp(ctx, x_dot, weight_dot, bias_dot=None):
        x, w2, cols = ctx.saved
        y2_dot = w2 @ _pooled_im2col(x_dot, ctx.geo, ctx.pool)
        y2_dot += weight_dot.reshape(w2.shape) @ cols
        o, n, k = w2.shape[0], ctx.x_shape[0], len(ctx.winners)
        slabs = y2_dot.reshape(o, k, -1)
        winners = ctx.winners.transpose(0, 2, 1) if ctx.channels_last else ctx.winners
        p_dot = slabs[:, 0] * winners[0]
        for i in range(1, k):
            p_dot += slabs[:, i] * winners[i]
        if bias_dot is not None:
            p_dot += bias_dot[:, None]
        return _pooled_nchw(p_dot, pooled_size(ctx.geo, ctx.pool) + (n,), False)


def _pooled_nchw(p, pooled, channels_last):
    """The pooled (O, L) (or (L, O) when channels last) values as an (N, O, PH, PW) view."""
    if channels_last:
        return p.reshape(pooled + (-1,)).transpose(2, 3, 0, 1)
    return p.reshape((-1,) + pooled).transpose(3, 0, 1, 2)


def _pooled_grad(grad_out, winners, channels_last):
    """(g, dY2): the pooled gradient as (O, L) ((L, O) channels last), and dY2, that gradient
    routed to each window's winner, as (O, M) ((M, O)) in a workspace buffer."""
    if channels_last:
        g = grad_out.transpose(2, 3, 0, 1).reshape(-1, grad_out.shape[1])
    else:
        g = grad_out.transpose(1, 2, 3, 0).reshape(grad_out.shape[1], -1)
    if not g.flags.c_contiguous:
        # e.g. the gradient of a Linear layer after Flatten reaches a channels-last product
        # batch innermost: one rearranging copy, then contiguous passes (2.2 -> 0.6 ms for
        # LeNet's conv2; multiplying in the mixed layouts ran with strided inner loops)
        g = np.ascontiguousarray(g)
    k = len(winners)
    shape = (k,) + g.shape if channels_last else (g.shape[0], k, g.shape[1])
    dy = workspace.scratch("convpool.dy", shape, g.dtype)
    for i in range(k):
        np.multiply(g, winners[i], out=dy[i] if channels_last else dy[:, i])
    return g, dy.reshape(-1, g.shape[1]) if channels_last else dy.reshape(g.shape[0], -1)
