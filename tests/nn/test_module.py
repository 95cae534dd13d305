"""Module system: registration, traversal, modes, state dicts, hooks, printing, Linear."""

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.autograd import gradcheck

from torch_gate import torch  # gated per test: tests without PyTorch still run


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 3, generator=0)
        self.heads = nn.ModuleList([nn.Linear(3, 2, generator=1), nn.Linear(3, 1, generator=2)])
        self.scale = nn.Parameter(np.array([2.0], dtype=np.float32))

    def forward(self, x):
        h = dg.relu(self.hidden(x))
        return self.heads[0](h) * self.scale, self.heads[1](h)


def test_parameters_are_registered_with_stable_dotted_names():
    model = TwoLayer()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["scale", "hidden.weight", "hidden.bias", "heads.0.weight", "heads.0.bias",
                     "heads.1.weight", "heads.1.bias"]
    assert model.num_parameters() == 1 + 4 * 3 + 3 + 3 * 2 + 2 + 3 + 1
    assert [type(m).__name__ for m in model.children()] == ["Linear", "ModuleList"]
    assert len(list(model.modules())) == 5


def test_shared_parameter_is_listed_once():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2


def test_train_eval_propagates():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.eval()
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_sets_none():
    model = nn.Linear(3, 2)
    model(dg.ones(1, 3)).sum().backward()
    assert model.weight.grad is not None and model.weight.grad.shape == (2, 3)
    model.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None


def test_state_dict_round_trip_keeps_identity():
    a, b = TwoLayer(), TwoLayer()
    for p in b.parameters():
        p.data[...] = 0
    weight = b.hidden.weight
    b.load_state_dict(a.state_dict())
    assert b.hidden.weight is weight
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)


def test_load_state_dict_lists_every_problem_by_name():
    model = TwoLayer()
    state = model.state_dict()
    del state["hidden.bias"]
    state["extra.weight"] = np.zeros(2)
    state["heads.0.weight"] = np.zeros((5, 5))
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "missing keys: hidden.bias" in message
    assert "unexpected keys: extra.weight" in message
    assert "heads.0.weight: checkpoint has shape (5, 5), model has (2, 3)" in message
    del state["extra.weight"]
    state["heads.0.weight"] = np.zeros((2, 3))
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == ["hidden.bias"] and unexpected == []


def test_buffers_are_in_state_dict():
    bn = nn.BatchNorm1d(3)
    assert set(bn.state_dict()) == {"weight", "bias", "running_mean", "running_var",
                                    "num_batches_tracked"}


def test_forward_hook_sees_and_replaces_output_and_is_removable():
    layer = nn.Linear(2, 2)
    seen = []
    handle = layer.register_forward_hook(lambda m, inputs, out: seen.append(out.shape))
    layer(dg.ones(5, 2))
    assert seen == [(5, 2)]
    handle.remove()
    layer(dg.ones(5, 2))
    assert seen == [(5, 2)]
    with layer.register_forward_hook(lambda m, i, out: out * 0):
        assert np.all(layer(dg.ones(1, 2)).numpy() == 0)
    assert np.any(layer(dg.ones(1, 2)).numpy() != 0)


def test_print_model_is_informative():
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    assert repr(model) == ("Sequential(\n"
                           "  (0): Linear(in_features=784, out_features=256, bias=True)\n"
                           "  (1): ReLU()\n"
                           "  (2): Linear(in_features=256, out_features=10, bias=True)\n"
                           ")")


def test_sequential_indexing_and_append():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    model.append(nn.Linear(3, 1))
    assert len(model) == 3 and isinstance(model[-1], nn.Linear)
    assert len(model[:2]) == 2
    with pytest.raises(TypeError, match="Sequential: entry 0 must be a Module, got int"):
        nn.Sequential(3)


def test_linear_matches_pytorch_and_gradcheck():
    layer = nn.Linear(5, 3, generator=0)
    ref = torch.nn.Linear(5, 3)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.weight.numpy()))
        ref.bias.copy_(torch.from_numpy(layer.bias.numpy()))
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    xd = dg.tensor(x, requires_grad=True)
    y, yt = layer(xd), ref(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), atol=1e-6)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.weight.grad.numpy(), ref.weight.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.bias.grad.numpy(), ref.bias.grad.numpy(), atol=1e-6)
    layer.double()
    x64 = dg.tensor(x.astype(np.float64), requires_grad=True)
    assert gradcheck(lambda x, w, b: nn.functional.linear(x, w, b),
                     [x64, layer.weight, layer.bias])


def test_linear_default_init_bounds_and_seed():
    a = nn.Linear(100, 50, generator=3)
    b = nn.Linear(100, 50, generator=3)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    assert np.abs(a.weight.numpy()).max() <= 0.1
    assert a.weight.numpy().std() == pytest.approx(0.1 / np.sqrt(3), rel=0.05)


