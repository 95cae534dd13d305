"""deepgrad.nn.utils.clip_grad_norm_ / clip_grad_value_ against PyTorch."""

import math

import numpy as np
import pytest

import deepgrad
from deepgrad.nn.utils import clip_grad_norm_, clip_grad_value_

from torch_gate import torch  # gated per test: tests without PyTorch still run

SHAPES = [(4, 3), (3,), (2, 2, 2)]


def _grads(scale=1.0, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=s) * scale).astype(dtype) for s in SHAPES]


def _pair(grads):
    ours, theirs = [], []
    for g in grads:
        p = deepgrad.tensor(np.zeros(g.shape, g.dtype), requires_grad=True)
        p.grad = deepgrad.tensor(g.copy())
        ours.append(p)
        t = torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype, requires_grad=True)
        t.grad = torch.from_numpy(g.copy())
        theirs.append(t)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])  # clipping active / not needed
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = _pair(_grads())
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    np.testing.assert_allclose(total, expected.item(), rtol=1e-13)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-13)
    new_total = np.linalg.norm(np.concatenate([p.grad.data.ravel() for p in ours]), norm_type)
    assert new_total <= max_norm * (1 + 1e-12)
    if max_norm == 0.5:
        np.testing.assert_allclose(new_total, 0.5 * total / (total + 1e-6), rtol=1e-12)


def test_clip_grad_norm_float32_and_none_grads():
    grads = _grads(dtype=np.float32)
    ours, theirs = _pair(grads)
    ours.append(deepgrad.tensor(np.ones(5, np.float32), requires_grad=True))  # grad None
    theirs.append(torch.ones(5, requires_grad=True))
    total = clip_grad_norm_(ours, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    np.testing.assert_allclose(total, expected.item(), rtol=1e-6)
    for p, t in zip(ours[:-1], theirs[:-1]):
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-6)
    assert ours[-1].grad is None


def test_clip_replaces_gradients_instead_of_writing_into_them():
    ours, _ = _pair(_grads(scale=10.0))
    arrays = [p.grad.data for p in ours]
    before = [a.copy() for a in arrays]
    clip_grad_norm_(ours, 1.0)
    clip_grad_value_(ours, 0.01)
    for a, b, p in zip(arrays, before, ours):
        np.testing.assert_array_equal(a, b)
        assert p.grad.data is not a


def test_single_tensor_and_no_grads():
    p = deepgrad.tensor(np.zeros(2), requires_grad=True)
    assert clip_grad_norm_([p], 1.0) == 0.0
    p.grad = deepgrad.tensor(np.array([3.0, 4.0]))
    assert clip_grad_norm_(p, 1.0) == 5.0
    np.testing.assert_allclose(p.grad.data, np.array([3.0, 4.0]) / (5 + 1e-6))


def test_nonfinite_norm_raises_a_clear_error():
    ours, theirs = _pair(_grads())
    ours[1].grad = deepgrad.tensor(np.array([1.0, np.inf, 0.0]))
    with pytest.raises(RuntimeError, match=r"total gradient norm .* is inf.*parameters\[1\] "
                                           r"\(shape \(3,\)\)"):
        clip_grad_norm_(ours, 1.0)
    ours[1].grad = deepgrad.tensor(np.array([1.0, np.nan, 0.0]))
    with pytest.raises(RuntimeError, match="is nan"):
        clip_grad_norm_(ours, 1.0)
    # opting out behaves like PyTorch: scale by max_norm / (nan + 1e-6)
    theirs[1].grad = torch.tensor([1.0, float("nan"), 0.0], dtype=torch.float64)
    total = clip_grad_norm_(ours, 1.0, error_if_nonfinite=False)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=False)
    assert math.isnan(total) and math.isnan(expected.item())
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.data, t.grad.numpy())


def test_clip_grad_value_matches_torch():
    ours, theirs = _pair(_grads())
    clip_grad_value_(ours, 0.3)
    torch.nn.utils.clip_grad_value_(theirs, 0.3)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.data, t.grad.numpy())
    assert max(np.abs(p.grad.data).max() for p in ours) == 0.3


@pytest.mark.parametrize("call,match", [
    (lambda ps: clip_grad_norm_(ps, -1.0), r"got max_norm=-1\.0"),
    (lambda ps: clip_grad_norm_(ps, 1.0, norm_type=0.5), r"got norm_type=0\.5"),
    (lambda ps: clip_grad_value_(ps, -0.1), r"got clip_value=-0\.1"),
    (lambda ps: clip_grad_norm_([np.ones(2)], 1.0), r"parameters\[0\] is a ndarray"),
])
def test_bad_arguments(call, match):
    ours, _ = _pair(_grads())
    with pytest.raises((ValueError, TypeError), match=match):
        call(ours)
