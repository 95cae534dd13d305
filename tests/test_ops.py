"""One table drives every differentiable primitive through gradcheck (float64: reverse, forward
and the dot-product test), forward/reverse Jacobian agreement, and PyTorch 2.13 as an oracle.

A row: (name, deepgrad function, torch function or None, input shapes, domain).
The domain keeps inputs away from singularities and kinks so finite differences are valid.
"""

import numpy as np
import pytest

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad import ops
from deepgrad.autograd import gradcheck, jacobian

from torch_gate import torch  # gated per test: tests without PyTorch still run

POS = "positive"  # (0.5, 2)
ANY = "any"  # standard normal, nudged away from 0
UNIT = "unit"  # (-0.9, 0.9)


def _tv(index):
    """The same index array as a PyTorch tensor (int64)."""
    return torch.tensor(index)


IDX = np.array([[2, 0], [1, 1], [3, 2]])  # gather indices along dim 1 of a (3, 4)
UNIQUE = np.array([[2, 0], [1, 3], [0, 2]])  # scatter: no place written twice
ZEROS = np.array([[1, 0, 1, 1], [1, 1, 1, 1], [0, 1, 0, 1]], dtype=np.float32)
MASK = np.array([[True, False, False, True], [False, False, True, False],
                 [True, True, False, False]])
