"""The PyTorch-named surface: factories, dtypes, devices, tensor methods, edge semantics,
exception types, and the new nn modules, each checked against PyTorch where it exists."""

import numpy as np
import pytest

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad import nn
from deepgrad.autograd import gradcheck
from torch_gate import torch  # gated per test: tests without PyTorch still run


def _same(ours, theirs, rtol=1e-6):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=rtol, atol=1e-7)


# --- factories, dtypes, devices -------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda t: t.linspace(-1, 2, 7), lambda t: t.logspace(0, 2, 5), lambda t: t.eye(3, 4),
    lambda t: t.zeros(2, 3, dtype=t.float64), lambda t: t.ones((2,), dtype=t.long),
    lambda t: t.full((2, 2), 3), lambda t: t.full((2,), 1.5), lambda t: t.arange(5),
    lambda t: t.arange(0, 1, 0.25), lambda t: t.empty(2, 0).sum(0),
    lambda t: t.full_like(t.ones(2, dtype=t.int32), 7), lambda t: t.zeros_like(t.eye(2)),
    lambda t: t.tensor([[1, 2]], dtype=t.float, device="cpu"),
    lambda t: t.tensor(2.5, dtype=t.double), lambda t: t.tensor([True, False], dtype=t.bool),
    lambda t: t.ones(3, device=t.device("cpu")).to("cpu").cpu().float().double().long().int(),
])
def test_factories_and_conversions_match_pytorch(make):
    ours, theirs = make(dg), make(torch)
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    _same(ours, theirs)


def test_random_factories_and_sharing_constructors():
    dg.manual_seed(3)
    ints = dg.randint(2, 5, (100,))
    assert ints.dtype == np.int64 and 2 <= ints.min().item() and ints.max().item() <= 4
    assert sorted(dg.randperm(6).tolist()) == list(range(6))
    array = np.zeros(3, dtype=np.float32)
    shared = dg.from_numpy(array)
    array[1] = 5.0
    assert shared[1].item() == 5.0 and dg.as_tensor(array).data is array
    assert dg.as_tensor([1.0, 2.0], dtype=dg.float64).dtype == np.float64


def test_cuda_is_refused_with_a_clear_error():
    assert not dg.cuda.is_available()
    for make in (lambda: dg.ones(2, device="cuda"), lambda: dg.ones(2).to("cuda:0"),
                 lambda: dg.device("cuda"), lambda: dg.tensor([1.0]).cuda()):
        with pytest.raises(RuntimeError, match="CPU-only"):
            make()
    assert dg.ones(2).device == dg.device("cpu") == "cpu"
    assert str(dg.device("cpu:0")) == "cpu:0"


# --- tensor methods -------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda x: x.size(), lambda x: x.size(1), lambda x: x.numel(), lambda x: x.dim(),
    lambda x: x.t().shape, lambda x: x.mT.shape, lambda x: x.tolist(),
    lambda x: x.argmax().item(), lambda x: x.argmin(dim=1).tolist(),
    lambda x: x.argmax(1, keepdim=True).tolist(), lambda x: x.type(),
])
def test_shape_queries_match_pytorch(call):
    x = np.array([[3.0, -1.0, 2.0], [0.5, 4.0, -2.0]], dtype=np.float32)
    ours, theirs = call(dg.tensor(x)), call(torch.tensor(x))
    if isinstance(ours, str):
        assert ours.split(".")[1] == theirs.split(".")[1]
    else:
        assert tuple(ours) == tuple(theirs) if isinstance(ours, tuple) else ours == theirs


