"""Forward-mode automatic differentiation (tangent propagation).

`jvp(f, primals, tangents)` runs `f` once; every primitive applied to an input that carries a
tangent pushes it through its own `jvp` rule, so the output tangent J·v comes out of that single
pass, with no reverse sweep. `jacobian` assembles full Jacobians column by column (forward) or
row by row (reverse), so the two modes can be compared.
"""

from __future__ import annotations

import numpy as np

from deepgrad import _state
from deepgrad.engine import grad as reverse_grad
from deepgrad.tensor import Tensor, as_tensor


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def jvp(f, primals, tangents):
    """Evaluate f at `primals` and its Jacobian-vector product in the direction `tangents`.

    Args:
        f: a function of Tensors returning a Tensor or a tuple of Tensors.
        primals: a Tensor (or array) or a tuple of them.
        tangents: one tangent of the same shape per primal.

    Returns:
        (outputs, output_tangents) with the structure of f's result; tangents are Tensors.
    """
    primals, tangents = _as_tuple(primals), _as_tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primal(s) but {len(tangents)} tangent(s)")
    inputs = []
    for i, (p, t) in enumerate(zip(primals, tangents)):
        p = as_tensor(p).detach()
        t = np.asarray(t.data if isinstance(t, Tensor) else t)
        if t.shape != p.shape:
            raise ValueError(f"jvp: tangent {i} has shape {t.shape} but primal {i} has shape "
                             f"{p.shape}")
        if p.dtype.kind != "f":
            raise TypeError(f"jvp: primal {i} must be floating point, got {p.dtype}")
        p._tangent = t.astype(p.dtype)
        inputs.append(p)
    _state.forward_level += 1
    try:
        outputs = f(*inputs)
    finally:
        _state.forward_level -= 1
    many = isinstance(outputs, (tuple, list))
    outs = _as_tuple(outputs)
    out_tangents = []
    for y in outs:
        tangent = y._tangent if y._tangent is not None else np.zeros_like(y.data)
        out_tangents.append(Tensor._wrap(tangent))
        y._tangent = None
    for p in inputs:
        p._tangent = None
    if many:
        return tuple(outs), tuple(out_tangents)
    return outs[0], out_tangents[0]


def jacobian(f, x, mode="forward"):
    """The Jacobian of a single-input, single-output f at x, of shape y.shape + x.shape.

    mode="forward" builds it one column per input element with jvp; mode="reverse" one row per
    output element with vector-Jacobian products. Both give the same matrix.
    """
    x = as_tensor(x)
    if mode not in ("forward", "reverse"):
        raise ValueError(f"jacobian: mode must be 'forward' or 'reverse', got {mode!r}")
    if mode == "forward":
        columns = []
        y = None
        for i in range(x.size):
            direction = np.zeros(x.size, dtype=x.dtype)
            direction[i] = 1
            y, y_dot = jvp(f, (x,), (direction.reshape(x.shape),))
            columns.append(y_dot.data.reshape(-1))
        if y is None:
            y = f(x.detach())
        out = np.stack(columns, axis=-1) if columns else np.zeros((y.size, 0), dtype=x.dtype)
        return Tensor._wrap(out.reshape(y.shape + x.shape))
    leaf = x.detach().requires_grad_(True)
    with _state.enable_grad():
        y = f(leaf)
    rows = []
    for j in range(y.size):
        cotangent = np.zeros(y.size, dtype=y.dtype)
        cotangent[j] = 1
        (g,) = reverse_grad(y, leaf, cotangent.reshape(y.shape), retain_graph=True,
                            allow_unused=True)
        rows.append(np.zeros(x.size, dtype=x.dtype) if g is None else g.data.reshape(-1))
    out = np.stack(rows, axis=0) if rows else np.zeros((0, x.size), dtype=x.dtype)
    return Tensor._wrap(out.reshape(y.shape + x.shape))