TF = torch.nn.functional
# the PyTorch-named surface (issue 15): reductions with dim=/keepdim=, scans, sorting,
# indexing, rearranging, einsum, // and %, and the nn.functional additions
PYTORCH_SURFACE = [
    ("max_dim_values", lambda a: a.max(1).values, lambda a: a.max(1).values, [(3, 5)], ANY),
    ("min_dim_keepdim", lambda a: a.min(dim=0, keepdim=True)[0],
     lambda a: a.min(dim=0, keepdim=True)[0], [(4, 3)], ANY),
    ("sum_dims_keepdim", lambda a: a.sum(dim=(0, 2), keepdim=True),
     lambda a: a.sum(dim=(0, 2), keepdim=True), [(3, 4, 2)], ANY),
    ("mean_dim_0d", lambda a: a.sum().mean(dim=-1), lambda a: a.sum().mean(dim=-1), [(3,)],
     ANY),
    ("var_default_unbiased", lambda a: a.var(1), lambda a: a.var(1), [(3, 5)], ANY),
    ("std_correction_2", lambda a: a.std(dim=0, correction=2),
     lambda a: a.std(dim=0, correction=2), [(5, 3)], ANY),
    ("prod_all", lambda a: a.prod(), lambda a: a.prod(), [(2, 3)], ANY),
    ("prod_dim", lambda a: a.prod(1), lambda a: a.prod(1), [(3, 4)], ANY),
    ("prod_with_zeros", lambda a: (a * dg.tensor(ZEROS)).prod(1),
     lambda a: (a * torch.tensor(ZEROS)).prod(1), [(3, 4)], ANY),
    ("logsumexp", lambda a: a.logsumexp(1), lambda a: torch.logsumexp(a, 1), [(3, 4)], ANY),
    ("norm_all", lambda a: a.norm(), lambda a: a.norm(), [(3, 4)], ANY),
    ("norm_p1_dim", lambda a: a.norm(p=1, dim=1), lambda a: a.norm(p=1, dim=1), [(3, 4)], ANY),
    ("norm_p3", lambda a: dg.norm(a, 3, 0), lambda a: torch.norm(a, 3, 0), [(3, 4)], ANY),
    ("cumsum", lambda a: a.cumsum(1), lambda a: a.cumsum(1), [(3, 4)], ANY),
    ("cumprod", lambda a: a.cumprod(0), lambda a: a.cumprod(0), [(4, 3)], ANY),
    ("cumprod_with_zeros", lambda a: (a * dg.tensor(ZEROS)).cumprod(1),
     lambda a: (a * torch.tensor(ZEROS)).cumprod(1), [(3, 4)], ANY),
    ("sort_descending", lambda a: a.sort(1, descending=True).values,
     lambda a: a.sort(1, descending=True).values, [(3, 5)], ANY),
    ("topk", lambda a: a.topk(2, dim=0).values, lambda a: a.topk(2, dim=0).values, [(4, 3)],
     ANY),
    ("gather", lambda a: a.gather(1, IDX), lambda a: a.gather(1, _tv(IDX)), [(3, 4)], ANY),
    ("scatter", lambda a, b: a.scatter(1, UNIQUE, b), lambda a, b: a.scatter(1, _tv(UNIQUE), b),
     [(3, 4), (3, 2)], ANY),
    ("scatter_add_repeats", lambda a, b: a.scatter_add(1, IDX, b),
     lambda a, b: a.scatter_add(1, _tv(IDX), b), [(3, 4), (3, 2)], ANY),
    ("index_select", lambda a: a.index_select(1, np.array([3, 0, 3])),
     lambda a: a.index_select(1, _tv([3, 0, 3])), [(2, 4)], ANY),
    ("take_along_dim", lambda a: dg.take_along_dim(a, np.array([[1], [0], [3]]), 1),
     lambda a: torch.take_along_dim(a, _tv([[1], [0], [3]]), 1), [(3, 4)], ANY),
    ("masked_fill", lambda a: a.masked_fill(MASK, 0.5), lambda a: a.masked_fill(
        torch.tensor(MASK), 0.5), [(3, 4)], ANY),
    ("split", lambda a: a.split(2, dim=1)[1], lambda a: a.split(2, dim=1)[1], [(3, 5)], ANY),
    ("chunk", lambda a: a.chunk(3, 0)[2], lambda a: a.chunk(3, 0)[2], [(7, 2)], ANY),
    ("flip", lambda a: a.flip(0, 1), lambda a: a.flip(0, 1), [(3, 4)], ANY),
    ("roll", lambda a: a.roll(2, 1), lambda a: a.roll(2, 1), [(3, 4)], ANY),
    ("roll_flat", lambda a: a.roll(3), lambda a: a.roll(3), [(3, 4)], ANY),
    ("repeat", lambda a: a.repeat(2, 1, 3), lambda a: a.repeat(2, 1, 3), [(2, 3)], ANY),
    ("tril", lambda a: a.tril(-1), lambda a: a.tril(-1), [(4, 3)], ANY),
    ("triu", lambda a: a.triu(1), lambda a: a.triu(1), [(2, 3, 4)], ANY),
    ("einsum_bmm", lambda a, b: dg.einsum("bij,bjk->bik", a, b),
     lambda a, b: torch.einsum("bij,bjk->bik", a, b), [(2, 3, 4), (2, 4, 2)], ANY),
    ("einsum_reduce_outer", lambda a, b: dg.einsum("ij,k->ik", a, b),
     lambda a, b: torch.einsum("ij,k->ik", a, b), [(3, 4), (2,)], ANY),
    ("einsum_implicit", lambda a, b: dg.einsum("ij,jk", a, b),
     lambda a, b: torch.einsum("ij,jk", a, b), [(3, 4), (4, 2)], ANY),
    ("remainder", lambda a, b: a % b, lambda a, b: a % b, [(3, 4), (4,)], (ANY, POS)),
    ("clone", lambda a: a.clone() * 2, lambda a: a.clone() * 2, [(3,)], ANY),
    ("t_and_mT", lambda a, b: a.t() @ b.mT, lambda a, b: a.t() @ b.mT, [(3, 2), (4, 3)], ANY),
    ("expand_as", lambda a, b: a.expand_as(b) * b, lambda a, b: a.expand_as(b) * b,
     [(3, 1), (3, 4)], ANY),
    ("softmax_method", lambda a: a.softmax(0), lambda a: a.softmax(0), [(3, 4)], ANY),
    ("pad_reflect", lambda a: F.pad(a, (2, 1, 1, 2), mode="reflect"),
     lambda a: TF.pad(a, (2, 1, 1, 2), mode="reflect"), [(2, 4, 5)], ANY),
    ("pad_replicate", lambda a: F.pad(a, (2, 0, 0, 3), mode="replicate"),
     lambda a: TF.pad(a, (2, 0, 0, 3), mode="replicate"), [(1, 2, 3, 4)], ANY),
    ("pad_circular", lambda a: F.pad(a, (3, 1), mode="circular"),
     lambda a: TF.pad(a, (3, 1), mode="circular"), [(2, 2, 4)], ANY),
    ("pad_negative", lambda a: F.pad(a, (-1, 2, 1, -2)), lambda a: TF.pad(a, (-1, 2, 1, -2)),
     [(4, 5)], ANY),
    ("embedding", lambda w: F.embedding(np.array([[0, 2], [2, 3]]), w),
     lambda w: TF.embedding(_tv([[0, 2], [2, 3]]), w), [(4, 3)], ANY),
    ("normalize", lambda a: F.normalize(a, dim=1), lambda a: TF.normalize(a, dim=1), [(3, 4)],
     ANY),
    ("cosine_similarity", lambda a, b: F.cosine_similarity(a, b),
     lambda a, b: TF.cosine_similarity(a, b), [(3, 4), (3, 4)], ANY),
    ("sdpa", lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
     lambda q, k, v: TF.scaled_dot_product_attention(q, k, v), [(2, 3, 4), (2, 5, 4),
                                                                 (2, 5, 2)], ANY),
    ("sdpa_causal", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
     lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
     [(3, 4), (3, 4), (3, 2)], ANY),
    ("relu6", lambda a: F.relu6(a * 4), lambda a: TF.relu6(a * 4), [(3, 4)], ANY),
    ("hardtanh", lambda a: F.hardtanh(a * 2), lambda a: TF.hardtanh(a * 2), [(3, 4)], ANY),
    ("hardsigmoid", lambda a: F.hardsigmoid(a * 3), lambda a: TF.hardsigmoid(a * 3), [(3, 4)],
     ANY),
    ("hardswish", lambda a: F.hardswish(a * 3), lambda a: TF.hardswish(a * 3), [(3, 4)], ANY),
    ("mish", F.mish, lambda a: TF.mish(a), [(3, 4)], ANY),
    ("softsign", F.softsign, lambda a: TF.softsign(a), [(3, 4)], ANY),
    ("logsigmoid", F.logsigmoid, lambda a: TF.logsigmoid(a), [(3, 4)], ANY),
    ("tanhshrink", F.tanhshrink, lambda a: TF.tanhshrink(a), [(3, 4)], ANY),
    ("conv1d", lambda x, w: F.conv1d(x, w, stride=2, padding=1),
     lambda x, w: TF.conv1d(x, w, stride=2, padding=1), [(2, 3, 7), (4, 3, 3)], ANY),
    ("conv2d_groups", lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2),
     lambda x, w, b: TF.conv2d(x, w, b, padding=1, groups=2), [(1, 4, 4, 3), (6, 2, 3, 3),
                                                                 (6,)], ANY),
    ("conv_transpose2d", lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1,
                                                         output_padding=1),
     lambda x, w: TF.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
     [(1, 2, 3, 3), (2, 3, 3, 2)], ANY),
    ("max_pool2d_ceil", lambda x: F.max_pool2d(x, 2, ceil_mode=True),
     lambda x: TF.max_pool2d(x, 2, ceil_mode=True), [(1, 2, 5, 5)], ANY),
    ("avg_pool2d_exclude_pad_ceil", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True,
                                                           count_include_pad=False),
     lambda x: TF.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
     [(1, 2, 6, 5)], ANY),
]