@pytest.mark.parametrize("call", [
    lambda x: x.add(1.5, alpha=2), lambda x: x.sub(x, alpha=0.5), lambda x: x.mul(x).div(3),
    lambda x: x.pow(2).neg(), lambda x: x.matmul(x.t()), lambda x: x.clamp(-1, 2),
    lambda x: x.floor(), lambda x: x.ceil(), lambda x: x.round(), lambda x: x.trunc(),
    lambda x: x.sign(), lambda x: x.abs().sqrt().isnan(), lambda x: (x / 0).isinf(),
    lambda x: (x / 0).isfinite(), lambda x: x.log_softmax(1), lambda x: x.cumsum(0),
    lambda x: x.view(3, 2).view_as(x), lambda x: x.contiguous().clone(),
    lambda x: x.masked_fill(x > 1, -5.0), lambda x: x.flip(1), lambda x: x.roll(1, 0),
    lambda x: x.where(x > 0, 0.0), lambda x: x.sort(0).indices, lambda x: x.topk(2).indices,
    lambda x: x.split([1, 2], dim=1)[1], lambda x: x.chunk(2, 1)[1],
    lambda x: x.repeat(2, 2), lambda x: x.index_select(0, x.argmax(0)),
    lambda x: (x > 0).logical_not(), lambda x: ~(x > 0) | (x < 3) & (x > -2),
    lambda x: x.squeeze(0), lambda x: x.unsqueeze(dim=1).squeeze(1), lambda x: x.T.T,
    lambda x: x.permute(-1, 0), lambda x: x[0, :, None][:, 0], lambda x: x.norm(dim=0),
])
def test_tensor_methods_match_pytorch(call):
    x = np.array([[3.0, -1.0, 2.0], [0.5, 4.0, -2.0]], dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        ours = call(dg.tensor(x))
    theirs = call(torch.tensor(x))
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    _same(ours, theirs)


def test_inplace_methods_keep_the_version_counter_protection():
    w = dg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place change of a leaf that requires grad"):
        w.add_(1.0)
    with dg.no_grad():
        w.mul_(2).add_(1.0, alpha=3).clamp_(max=6.0)
    np.testing.assert_array_equal(w.numpy(), [5.0, 6.0])
    y = (w * w).sum()
    with dg.no_grad():
        w.zero_()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


# --- edge semantics and exception types ---------------------------------------------------
def test_dims_on_0d_tensors_and_squeeze_as_pytorch():
    for lib in (dg, torch):
        x = lib.tensor(3.0)
        assert x.sum(0).item() == 3.0 and x.sum(-1).item() == 3.0
        assert x.softmax(0).item() == 1.0 and tuple(x.unsqueeze(-1).shape) == (1,)
        assert tuple(lib.ones(2, 3).squeeze(0).shape) == (2, 3)  # not size 1: a no-op
        assert tuple(lib.ones(2, 3, 1).permute(-1, 0, 1).shape) == (1, 2, 3)


def test_indexing_that_mixes_ints_slices_and_index_tensors():
    x = np.arange(24.0).reshape(2, 3, 4)
    for index in [(0, slice(None), [1, 2]), (slice(None), [0, 2], 1), ([0, 1], slice(None),
                                                                        [1, 2]),
                  (1, [0, 2]), (None, 0, [1]), (Ellipsis, [3, 0])]:
        ours = dg.tensor(x, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        y, y_t = ours[index], theirs[tuple(torch.tensor(i) if isinstance(i, list) else i
                                            for i in index)]
        _same(y, y_t)
        y.sum().backward()
        y_t.sum().backward()
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_pow_gradients_at_zero_and_for_negative_bases_as_pytorch():
    for exponent in (0, 0.5, 2, 3, -1.0):
        a = np.array([0.0, -2.0, 1.5])
        ours = dg.tensor(a, requires_grad=True)
        theirs = torch.tensor(a, requires_grad=True)
        with np.errstate(invalid="ignore"):  # (-2) ** 0.5 is nan in both, NumPy warns
            (ours ** exponent).sum().backward()
        (theirs ** exponent).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-15)


def test_errors_raise_pytorchs_exception_types_with_deepgrads_messages():
    x = dg.ones(2, 3)
    with pytest.raises(IndexError, match="sum: dim 2 is out of range"):
        x.sum(2)
    with pytest.raises(IndexError, match="getitem"):
        x[5]
    with pytest.raises(IndexError, match="gather: index values must be in"):
        x.gather(1, np.array([[3], [0]]))
    with pytest.raises(RuntimeError, match="t: expects a tensor with at most 2 dimensions"):
        dg.ones(2, 2, 2).t()
    with pytest.raises(RuntimeError, match="mm: both operands must be 2-D"):
        dg.mm(dg.ones(3), dg.ones(3))
    with pytest.raises(TypeError, match="requires_grad: only floating-point tensors"):
        dg.tensor([1, 2], requires_grad=True)
    with pytest.raises(ValueError, match="sum: dim 2 is out of range"):
        x.sum(2)  # still a ValueError for NumPy-minded code


# --- nn modules and functional -------------------------------------------------------------
def test_embedding_matches_pytorch_including_padding_idx():
    weight = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    index = np.array([[0, 2, 2], [4, 2, 1]])
    ours = nn.Embedding(5, 3, padding_idx=2)
    theirs = torch.nn.Embedding(5, 3, padding_idx=2)
    ours.weight.data[...] = weight
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(weight))
    y, y_t = ours(dg.tensor(index)), theirs(torch.tensor(index))
    _same(y, y_t)
    (y * y).sum().backward()
    (y_t * y_t).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-6)
    assert np.all(nn.Embedding(4, 2, padding_idx=1).weight.numpy()[1] == 0)


