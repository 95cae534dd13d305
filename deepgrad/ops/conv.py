"""Convolution and pooling primitives on NCHW arrays (PyTorch semantics, no groups).

Shapes: x (N, C, H, W), weight (O, C, KH, KW), output (N, O, OH, OW) with, per spatial axis,

    OH = floor((H + pad_top + pad_bottom - dilation * (KH - 1) - 1) / stride) + 1.

Convolution is im2col + one matrix product. A strided view of the (padded) input lists, for
every kernel offset (c, i, j), the input pixels it meets at every output position; copying that
view gives the column matrix `cols` (C*KH*KW, M) with M = N*OH*OW, and

    y = W2 @ cols + b,       W2 = weight.reshape(O, C*KH*KW)             (forward)
    dW2 = dY2 @ cols^T,      db = sum of dY2 over M                        (weight, bias)
    dcols = W2^T @ dY2,      dx = col2im(dcols)                            (input)
    y_dot = W2 @ cols(x_dot) + W2_dot @ cols + b_dot                       (forward mode)

where dY2 is the output gradient laid out as (O, M). col2im is the adjoint of im2col: it adds
each kernel offset's slab of dcols back onto the input pixels it was read from, one vectorised
addition per kernel offset (KH*KW of them), never a loop over output pixels. For stride 1 the
input gradient is, when cheaper, a convolution of dY with the turned kernel instead
(_transposed_conv: the same sums, gathered by one im2col copy; docs/conv.md).

The column order of M is chosen by output width. For small feature maps (OW < 16) the batch
axis is innermost, (OH, OW, N), so every copy and every col2im addition moves runs of
OW*N contiguous numbers instead of runs of OW; for wide maps the order is (N, OH, OW), which
makes the NCHW <-> (O, M) rearrangements cheap. Both give identical numbers (docs/conv.md has
the measurements that chose the threshold).

Pooling loops over the KH*KW window offsets too: each offset is one strided slice of the input
of the output's shape. Max pooling keeps one boolean mask per offset marking where that offset
holds the first maximum of its window in row-major order (ties: the first one gets the whole
gradient, as in PyTorch).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from deepgrad.engine import Function
from deepgrad.ops import fast, workspace

# output widths below this use the batch-innermost column order (see the module docstring)
BATCH_LAST_BELOW_WIDTH = 16


def conv_output_size(size, kernel, stride, pad_before, pad_after, dilation):
    """Length of the output along one spatial axis (floor mode, as PyTorch)."""
    return (size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


class _Geometry:
    """Sizes of one 2-D sliding-window operation: kernel, stride, padding, dilation, output."""

    def __init__(self, in_hw, kernel, stride, padding, dilation):
        self.in_h, self.in_w = in_hw
        self.kh, self.kw = kernel
        self.sh, self.sw = stride
        self.pt, self.pb, self.pl, self.pr = padding
        self.dh, self.dw = dilation
        self.out_h = conv_output_size(self.in_h, self.kh, self.sh, self.pt, self.pb, self.dh)
        self.out_w = conv_output_size(self.in_w, self.kw, self.sw, self.pl, self.pr, self.dw)
        self.padded_h = self.in_h + self.pt + self.pb
        self.padded_w = self.in_w + self.pl + self.pr
        if self.out_h < 1 or self.out_w < 1:
            span = (self.dh * (self.kh - 1) + 1, self.dw * (self.kw - 1) + 1)
            raise ValueError(
                f"kernel size {(self.kh, self.kw)} (spanning {span} with dilation "
                f"{(self.dh, self.dw)}) is larger than the padded input size "
                f"{(self.padded_h, self.padded_w)} (input {(self.in_h, self.in_w)} plus padding)")

    @property
    def padded(self):
        return self.pt or self.pb or self.pl or self.pr

    def offsets(self):
        """(offset number, rows, cols) of each window offset in row-major order; the slices pick,
        from the padded input, the element that offset meets in every output window."""
        k = 0
        for i in range(self.kh):
            rows = slice(i * self.dh, i * self.dh + self.sh * (self.out_h - 1) + 1, self.sh)
            for j in range(self.kw):
                cols = slice(j * self.dw, j * self.dw + self.sw * (self.out_w - 1) + 1, self.sw)
                yield k, rows, cols
                k += 1

    def interior(self):
        """Slices of the padded array that hold the original input."""
        return (slice(self.pt, self.pt + self.in_h), slice(self.pl, self.pl + self.in_w))


def _pad_nchw(x, geo, value):
    """x padded spatially with a constant (x itself when there is no padding), its memory laid
    out in x's axis order (a copy that keeps the layout moves contiguous runs)."""
    if not geo.padded:
        return x
    n, c = x.shape[:2]
    out = _empty((n, c, geo.padded_h, geo.padded_w), _layout(x), x.dtype, zero=False)
    out.fill(value)
    out[(slice(None), slice(None)) + geo.interior()] = x
    return out