def _tf(name):
    return getattr(torch, name)


TABLE = [
    # elementwise binary with broadcasting and scalars
    ("add", lambda a, b: a + b, lambda a, b: a + b, [(3, 4), (4,)], ANY),
    ("add_scalar_left", lambda a: 2.5 + a, lambda a: 2.5 + a, [(2, 3)], ANY),
    ("sub", lambda a, b: a - b, lambda a, b: a - b, [(2, 1, 3), (4, 1)], ANY),
    ("rsub_scalar", lambda a: 1.0 - a, lambda a: 1.0 - a, [(5,)], ANY),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, [(3, 4), (3, 1)], ANY),
    ("mul_same_input", lambda a: a * a, lambda a: a * a, [(3, 2)], ANY),
    ("div", lambda a, b: a / b, lambda a, b: a / b, [(3, 4), (4,)], ("any", POS)),
    ("rdiv_scalar", lambda a: 3.0 / a, lambda a: 3.0 / a, [(4,)], POS),
    ("pow_scalar", lambda a: a ** 3, lambda a: a ** 3, [(3, 3)], ANY),
    ("pow_fraction", lambda a: a ** 0.5, lambda a: a ** 0.5, [(3,)], POS),
    ("pow_tensor", lambda a, b: a ** b, lambda a, b: a ** b, [(2, 3), (3,)], (POS, ANY)),
    ("rpow_scalar", lambda a: 2.0 ** a, lambda a: 2.0 ** a, [(4,)], ANY),
    ("neg", lambda a: -a, lambda a: -a, [(2, 2)], ANY),
    ("matmul", lambda a, b: a @ b, lambda a, b: a @ b, [(3, 4), (4, 2)], ANY),
    ("matmul_batched", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3, 4), (4, 5)], ANY),
    ("matmul_broadcast", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 1, 3, 4), (3, 4, 2)],
     ANY),
    ("matmul_vec_mat", lambda a, b: a @ b, lambda a, b: a @ b, [(4,), (2, 4, 3)], ANY),
    ("matmul_mat_vec", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3, 4), (4,)], ANY),
    ("matmul_vec_vec", lambda a, b: a @ b, lambda a, b: a @ b, [(4,), (4,)], ANY),
    ("linear", lambda x, w, b: ops.linear(x, w, b),
     lambda x, w, b: torch.nn.functional.linear(x, w, b), [(5, 3), (4, 3), (4,)], ANY),
    ("linear_3d_nobias", lambda x, w: ops.linear(x, w),
     lambda x, w: torch.nn.functional.linear(x, w), [(2, 5, 3), (4, 3)], ANY),
    ("linear_relu", lambda x, w, b: ops.linear_relu(x, w, b),
     lambda x, w, b: torch.relu(torch.nn.functional.linear(x, w, b)), [(6, 3), (5, 3), (5,)],
     ANY),
    ("linear_relu_3d_nobias", lambda x, w: ops.linear_relu(x, w),
     lambda x, w: torch.relu(torch.nn.functional.linear(x, w)), [(2, 4, 3), (5, 3)], ANY),
    # elementwise unary
    ("exp", dg.exp, torch.exp, [(3, 4)], ANY),
    ("log", dg.log, torch.log, [(3, 4)], POS),
    ("sqrt", dg.sqrt, torch.sqrt, [(3, 4)], POS),
    ("abs", dg.abs, torch.abs, [(3, 4)], ANY),
    ("sin", dg.sin, torch.sin, [(3, 4)], ANY),
    ("cos", dg.cos, torch.cos, [(3, 4)], ANY),
    ("tanh", dg.tanh, torch.tanh, [(3, 4)], ANY),
    ("sigmoid", dg.sigmoid, torch.sigmoid, [(3, 4)], ANY),
    ("erf", dg.erf, torch.erf, [(3, 4)], ANY),
    ("relu", dg.relu, torch.relu, [(3, 4)], ANY),
    ("clip", lambda a: dg.clip(a, -0.5, 0.7), lambda a: torch.clamp(a, -0.5, 0.7), [(4, 4)],
     ANY),
    ("clip_min_only", lambda a: a.clip(min=0.1), lambda a: torch.clamp(a, min=0.1), [(6,)],
     ANY),
    ("maximum", dg.maximum, torch.maximum, [(3, 4), (4,)], ANY),
    ("minimum", dg.minimum, torch.minimum, [(3, 4), (3, 1)], ANY),
    ("where", lambda a, b: dg.where(a.data > 0, a, b),
     lambda a, b: torch.where(a > 0, a, b), [(3, 4), (4,)], ANY),
    # reductions
    ("sum_all", lambda a: a.sum(), lambda a: a.sum(), [(3, 4)], ANY),
    ("sum_axis", lambda a: a.sum(axis=1), lambda a: a.sum(dim=1), [(3, 4, 2)], ANY),
    ("sum_axes_keepdims", lambda a: a.sum(axis=(0, 2), keepdims=True),
     lambda a: a.sum(dim=(0, 2), keepdim=True), [(3, 4, 2)], ANY),
    ("mean_axis", lambda a: a.mean(axis=-1), lambda a: a.mean(dim=-1), [(3, 4)], ANY),
    ("mean_all", lambda a: a.mean(), lambda a: a.mean(), [(2, 5)], ANY),
    ("max_axis", lambda a: a.amax(axis=1), lambda a: torch.amax(a, dim=1), [(3, 5)], ANY),
    ("max_all", lambda a: a.max(), lambda a: torch.amax(a), [(3, 5)], ANY),
    ("min_axis_keepdims", lambda a: a.amin(axis=0, keepdims=True),
     lambda a: torch.amin(a, dim=0, keepdim=True), [(4, 3)], ANY),
    ("var_axis", lambda a: a.var(axis=1, correction=0), lambda a: a.var(dim=1, unbiased=False), [(3, 5)],
     ANY),
    ("var_unbiased", lambda a: a.var(ddof=1), lambda a: a.var(), [(3, 5)], ANY),
    ("std_axis", lambda a: a.std(axis=0, unbiased=False), lambda a: a.std(dim=0, unbiased=False), [(4, 3)],
     ANY),
    # shape
    ("reshape", lambda a: a.reshape(4, 3), lambda a: a.reshape(4, 3), [(2, 6)], ANY),
    ("transpose", lambda a: a.T, lambda a: a.T, [(2, 5)], ANY),
    ("transpose_pair", lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2),
     [(2, 3, 4)], ANY),
    ("permute", lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), [(2, 3, 4)], ANY),
    ("flatten", lambda a: a.flatten(1), lambda a: a.flatten(1), [(2, 3, 4)], ANY),
    ("squeeze", lambda a: a.squeeze(1), lambda a: a.squeeze(1), [(3, 1, 2)], ANY),
    ("unsqueeze", lambda a: a.unsqueeze(-1), lambda a: a.unsqueeze(-1), [(3, 2)], ANY),
    ("broadcast_to", lambda a: a.broadcast_to((4, 3, 2)), lambda a: a.expand(4, 3, 2),
     [(3, 1)], ANY),
    ("pad", lambda a: ops.pad(a, ((1, 0), (2, 1))),
     lambda a: torch.nn.functional.pad(a, (2, 1, 1, 0)), [(3, 4)], ANY),
    ("concatenate", lambda a, b: dg.concatenate([a, b, a], axis=1),
     lambda a, b: torch.cat([a, b, a], dim=1), [(2, 3), (2, 1)], ANY),
    ("stack", lambda a, b: dg.stack([a, b], axis=1), lambda a, b: torch.stack([a, b], dim=1),
     [(2, 3), (2, 3)], ANY),
    ("getitem_slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [(4, 5)], ANY),
    ("getitem_int_array_repeats", lambda a: a[np.array([0, 2, 0, 0])],
     lambda a: a[torch.tensor([0, 2, 0, 0])], [(3, 4)], ANY),
    ("getitem_pairs", lambda a: a[np.arange(3), np.array([1, 0, 1])],
     lambda a: a[torch.arange(3), torch.tensor([1, 0, 1])], [(3, 2)], ANY),
    ("getitem_mask", lambda a: a[a.data > 0], lambda a: a[a > 0], [(4, 4)], ANY),
    # zero-size arrays go through unchanged
    ("sum_zero_size", lambda a: (a * 2).sum(axis=1), lambda a: (a * 2).sum(dim=1), [(3, 0)],
     ANY),
    ("exp_zero_size", dg.exp, torch.exp, [(0, 4)], ANY),
] + PYTORCH_SURFACE

