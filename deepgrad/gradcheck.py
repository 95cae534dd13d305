"""Gradient checking: analytic derivatives (reverse and forward mode) against finite differences.

Central differences  (f(x + eps e_k) - f(x - eps e_k)) / (2 eps)  have error O(eps^2), so in
float64 with eps = 1e-6 they agree with a correct derivative to about 1e-9 (round-off adds
~1e-16/eps = 1e-10). An element passes when |analytic - numeric| <= atol + rtol |numeric|.
The dot-product test checks that forward and reverse mode are transposes of each other:
<J v, u> = <v, J^T u> for random v, u.
"""

from __future__ import annotations

import numpy as np

from deepgrad import _state
from deepgrad.engine import grad as reverse_grad
from deepgrad.forward import jvp
from deepgrad.tensor import Tensor, as_tensor


class GradcheckError(AssertionError):
    """A derivative disagrees with finite differences (the message names where and by how much)."""


def _outputs(f, inputs):
    out = f(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _flat_outputs(f, inputs):
    with _state.no_grad():
        return np.concatenate([np.asarray(y.data, dtype=np.float64).reshape(-1)
                               for y in _outputs(f, inputs)])


def numerical_jacobian(f, inputs, eps=1e-6):
    """One matrix per input: rows are output elements (all outputs flattened), columns input
    elements, each column a central difference."""
    inputs = [as_tensor(x) for x in inputs]
    jacobians = []
    for x in inputs:
        if x.dtype.kind != "f":
            jacobians.append(None)
            continue
        columns = []
        for k in range(x.data.size):
            # index x.data itself (reshape(-1) would copy an input that is not C-contiguous)
            index = np.unravel_index(k, x.data.shape)
            original = x.data[index]
            x.data[index] = original + eps
            plus = _flat_outputs(f, inputs)
            x.data[index] = original - eps
            minus = _flat_outputs(f, inputs)
            x.data[index] = original
            columns.append((plus - minus) / (2 * eps))
        n_out = _flat_outputs(f, inputs).size
        jacobians.append(np.stack(columns, axis=1) if columns else np.zeros((n_out, 0)))
    return jacobians


def _reverse_jacobians(f, inputs, checked):
    leaves = [x.detach().requires_grad_(True) if i in checked else x.detach()
              for i, x in enumerate(inputs)]
    with _state.enable_grad():
        outs = _outputs(f, leaves)
    sizes = [y.size for y in outs]
    rows = {i: [] for i in checked}
    for o, y in enumerate(outs):
        for j in range(y.size):
            cot = np.zeros(y.size, dtype=y.dtype)
            cot[j] = 1
            if not y.requires_grad:
                grads = [None] * len(checked)
            else:
                grads = reverse_grad(y, [leaves[i] for i in checked], cot.reshape(y.shape),
                                     retain_graph=True, allow_unused=True)
            for i, g in zip(checked, grads):
                rows[i].append(np.zeros(inputs[i].size) if g is None
                               else np.asarray(g.data, dtype=np.float64).reshape(-1))
    total = sum(sizes)
    return {i: (np.stack(rows[i]) if rows[i] else np.zeros((total, inputs[i].size)))
            for i in checked}


def _forward_jacobians(f, inputs, checked):
    cols = {}
    for i in checked:
        columns = []
        for k in range(inputs[i].size):
            tangents = [np.zeros_like(x.data) for x in inputs]
            tangents[i][np.unravel_index(k, tangents[i].shape)] = 1
            outs, out_dots = jvp(lambda *xs: tuple(_outputs(f, xs)), tuple(inputs),
                                 tuple(tangents))
            columns.append(np.concatenate([np.asarray(d.data, dtype=np.float64).reshape(-1)
                                           for d in out_dots]))
        n_out = _flat_outputs(f, inputs).size
        cols[i] = np.stack(columns, axis=1) if columns else np.zeros((n_out, 0))
    return cols


def _compare(mode, analytic, numeric, i, shape, atol, rtol):
    error = np.abs(analytic - numeric)
    bad = error > atol + rtol * np.abs(numeric)
    if bad.any():
        out_index, in_index = (int(v) for v in np.argwhere(bad)[0])
        a, n = analytic[out_index, in_index], numeric[out_index, in_index]
        relative = abs(a - n) / max(abs(n), 1e-300)
        element = np.unravel_index(in_index, shape) if shape else ()
        raise GradcheckError(
            f"gradcheck: {mode}-mode derivative of output element {out_index} with respect to "
            f"input {i} at index {tuple(int(e) for e in element)} is {a:.10g}, but finite "
            f"differences give {n:.10g} (absolute error {abs(a - n):.3g}, relative error "
            f"{relative:.3g}; {int(bad.sum())} of {bad.size} entries fail atol={atol}, "
            f"rtol={rtol})")


def gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, check_forward=True,
              check_dot_product=True, generator=None):
    """Check reverse mode (and forward mode) of `f` against central finite differences.

    Args:
        f: a deterministic function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a sequence of Tensors/arrays. Inputs with requires_grad=True are
            checked (all floating inputs when none requires grad). They are promoted to float64.
        eps, atol, rtol: step and tolerances (PyTorch's gradcheck defaults).

    Returns:
        True when every derivative agrees; otherwise raises GradcheckError naming the mode, the
        input, the index, the analytic and numeric values and the relative error.
    """
    if isinstance(inputs, (Tensor, np.ndarray)):
        inputs = (inputs,)
    inputs = [as_tensor(x) for x in inputs]
    flagged = [i for i, x in enumerate(inputs) if x.requires_grad]
    checked = flagged or [i for i, x in enumerate(inputs) if x.dtype.kind == "f"]
    inputs = [Tensor._wrap(np.array(x.data, dtype=np.float64)) if x.dtype.kind == "f"
              else Tensor._wrap(x.data.copy()) for x in inputs]
    numeric = numerical_jacobian(f, inputs, eps)
    reverse = _reverse_jacobians(f, inputs, checked)
    for i in checked:
        _compare("reverse", reverse[i], numeric[i], i, inputs[i].shape, atol, rtol)
    if check_forward:
        forward = _forward_jacobians(f, inputs, checked)
        for i in checked:
            _compare("forward", forward[i], numeric[i], i, inputs[i].shape, atol, rtol)
    if check_dot_product:
        dot_product_test(f, inputs, checked, atol, rtol, generator)
    return True