# --- convolution -------------------------------------------------------------------------------
def batch_last_padded(x, geo):
    """x (N, C, H, W) as a zero-padded (C, H_pad, W_pad, N) array: one copy that moves the batch
    axis last and pads at the same time, into a workspace buffer. When x is already laid out
    batch last (the output of a fused convolution + pooling) and needs no padding, it is that
    view of x itself, no copy."""
    view = x.transpose(1, 2, 3, 0)
    if not geo.padded and view.flags.c_contiguous:
        return view
    n, c = x.shape[:2]
    xp = workspace.scratch("im2col.padded", (c, geo.padded_h, geo.padded_w, n), x.dtype)
    if geo.padded:
        xp.fill(0)
    xp[(slice(None),) + geo.interior()] = view
    return xp


def _im2col(x, geo, batch_last, scratch_name=None):
    """The column matrix (C*KH*KW, M) of x (N, C, H, W); M ordered (OH, OW, N) if batch_last
    else (N, OH, OW). With `scratch_name` it is written into a reused workspace buffer."""
    n, c = x.shape[:2]
    oh, ow = geo.out_h, geo.out_w
    if batch_last:
        xp = batch_last_padded(x, geo)
        s_c, s_h, s_w, s_n = xp.strides
        view = as_strided(xp, (c, geo.kh, geo.kw, oh, ow, n),
                          (s_c, geo.dh * s_h, geo.dw * s_w, geo.sh * s_h, geo.sw * s_w, s_n),
                          writeable=False)
    else:
        xp = _pad_nchw(x, geo, 0)
        s_n, s_c, s_h, s_w = xp.strides
        view = as_strided(xp, (c, geo.kh, geo.kw, n, oh, ow),
                          (s_c, geo.dh * s_h, geo.dw * s_w, s_n, geo.sh * s_h, geo.sw * s_w),
                          writeable=False)
    if scratch_name is None:
        return view.reshape(c * geo.kh * geo.kw, -1)  # reshape of the view = the im2col copy
    cols = workspace.scratch(scratch_name, view.shape, x.dtype)
    np.copyto(cols, view)
    return cols.reshape(c * geo.kh * geo.kw, -1)