IDS = [row[0] for row in TABLE]


def _inputs(shapes, domain, dtype, seed=0):
    rng = np.random.default_rng(seed)
    domains = domain if isinstance(domain, tuple) else (domain,) * len(shapes)
    arrays = []
    for shape, dom in zip(shapes, domains):
        if dom == POS:
            a = rng.uniform(0.5, 2.0, size=shape)
        elif dom == UNIT:
            a = rng.uniform(-0.9, 0.9, size=shape)
        else:
            a = rng.standard_normal(shape)
            a = np.where(np.abs(a) < 0.1, a + np.sign(a + 1e-12) * 0.2, a)
        arrays.append(a.astype(dtype))
    return arrays


@pytest.mark.parametrize("name,fn,torch_fn,shapes,domain", TABLE, ids=IDS)
def test_gradcheck_float64(name, fn, torch_fn, shapes, domain):
    arrays = _inputs(shapes, domain, np.float64)
    inputs = [dg.tensor(a, requires_grad=True) for a in arrays]
    assert gradcheck(fn, inputs) is True


@pytest.mark.parametrize("name,fn,torch_fn,shapes,domain", TABLE, ids=IDS)
def test_forward_and_reverse_jacobians_agree(name, fn, torch_fn, shapes, domain):
    arrays = _inputs(shapes, domain, np.float64, seed=1)
    for k in range(len(arrays)):
        def single(x, k=k):
            args = [dg.tensor(a) for a in arrays]
            args[k] = x
            return fn(*args)

        forward = jacobian(single, dg.tensor(arrays[k]), mode="forward").numpy()
        reverse = jacobian(single, dg.tensor(arrays[k]), mode="reverse").numpy()
        np.testing.assert_allclose(forward, reverse, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,fn,torch_fn,shapes,domain", TABLE, ids=IDS)
def test_matches_pytorch_float32(name, fn, torch_fn, shapes, domain):
    arrays = _inputs(shapes, domain, np.float32, seed=2)
    ours = [dg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*ours)
    y_t = torch_fn(*theirs)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), atol=1e-5, rtol=1e-4)
    cotangent = np.random.default_rng(3).standard_normal(y.shape).astype(np.float32)
    y.backward(cotangent)
    y_t.backward(torch.tensor(cotangent))
    for a, b in zip(ours, theirs):
        expected = np.zeros(a.shape, np.float32) if b.grad is None else b.grad.numpy()
        np.testing.assert_allclose(a.grad.numpy(), expected, atol=1e-5, rtol=1e-4)