def dot_product_test(f, inputs, checked=None, atol=1e-5, rtol=1e-3, generator=None):
    """Check <J v, u> = <v, J^T u> with random v (inputs) and u (outputs)."""
    rng = np.random.default_rng(0) if generator is None else generator
    inputs = [as_tensor(x) for x in inputs]
    if checked is None:
        checked = [i for i, x in enumerate(inputs) if x.dtype.kind == "f"]
    tangents = [rng.standard_normal(x.shape) if i in checked else np.zeros(x.shape)
                for i, x in enumerate(inputs)]
    tangents = [t.astype(x.dtype) if x.dtype.kind == "f" else t
                for t, x in zip(tangents, inputs)]
    outs, out_dots = jvp(lambda *xs: tuple(_outputs(f, xs)), tuple(inputs), tuple(tangents))
    cotangents = [rng.standard_normal(y.shape).astype(y.dtype) for y in outs]
    jv_u = sum(float(np.sum(d.data * u)) for d, u in zip(out_dots, cotangents))
    leaves = [x.detach().requires_grad_(True) if i in checked else x.detach()
              for i, x in enumerate(inputs)]
    with _state.enable_grad():
        ys = _outputs(f, leaves)
    differentiable = [(y, u) for y, u in zip(ys, cotangents) if y.requires_grad]
    v_jtu = 0.0
    if differentiable:
        grads = reverse_grad([y for y, _ in differentiable], [leaves[i] for i in checked],
                             [u for _, u in differentiable], allow_unused=True)
        v_jtu = sum(float(np.sum(tangents[i] * g.data)) for i, g in zip(checked, grads)
                    if g is not None)
    if abs(jv_u - v_jtu) > atol + rtol * abs(v_jtu):
        raise GradcheckError(f"gradcheck: dot-product test failed: <J v, u> = {jv_u:.10g} but "
                             f"<v, J^T u> = {v_jtu:.10g}; forward and reverse mode disagree")
    return True