def _col2im(dcols, x_shape, geo, batch_last, layout):
    """Adjoint of _im2col: add every kernel offset's slab of dcols back onto the input.
    Returns a new (N, C, H, W) array whose memory is laid out in the axis order `layout` (the
    input's), so that the layers before receive their gradient in the layout they produced."""
    n, c = x_shape[:2]
    oh, ow = geo.out_h, geo.out_w
    if batch_last:
        dc = dcols.reshape(c, geo.kh, geo.kw, oh, ow, n)
        dxp = workspace.scratch("col2im.padded", (c, geo.padded_h, geo.padded_w, n),
                                dcols.dtype)
        dxp.fill(0)
        for k, rows, cols in geo.offsets():
            dxp[:, rows, cols] += dc[:, k // geo.kw, k % geo.kw]
        inner = dxp[(slice(None),) + geo.interior()].transpose(3, 0, 1, 2)
    else:
        dc = dcols.reshape(c, geo.kh, geo.kw, n, oh, ow).transpose(0, 3, 1, 2, 4, 5)
        # (C, N, H, W) order in memory: the slabs of dcols are added without rearranging
        dxp = workspace.scratch("col2im.padded", (c, n, geo.padded_h, geo.padded_w),
                                dcols.dtype)
        dxp.fill(0)
        for k, rows, cols in geo.offsets():
            dxp[:, :, rows, cols] += dc[:, :, k // geo.kw, k % geo.kw]
        inner = dxp[(slice(None), slice(None)) + geo.interior()].transpose(1, 0, 2, 3)
    out = _empty(x_shape, layout, dcols.dtype, zero=False)  # a copy: dxp is a workspace buffer
    np.copyto(out, inner)
    return out


def _from_columns(y2, n, geo, batch_last):
    """(O, M) -> (N, O, OH, OW): a view of y2 with the axes permuted, not a copy. The output
    keeps the column layout in memory (channels outermost); every later op accepts any
    layout, and the pooling after a convolution returns its gradient in this same layout,
    so neither pass spends a copy on rearranging (_to_columns is then free)."""
    o = y2.shape[0]
    if batch_last:
        return y2.reshape(o, geo.out_h, geo.out_w, n).transpose(3, 0, 1, 2)
    return y2.reshape(o, n, geo.out_h, geo.out_w).transpose(1, 0, 2, 3)


def _to_columns(g, batch_last):
    """(N, O, OH, OW) -> (O, M), the inverse of _from_columns: a view when g is laid out as
    _from_columns leaves it, else a copy into a workspace buffer."""
    axes = (1, 2, 3, 0) if batch_last else (1, 0, 2, 3)
    view = g.transpose(axes)
    if not view.flags.c_contiguous:
        out = workspace.scratch("conv.grad_cols", view.shape, g.dtype)
        np.copyto(out, view)
        view = out
    return view.reshape(g.shape[1], -1)


def _full_geometry(geo):
    """With the speed tricks on, for stride 1 and no dilation: the geometry of the "full"
    convolution that maps the output gradient back onto the input (padding k - 1 - p on each
    side, so the output has the input's size); else None (col2im is used)."""
    if not fast.enabled() or (geo.sh, geo.sw, geo.dh, geo.dw) != (1, 1, 1, 1):
        return None
    pads = (geo.kh - 1 - geo.pt, geo.kh - 1 - geo.pb, geo.kw - 1 - geo.pl, geo.kw - 1 - geo.pr)
    if min(pads) < 0:
        return None
    return _Geometry((geo.out_h, geo.out_w), (geo.kh, geo.kw), (1, 1), pads, (1, 1))


def _gather_input_gradient(geo, w_shape):
    """The full geometry (_full_geometry) when dx is cheaper as a full convolution of dY
    (_transposed_conv) than by col2im: stride 1 and its column matrix (O KH KW rows, H W N
    columns) no larger than col2im's (C KH KW rows, OH OW N columns), as for "same"-padded
    layers that keep or shrink the channel count; None for col2im (LeNet's unpadded 5x5
    layers, widening layers)."""
    full = _full_geometry(geo)
    if full is None or w_shape[0] * geo.in_h * geo.in_w > w_shape[1] * geo.out_h * geo.out_w:
        return None
    return full


def _transposed_conv(g2, w_shape, w2, geo, full, batch_last):
    """dx for stride 1: the output gradient convolved with the kernel turned by 180 degrees and
    its channel axes swapped, dx2 = W'2 @ im2col(dY), W'[c, o, i, j] = W[o, c, -i, -j]. The
    same sums as col2im(W2^T dY2), gathered by one im2col copy instead of added back slab by
    slab (KH*KW read-modify-write passes over the input gradient)."""
    n = g2.shape[1] // (geo.out_h * geo.out_w)
    grad_y = _from_columns(g2, n, geo, batch_last)
    flipped = w2.reshape(w_shape)[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    dx2 = np.ascontiguousarray(flipped).reshape(w_shape[1], -1) @ _im2col(
        grad_y, full, batch_last, "conv.grad_cols_full")
    return _from_columns(dx2, n, full, batch_last)


class Conv2d(Function):
    """y[n,o] = b[o] + sum_{c,i,j} W[o,c,i,j] x_pad[n, c, s*oh + d*i, s*ow + d*j]  (im2col+GEMM)

    dW = dY2 cols^T,  db = sum dY,  dx = col2im(W2^T dY2);  y_dot = conv(x_dot, W) + conv(x, W_dot)
    + b_dot (forward mode, see the module docstring for the notation).

    The column matrix is not kept for backward: backward rebuilds it from x (a copy into a
    warm buffer), which costs less than keeping C*KH*KW copies of the input alive between the
    passes (16 MB for LeNet's second layer at batch 128).
    """

    def forward(ctx, x, weight, bias=None, stride=(1, 1), padding=(0, 0, 0, 0),
                dilation=(1, 1)):
        geo = _Geometry(x.shape[2:], weight.shape[2:], stride, padding, dilation)
        ctx.geo, ctx.x_shape, ctx.w_shape = geo, x.shape, weight.shape
        ctx.batch_last = fast.enabled() and geo.out_w < BATCH_LAST_BELOW_WIDTH
        cols = _im2col(x, geo, ctx.batch_last, "conv.cols")
        w2 = weight.reshape(weight.shape[0], -1)
        ctx.save(x, w2)
        y2 = w2 @ cols  # a new array: the output is a view of it
        if bias is not None:
            y2 += bias[:, None]
        y = _from_columns(y2, x.shape[0], geo, ctx.batch_last)
        return y if fast.enabled() else np.ascontiguousarray(y)

    def backward(ctx, grad_out):
        x, w2 = ctx.saved
        needs = ctx.needs_input_grad
        g2 = _to_columns(grad_out, ctx.batch_last)
        grad_x = grad_w = grad_b = None
        if needs[1]:
            cols = _im2col(x, ctx.geo, ctx.batch_last, "conv.cols")
            # (cols dY2^T)^T rather than dY2 cols^T: the same product, but OpenBLAS splits this
            # orientation well across threads; the other one (a long inner dimension M) ran
            # 1.3-35x slower in benchmarks/bench_conv.py runs (docs/conv.md)
            grad_w = (cols @ g2.T).T.reshape(ctx.w_shape)
        full = _gather_input_gradient(ctx.geo, ctx.w_shape) if needs[0] else None
        if full is not None:
            grad_x = _transposed_conv(g2, ctx.w_shape, w2, ctx.geo, full, ctx.batch_last)
        elif needs[0]:
            dcols = np.matmul(w2.T, g2, out=workspace.scratch(
                "conv.dcols", (w2.shape[1], g2.shape[1]), g2.dtype))
            grad_x = _col2im(dcols, ctx.x_shape, ctx.geo, ctx.batch_last, _layout(x))
        if len(needs) == 3:
            grad_b = g2.sum(axis=1) if needs[2] else None
            return grad_x, grad_w, grad_b
        return grad_x, grad_w

    def jvp(ctx, x_dot, weight_dot, bias_dot=None):
        x, w2 = ctx.saved
        y2 = w2 @ _im2col(x_dot, ctx.geo, ctx.batch_last)
        y2 += weight_dot.reshape(w2.shape) @ _im2col(x, ctx.geo, ctx.batch_last)
        if bias_dot is not None:
            y2 += bias_dot[:, None]
        return _from_columns(y2, ctx.x_shape[0], ctx.geo, ctx.batch_last)


# --- pooling -------------------------------------------------------------------------------------
def _window(xp, rows, cols):
    return xp[:, :, rows, cols]


def _tiled(geo):
    """Windows that tile the input: stride == kernel, no padding, no dilation."""
    return ((geo.sh, geo.sw) == (geo.kh, geo.kw) and not geo.padded
            and (geo.dh, geo.dw) == (1, 1))


def _tile_view(a, geo):
    """The windows of a (N, C, H, W) as a (N, C, OH, KH, OW, KW) view (tiling windows only;
    built from a's strides, so it is a view for any memory layout, never a copy)."""
    s_n, s_c, s_h, s_w = a.strides
    shape = (a.shape[0], a.shape[1], geo.out_h, geo.kh, geo.out_w, geo.kw)
    return as_strided(a, shape, (s_n, s_c, geo.kh * s_h, s_h, geo.kw * s_w, s_w))


# the (KH, KW, N, C, OH, OW) order of the window slabs, from the axes of _tile_view
_SLAB_AXES = (3, 5, 0, 1, 2, 4)


def _window_slabs(xp, geo):
    """The KH*KW window offsets of xp as arrays of the output's shape, in row-major order.

    Fast path for tiling windows (the common 2x2/2 pooling): one transposing copy into a
    workspace buffer makes every offset a contiguous slab, so the KH*KW passes that follow run
    on contiguous memory (for a (128, 20, 24, 24) input, 0.7 ms for the copy, then ~6x faster
    passes). Otherwise: strided views, no copy. (Reducing the 6-D view directly with
    .max(axis=(3, 5)) is ~30x slower than either: NumPy's inner loops would be KW elements.)
    """
    if _tiled(geo) and fast.enabled():
        n, c = xp.shape[:2]
        k = geo.kh * geo.kw
        slabs = workspace.scratch("pool.slabs", (k, n, c, geo.out_h, geo.out_w), xp.dtype)
        np.copyto(slabs.reshape((geo.kh, geo.kw) + slabs.shape[1:]),
                  _tile_view(xp, geo).transpose(_SLAB_AXES))
        return slabs
    return [_window(xp, rows, cols) for _, rows, cols in geo.offsets()]


def _layout(x):
    """The axis order of x's memory, outermost first (C order is (0, 1, 2, 3)); always C
    order with the speed tricks off."""
    if not fast.enabled():
        return tuple(range(x.ndim))
    return tuple(sorted(range(x.ndim), key=lambda a: -x.strides[a]))


def _empty(shape, layout, dtype, zero):
    """A new array of `shape` whose memory is laid out in the axis order `layout`. Gradients
    are made in the layout of their input, so that the convolution before a pooling layer
    receives its gradient in the layout it produced and need not rearrange it."""
    stored = tuple(shape[a] for a in layout)
    memory = np.zeros(stored, dtype) if zero else np.empty(stored, dtype)
    return memory.transpose(np.argsort(layout))


def _disjoint(geo):
    """True when no input element lies in two windows (stride >= the dilated kernel span), so
    the backward pass may assign each offset's slab instead of accumulating it."""
    span_h, span_w = geo.dh * (geo.kh - 1) + 1, geo.dw * (geo.kw - 1) + 1
    return geo.sh >= span_h and geo.sw >= span_w


def _scatter(slab, x_shape, layout, geo, dtype):
    """Adjoint of reading the window offsets: put offset k's gradient slab(k, out) back on the
    input elements that offset read, in a new array laid out like the input. For disjoint
    windows slab writes straight into the strided slice (out=, no temporary; faster than
    filling contiguous slabs and moving them with one transposing copy, which NumPy runs with
    KW-element inner loops); for overlapping ones it returns a new array that is added."""
    n, c = x_shape[:2]
    disjoint = _disjoint(geo)
    # only windows that tile the padded input exactly write every element; otherwise the
    # rows and columns no window covers must keep a zero gradient
    tiles_exactly = ((geo.sh, geo.sw) == (geo.kh, geo.kw) and (geo.dh, geo.dw) == (1, 1)
                     and geo.out_h * geo.kh == geo.padded_h and geo.out_w * geo.kw == geo.padded_w)
    dxp = _empty((n, c, geo.padded_h, geo.padded_w), layout, dtype, zero=not tiles_exactly)
    for k, rows, cols in geo.offsets():
        target = dxp[:, :, rows, cols]
        if disjoint:
            slab(k, target)
        else:
            target += slab(k, None)
    return dxp[(slice(None), slice(None)) + geo.interior()] if geo.padded else dxp


def _real_windows(geo):
    """Per window offset, (1, 1, OH, OW) booleans: True where that offset reads an input
    element, False where it reads padding."""
    real = np.zeros((1, 1, geo.padded_h, geo.padded_w), dtype=bool)
    real[(slice(None), slice(None)) + geo.interior()] = True
    return [real[:, :, rows, cols] for _, rows, cols in geo.offsets()]


def max_and_winners(windows, real=None):
    """The elementwise maximum y of the arrays `windows` (the window offsets, in row-major
    order) and the masks winners[k]: offset k holds the first maximum of its window, so
    exactly one offset wins per output element. A NaN is its window's maximum (as in PyTorch,
    NaN propagates); the first NaN wins then. `real[k]`, if given, is False where offset k
    reads padding, which never wins."""
    y = windows[0].copy()
    for window in windows[1:]:
        np.maximum(y, window, out=y)
    nan = np.isnan(y)
    has_nan = bool(nan.any())
    winners = np.empty((len(windows),) + y.shape, dtype=bool)
    # without NaNs or padding some offset equals the maximum, so the last one wins exactly
    # where no earlier one did: one comparison less
    last = len(windows) - 1 if not has_nan and real is None and len(windows) > 1 else None
    taken = None
    for k, window in enumerate(windows):
        if k == last:
            np.logical_not(taken, out=winners[k])
            break
        hit = np.equal(window, y, out=winners[k])
        if has_nan:
            hit |= np.isnan(window) & nan
        if real is not None:
            hit &= real[k]
        if taken is None:
            taken = hit.copy()
        else:
            np.greater(hit, taken, out=hit)  # hit and not taken (booleans)
            taken |= hit
    return y, winners


class MaxPool2d(Function):
    """y[n,c,oh,ow] = max over the window of x_pad (padding is -inf);
    dx: the whole gradient goes to the first maximum of each window (row-major order),
    y_dot = x_dot at that position."""

    symbol = "maxpool"

    def forward(ctx, x, kernel_size, stride, padding=(0, 0, 0, 0), dilation=(1, 1)):
        geo = _Geometry(x.shape[2:], kernel_size, stride, padding, dilation)
        ctx.geo, ctx.x_shape, ctx.layout = geo, x.shape, _layout(x)
        xp = _pad_nchw(x, geo, -np.inf)
        # a padding position never wins, even when the window's real elements are all -inf
        real = _real_windows(geo) if geo.padded else None
        y, winners = max_and_winners(_window_slabs(xp, geo), real)
        ctx.winners = winners
        return y

    def backward(ctx, grad_out):
        def slab(k, out):
            return np.multiply(grad_out, ctx.winners[k], out=out)
        return _scatter(slab, ctx.x_shape, ctx.layout, ctx.geo, grad_out.dtype)

    def jvp(ctx, x_dot):
        xp = _pad_nchw(x_dot, ctx.geo, 0)
        y_dot = np.zeros(ctx.winners.shape[1:], dtype=x_dot.dtype)
        for k, rows, cols in ctx.geo.offsets():
            y_dot += _window(xp, rows, cols) * ctx.winners[k]
        return y_dot


def _avg_pool(x, geo):
    total = None
    for window in _window_slabs(_pad_nchw(x, geo, 0), geo):
        total = window.copy() if total is None else np.add(total, window, out=total)
    total *= np.asarray(1.0 / (geo.kh * geo.kw), dtype=total.dtype)
    return total


class AvgPool2d(Function):
    """y = mean of each window of x_pad, divided by KH*KW even where the window covers padding
    (count_include_pad=True);  dx: each window element gets dy / (KH*KW);  y_dot = avg(x_dot)"""

    symbol = "avgpool"

    def forward(ctx, x, kernel_size, stride, padding=(0, 0, 0, 0)):
        ctx.geo = _Geometry(x.shape[2:], kernel_size, stride, padding, (1, 1))
        ctx.x_shape, ctx.layout = x.shape, _layout(x)
        return _avg_pool(x, ctx.geo)

    def backward(ctx, grad_out):
        scale = np.asarray(1.0 / (ctx.geo.kh * ctx.geo.kw), dtype=grad_out.dtype)

        def slab(k, out):
            return np.multiply(grad_out, scale, out=out)
        return _scatter(slab, ctx.x_shape, ctx.layout, ctx.geo, grad_out.dtype)

    def jvp(ctx, x_dot):
        return _avg_pool(x_dot, ctx.geo)


def adaptive_pool_matrix(in_size, out_size, dtype):
    """P (out, in) with P[i, start:end] = 1 / (end - start), start = floor(i in / out),
    end = ceil((i + 1) in / out): the bins of PyTorch's adaptive average pooling."""
    matrix = np.zeros((out_size, in_size), dtype=dtype)
    for i in range(out_size):
        start = (i * in_size) // out_size
        end = -((-(i + 1) * in_size) // out_size)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


class AdaptiveAvgPool2d(Function):
    """y[n,c] = P_h x[n,c] P_w^T with the bin-averaging matrices P (adaptive_pool_matrix);
    linear, so dx = P_h^T dy P_w and y_dot = P_h x_dot P_w^T"""

    symbol = "adaptive_avgpool"

    def forward(ctx, x, output_size):
        out_h, out_w = output_size
        ctx.p_h = adaptive_pool_matrix(x.shape[2], out_h, x.dtype)
        ctx.p_w = adaptive_pool_matrix(x.shape[3], out_w, x.dtype)
        return ctx._apply(x)

    def _apply(ctx, x):
        if ctx.p_h.shape[0] == 1 and ctx.p_w.shape[0] == 1:  # global average
            return x.mean(axis=(2, 3), keepdims=True)
        return ctx.p_h @ x @ ctx.p_w.T

    def backward(ctx, grad_out):
        return ctx.p_h.T @ grad_out @ ctx.p_w

    def jvp(ctx, x_dot):
        return ctx._apply(x_dot)