def test_containers_register_their_parameters():
    blocks = nn.ModuleDict({"encoder": nn.Linear(4, 3), "decoder": nn.Linear(3, 4)})
    blocks["head"] = nn.Linear(4, 1)
    assert [n for n, _ in blocks.named_parameters()] == [
        "encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias", "head.weight",
        "head.bias"]
    assert list(blocks.keys()) == ["encoder", "decoder", "head"] and "head" in blocks
    scales = nn.ParameterList([dg.ones(2), dg.zeros(3)])
    assert [tuple(p.shape) for p in scales] == [(2,), (3,)] and len(scales) == 2
    assert all(isinstance(p, nn.Parameter) for p in scales.parameters())


@pytest.mark.parametrize("make,shape", [
    (lambda t: t.nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    (lambda t: t.nn.Conv1d(4, 4, 3, groups=4), (1, 4, 6)),
    (lambda t: t.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1), (1, 4, 3,
                                                                                      3)),
    (lambda t: t.nn.Unflatten(1, (2, 3)), (4, 6)),
    (lambda t: t.nn.Softmax2d(), (2, 3, 2, 2)),
    (lambda t: t.nn.ReLU(inplace=True), (5,)), (lambda t: t.nn.ReLU6(), (5,)),
    (lambda t: t.nn.Hardtanh(-2.0, 2.0), (5,)), (lambda t: t.nn.Hardsigmoid(), (5,)),
    (lambda t: t.nn.Hardswish(), (5,)), (lambda t: t.nn.Mish(), (5,)),
    (lambda t: t.nn.Softsign(), (5,)), (lambda t: t.nn.LogSigmoid(), (5,)),
    (lambda t: t.nn.Tanhshrink(), (5,)),
])
def test_new_modules_match_pytorch(make, shape):
    ours, theirs = make(nn.__class__ and dg), make(torch)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert p.shape == tuple(q.shape)
        with torch.no_grad():
            q.copy_(torch.tensor(p.numpy()))
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32) * 3
    y, y_t = ours(dg.tensor(x)), theirs(torch.tensor(x))
    _same(y, y_t, rtol=1e-5)
    x64 = dg.tensor(x.astype(np.float64), requires_grad=True)
    assert gradcheck(lambda t: ours.double()(t), [x64])


def test_one_hot_and_dropout_one_match_pytorch():
    labels = np.array([[0, 3], [1, 1]])
    _same(F.one_hot(dg.tensor(labels)), torch.nn.functional.one_hot(torch.tensor(labels)))
    _same(F.one_hot(dg.tensor(labels), 6), torch.nn.functional.one_hot(torch.tensor(labels), 6))
    with pytest.raises(RuntimeError, match="class index 3 is out of range for num_classes=2"):
        F.one_hot(dg.tensor(labels), 2)


def test_max_pool2d_indices_match_pytorch():
    x = np.random.default_rng(2).standard_normal((2, 3, 7, 6)).astype(np.float32)
    for kwargs in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1,
                                        "ceil_mode": True}, {"kernel_size": 2, "dilation": 2}):
        y, index = F.max_pool2d(dg.tensor(x), return_indices=True, **kwargs)
        y_t, index_t = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True,
                                                      **kwargs)
        _same(y, y_t)
        np.testing.assert_array_equal(index.numpy(), index_t.numpy())


def test_documented_snippets_run():
    import pathlib
    import re

    docs = pathlib.Path(__file__).parents[1] / "docs"
    (snippet,) = re.findall(r"```python\n(.*?)```", (docs / "pytorch.md").read_text(), re.S)
    scope = {}
    exec(snippet, scope)
    assert scope["values"].shape == (40,) and scope["indices"].dtype == np.int64
    assert scope["xx"].dtype == np.float32 and scope["loss"].item() > 0
    custom = [s for s in re.findall(r"```python\n(.*?)```", (docs / "autograd.md").read_text(),
                                    re.S) if "LegendrePolynomial3" in s]
    scope = {}
    exec(custom[0], scope)
    x = scope["x"].numpy()
    np.testing.assert_allclose(scope["x"].grad.numpy(), 1.5 * (5 * x ** 2 - 1), rtol=1e-6)