def test_erf_matches_math_erf_to_1e14():
    import math

    x = np.concatenate([np.linspace(-7, 7, 2001), [0.0, 1e-8, -2.5, 2.5, 2.4999999]])
    ours = dg.erf(dg.tensor(x)).numpy()
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-14)


@pytest.mark.parametrize("rows", [5, 5000])  # bias gradient: BLAS product, then pairwise sum
@pytest.mark.parametrize("x_shape", [(None, 6), (2, None, 6)])
def test_linear_transposed_products_equal_the_textbook_formulas(rows, x_shape):
    rng = np.random.default_rng(11)
    shape = tuple(rows if n is None else n for n in x_shape)
    x_np, w_np, b_np = (rng.standard_normal(s) for s in (shape, (4, 6), (4,)))
    g_np = rng.standard_normal(shape[:-1] + (4,))
    x, w, b = (dg.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
    y = dg.ops.linear(x, w, b)
    y.backward(g_np)
    np.testing.assert_allclose(y.data, x_np @ w_np.T + b_np, rtol=1e-12, atol=1e-12)
    g2, x2 = g_np.reshape(-1, 4), x_np.reshape(-1, 6)
    np.testing.assert_allclose(x.grad.data, g_np @ w_np, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w.grad.data, g2.T @ x2, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(b.grad.data, g2.sum(axis=0), rtol=1e-12, atol=1e-10)