def test_linear_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match="Linear\\(in_features=784, out_features=256\\): "
                                         "expected input whose last dimension is 784, got "
                                         "shape \\(32, 100\\)"):
        nn.Linear(784, 256)(dg.zeros(32, 100))
    with pytest.raises(ValueError, match="Linear: out_features must be a positive integer, "
                                         "got 0"):
        nn.Linear(3, 0)


def test_module_requires_super_init():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(RuntimeError, match="call super\\(\\).__init__\\(\\)"):
        Broken()


def test_flatten_and_identity():
    x = dg.ones(2, 3, 4)
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0)(x).shape == (24,)
    assert nn.Identity()(x) is x


def _mlp(seed=0):
    gen = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(5, 4, generator=gen), nn.ReLU(), nn.Linear(4, 4, generator=gen),
                         nn.ReLU(), nn.Linear(4, 3, generator=gen))


def test_linear_uses_a_weight_reassigned_as_a_plain_tensor():
    # weight tying assigns a tensor that is not a Parameter of this layer: the layer must
    # read it (it is not in the parameter table), fused or not
    layer = nn.Linear(3, 2, bias=False)
    tied = dg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    layer.weight = tied
    x = dg.tensor(np.ones((4, 3)))
    np.testing.assert_array_equal(layer(x).data, np.full((4, 2), [3.0, 12.0]))
    fused = nn.Sequential(layer, nn.ReLU())(x)
    assert type(fused.grad_fn).__name__ == "LinearReLU"
    np.testing.assert_array_equal(fused.data, np.full((4, 2), [3.0, 12.0]))
    assert layer.bias is None and list(layer.parameters()) == []


def _unfused_loss(model, x):
    """The same network written as separate Linear and ReLU primitives."""
    h = x
    for layer in model:
        h = dg.ops.relu(h) if isinstance(layer, nn.ReLU) else dg.ops.linear(h, layer.weight,
                                                                             layer.bias)
    return (h * h).sum()


def test_sequential_fuses_linear_relu_with_the_same_numbers():
    from deepgrad.ops import linalg
    model = _mlp()
    x = dg.tensor(np.random.default_rng(1).standard_normal((6, 5)).astype(np.float32))
    out = model(x)
    # two fused nodes, then the last Linear
    assert isinstance(out.grad_fn, linalg.Linear)
    assert isinstance(out.grad_fn.inputs[0].grad_fn, linalg.LinearReLU)
    assert isinstance(out.grad_fn.inputs[0].grad_fn.inputs[0].grad_fn, linalg.LinearReLU)
    (out * out).sum().backward()
    fused = [p.grad.data.copy() for p in model.parameters()]
    model.zero_grad()
    _unfused_loss(model, x).backward()
    for a, p in zip(fused, model.parameters()):
        np.testing.assert_array_equal(a, p.grad.data)  # bit for bit
    np.testing.assert_array_equal(out.data, model(x).data)


def test_sequential_does_not_fuse_modules_with_hooks():
    from deepgrad.ops import linalg
    model = _mlp()
    x = dg.tensor(np.random.default_rng(2).standard_normal((3, 5)), dtype="float32")
    seen = {}
    handle = model[0].register_forward_hook(lambda m, i, o: seen.update(pre=o.data.copy()))
    model(x)
    assert (seen["pre"] < 0).any()  # the hook saw the pre-activation, not the ReLU output
    handle.remove()
    handle = model[1].register_forward_hook(lambda m, i, o: seen.update(post=o.data.copy()))
    out = model(x)
    np.testing.assert_array_equal(seen["post"], np.maximum(seen["pre"], 0))
    assert isinstance(out.grad_fn.inputs[0].grad_fn, linalg.LinearReLU)  # the second pair
    assert not isinstance(out.grad_fn.inputs[0].grad_fn.inputs[0].grad_fn.inputs[0].grad_fn,
                          linalg.LinearReLU)
    handle.remove()


def test_fused_linear_relu_gradcheck_and_retained_graph():
    rng = np.random.default_rng(3)
    x, w, b = (dg.tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((4, 3), (5, 3), (5,)))
    assert gradcheck(lambda a, c, d: dg.ops.linear_relu(a, c, d), [x, w, b])
    y = dg.ops.linear_relu(x, w, b).sum()
    y.backward(retain_graph=True)
    first = w.grad.data.copy()
    y.backward()
    np.testing.assert_allclose(w.grad.data, 2 * first, rtol=1e-12)


def test_zero_grad_set_to_none_false_zeros_in_place_as_pytorch():
    model = nn.Linear(3, 2)
    model(dg.ones(4, 3)).sum().backward()
    grad = model.weight.grad
    model.zero_grad(set_to_none=False)
    assert model.weight.grad is grad  # the same tensor, now zeros
    np.testing.assert_array_equal(grad.numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(model.bias.grad.numpy(), np.zeros(2))
    model(dg.ones(4, 3)).sum().backward()  # accumulates from zero
    np.testing.assert_array_equal(model.weight.grad.numpy(), np.full((2, 3), 4.0))
    model.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None
