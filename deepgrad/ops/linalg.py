"""Matrix products: batched matmul (NumPy semantics) and the fused affine map of Linear."""

from __future__ import annotations

import numpy as np

from deepgrad.engine import Function
from deepgrad.ops import fast, workspace


def _swap(a):
    return np.swapaxes(a, -1, -2)


def check_matmul_shapes(a_shape, b_shape, op="matmul"):
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ValueError(f"{op}: both operands need at least one dimension, got shapes "
                         f"{a_shape} and {b_shape}")
    k_a = a_shape[-1]
    k_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if k_a != k_b:
        raise ValueError(f"{op}: cannot multiply shapes {a_shape} and {b_shape}: inner "
                         f"dimensions {k_a} and {k_b} differ")


class MatMul(Function):
    """Y = A @ B;  dA = dY @ B^T,  dB = A^T @ dY  (batch axes broadcast, 1-D as in NumPy)"""

    symbol = "@"

    def forward(ctx, a, b):
        check_matmul_shapes(a.shape, b.shape)
        ctx.save(a, b)
        return a @ b

    def backward(ctx, grad_out):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:  # inner product
            return (grad_out * b if need_a else None), (grad_out * a if need_b else None)
        # Treat 1-D operands as a row (a) or a column (b) and restore the removed axis of dY.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad_out
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        grad_a = grad_b = None
        if need_a:
            grad_a = g @ _swap(b2)
            if a.ndim == 1:
                grad_a = grad_a[..., 0, :]
        if need_b:
            grad_b = _swap(a2) @ g
            if b.ndim == 1:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b

    def jvp(ctx, a_dot, b_dot):
        a, b = ctx.saved
        return a_dot @ b + a @ b_dot


# up to this many rows the bias gradient is a BLAS matrix-vector product (3-4x faster than
# NumPy's column sums of a feature-major array); beyond, NumPy's pairwise summation keeps the
# float32 rounding error from growing with the number of rows
_GEMV_MAX_ROWS = 4096


def _column_sums(g2):
    """sum of g2 over axis 0."""
    rows, dtype = g2.shape[0], g2.dtype
    if rows > _GEMV_MAX_ROWS or not fast.enabled():
        return g2.sum(axis=0)
    return workspace.constant(("ones", rows, dtype), lambda: np.ones(rows, dtype=dtype)) @ g2


def _affine(x, weight, bias):
    """x W^T + b as a new array (the forward value of Linear)."""
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: expected input whose last dimension is {weight.shape[1]}, "
                         f"got shape {x.shape}")
    y = (weight @ x.T).T if x.ndim == 2 else x @ weight.T
    if bias is not None:
        y += bias  # y is a fresh array, so adding in place is safe and saves a copy
    return y


def _affine_backward(x, weight, grad_out, needs):
    """(dx, dW[, db]) of y = x W^T + b for the output gradient grad_out."""
    g2 = grad_out.reshape(-1, grad_out.shape[-1])
    grad_x = grad_w = None
    if needs[0]:
        grad_x = (weight.T @ grad_out.T).T if grad_out.ndim == 2 else grad_out @ weight
    if needs[1]:
        grad_w = g2.T @ x.reshape(-1, x.shape[-1])
    if len(needs) == 3:
        return grad_x, grad_w, (_column_sums(g2) if needs[2] else None)
    return grad_x, grad_w


def _affine_jvp(x, weight, x_dot, weight_dot, bias_dot):
    y_dot = x_dot @ weight.T + x @ weight_dot.T
    return y_dot if bias_dot is None else y_dot + bias_dot


class Linear(Function):
    """y = x W^T + b  with W of shape (out, in);  dx = dy W,  dW = dy^T x,  db = sum dy

    For a batch of vectors (2-D x) the products are taken transposed, y = (W x^T)^T and
    dx = (W^T dy^T)^T: the same numbers, but OpenBLAS runs these orientations 4-10% faster
    for MLP shapes (benchmarks/bench_mlp_step.py), and the activations and their gradients
    then share one memory order (feature-major), so the elementwise ops between layers never
    mix layouts.
    """

    symbol = "linear"

    def forward(ctx, x, weight, bias=None):
        ctx.save(x, weight)
        return _affine(x, weight, bias)

    def backward(ctx, grad_out):
        x, weight = ctx.saved
        return _affine_backward(x, weight, grad_out, ctx.needs_input_grad)

    def jvp(ctx, x_dot, weight_dot, bias_dot=None):
        x, weight = ctx.saved
        return _affine_jvp(x, weight, x_dot, weight_dot, bias_dot)


class LinearReLU(Function):
    """y = max(x W^T + b, 0): Linear then ReLU as one primitive (what nn.Sequential runs for a
    Linear followed by a ReLU). With m = [y > 0] and dz = dy m:  dx = dz W,  dW = dz^T x,
    db = sum dz;  y_dot = (x_dot W^T + x W_dot^T + b_dot) m.

    Bit for bit the numbers of the two primitives, with one graph node instead of two and the
    maximum taken in place on the product (no second array of the layer's size).
    """

    symbol = "linear_relu"

    def forward(ctx, x, weight, bias=None):
        y = _affine(x, weight, bias)
        np.maximum(y, 0, out=y)
        ctx.save(x, weight, y)
        return y

    def backward(ctx, grad_out):
        x, weight, y = ctx.saved
        return _affine_backward(x, weight, grad_out * (y > 0), ctx.needs_input_grad)

    def jvp(ctx, x_dot, weight_dot, bias_dot=None):
        x, weight, y = ctx.saved
        return _affine_jvp(x, weight, x_dot, weight_dot, bias_dot) * (y > 0)


class Einsum(Function):
    """y = einsum(inputs -> output, x_1, ..., x_n);  dL/dx_k = einsum(output, the others ->
    inputs_k) of dL/dy, repeated over the letters only x_k has (summed out in forward)"""

    symbol = "einsum"

    def forward(ctx, *xs, inputs, output):
        ctx.specs, ctx.output = inputs, output
        ctx.save(*xs)
        return np.einsum(",".join(inputs) + "->" + output, *xs)

    def _grad(ctx, k, grad_out):
        xs = ctx.saved
        others = [j for j in range(len(xs)) if j != k]
        target = ctx.specs[k]
        known = set(ctx.output).union(*(ctx.specs[j] for j in others))
        kept = "".join(c for c in target if c in known)
        spec = ",".join([ctx.output] + [ctx.specs[j] for j in others]) + "->" + kept
        part = np.einsum(spec, grad_out, *(xs[j] for j in others))
        part = part.reshape([xs[k].shape[i] if c in known else 1 for i, c in enumerate(target)])
        return np.broadcast_to(part, xs[k].shape)

    def backward(ctx, grad_out):
        return tuple(ctx._grad(k, grad_out) if need else None
                     for k, need in enumerate(ctx.needs_input_grad))

    def jvp(ctx, *x_dots):
        spec = ",".join(ctx.specs) + "->" + ctx.output
        xs = ctx.saved
        return sum(np.einsum(spec, *(x_dots[k] if j == k else x for j, x in enumerate(xs)))
                   for k in range(len(xs)))
