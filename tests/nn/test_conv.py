"""Conv2d and the pooling layers: shapes, parameters, initialization, PyTorch equality, errors."""

import re

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.nn import functional as F


def _images(shape, seed=0):
    return dg.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


@pytest.mark.parametrize("kwargs, in_shape, out_shape", [
    (dict(in_channels=1, out_channels=20, kernel_size=5), (2, 1, 28, 28), (2, 20, 24, 24)),
    (dict(in_channels=3, out_channels=4, kernel_size=3, padding=1), (2, 3, 9, 7), (2, 4, 9, 7)),
    (dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1), (1, 3, 9, 7),
     (1, 4, 5, 4)),
    (dict(in_channels=2, out_channels=2, kernel_size=(3, 1), dilation=(2, 1)), (1, 2, 9, 5),
     (1, 2, 5, 5)),
    (dict(in_channels=2, out_channels=3, kernel_size=4, padding="same"), (1, 2, 6, 5),
     (1, 3, 6, 5)),
])
def test_conv2d_output_shape(kwargs, in_shape, out_shape):
    layer = nn.Conv2d(**kwargs, generator=0)
    assert layer(_images(in_shape)).shape == out_shape


def test_conv2d_parameters_and_default_init():
    layer = nn.Conv2d(20, 50, 5, generator=0)
    assert layer.weight.shape == (50, 20, 5, 5) and layer.bias.shape == (50,)
    assert layer.num_parameters() == 50 * 20 * 25 + 50
    assert layer.weight.dtype == np.float32
    bound = 1 / np.sqrt(20 * 25)  # kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), +)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.95 * bound
    np.testing.assert_allclose(layer.weight.data.std(), bound / np.sqrt(3), rtol=0.05)
    assert nn.Conv2d(1, 2, 3, bias=False).bias is None
    assert nn.Conv2d(1, 2, 3, bias=False).num_parameters() == 18


def test_conv2d_init_is_reproducible_from_the_generator():
    a, b = nn.Conv2d(3, 4, 3, generator=7), nn.Conv2d(3, 4, 3, generator=7)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)


def test_conv2d_module_matches_torch():
    torch = pytest.importorskip("torch")
    layer = nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), generator=1)
    ref = torch.nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2))
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.weight.data))
        ref.bias.copy_(torch.tensor(layer.bias.data))
    x = np.random.default_rng(2).standard_normal((4, 3, 11, 8)).astype(np.float32)
    xt = dg.tensor(x, requires_grad=True)
    y = layer(xt)
    (y * y).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    ty = ref(tx)
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.weight.grad.data, ref.weight.grad.numpy(), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(layer.bias.grad.data, ref.bias.grad.numpy(), rtol=1e-4,
                               atol=1e-4)


def test_conv_batchnorm_relu_pool_stack_matches_torch():
    torch = pytest.importorskip("torch")
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, generator=3), nn.BatchNorm2d(4),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 3, 3, generator=4),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten())
    ref = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                              torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 3, 3),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    with torch.no_grad():
        for (_, p), (_, q) in zip(model.named_parameters(), ref.named_parameters()):
            q.copy_(torch.tensor(p.data))
    x = np.random.default_rng(5).standard_normal((6, 2, 8, 8)).astype(np.float32)
    y = model(dg.tensor(x))
    ty = ref(torch.tensor(x))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    for (name, p), (_, q) in zip(model.named_parameters(), ref.named_parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-3, atol=1e-5,
                                   err_msg=name)


def test_conv2d_gradcheck_through_the_module():
    layer = nn.Conv2d(2, 2, 3, stride=2, padding=1, generator=0).double()
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 4))
    assert dg.autograd.gradcheck(lambda t, w, b: F.conv2d(t, w, b, 2, 1),
                                 [dg.tensor(x, requires_grad=True),
                                  dg.tensor(layer.weight.data, requires_grad=True),
                                  dg.tensor(layer.bias.data, requires_grad=True)])


def test_conv2d_repr():
    assert repr(nn.Conv2d(1, 20, 5)) == "Conv2d(1, 20, kernel_size=(5, 5), stride=(1, 1))"
    text = repr(nn.Conv2d(3, 8, 3, stride=2, padding=1, dilation=2, bias=False))
    assert text == ("Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
                    "dilation=(2, 2), bias=False)")


# --- errors -------------------------------------------------------------------------------------
def test_conv2d_wrong_input_shape_names_the_layer_and_both_shapes():
    layer = nn.Conv2d(in_channels=1, out_channels=20, kernel_size=5)
    expected = ("Conv2d(in_channels=1, out_channels=20, kernel_size=(5, 5)): expected input of "
                "shape (N, 1, H, W), got (32, 28, 28)")
    with pytest.raises(ValueError, match=re.escape(expected)):
        layer(_images((32, 28, 28)))
    with pytest.raises(ValueError, match=re.escape("expected input of shape (N, 1, H, W), "
                                                   "got (32, 3, 28, 28)")):
        layer(_images((32, 3, 28, 28)))


def test_conv2d_kernel_larger_than_padded_input_names_both_sizes():
    layer = nn.Conv2d(1, 2, kernel_size=5, padding=1)
    with pytest.raises(ValueError) as info:
        layer(_images((2, 1, 2, 3)))
    message = str(info.value)
    assert message.startswith("Conv2d(in_channels=1, out_channels=2, kernel_size=(5, 5)): ")
    assert "kernel size (5, 5)" in message and "padded input size (4, 5)" in message
    assert "input (2, 3)" in message and "(1, 1) on each side" in message
    with pytest.raises(ValueError, match=re.escape("spanning (5, 5) with dilation (2, 2)")):
        F.conv2d(_images((1, 1, 4, 4)), _images((1, 1, 3, 3)), dilation=2)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(stride=0), "stride must be a positive integer or a pair"),
    (dict(stride=(1, -2)), "stride must be a positive integer or a pair"),
    (dict(stride=1.5), "got 1.5"),
    (dict(padding=-1), "padding must be a non-negative integer or a pair"),
    (dict(padding=(1, 2, 3)), "got (1, 2, 3)"),
    (dict(padding="full"), "padding must be an int, a pair, 'valid' or 'same', got 'full'"),
    (dict(padding="same", stride=2), "padding='same' needs stride 1"),
    (dict(dilation=0), "dilation must be a positive integer"),
    (dict(kernel_size=0), "kernel_size must be a positive integer"),
])
def test_conv2d_bad_hyperparameters(kwargs, fragment):
    arguments = dict(in_channels=1, out_channels=2, kernel_size=3)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        nn.Conv2d(**arguments)


def test_conv2d_bad_channel_counts():
    with pytest.raises(ValueError, match="in_channels must be a positive integer, got 0"):
        nn.Conv2d(0, 2, 3)
    with pytest.raises(ValueError, match="out_channels must be a positive integer, got 2.0"):
        nn.Conv2d(1, 2.0, 3)


def test_functional_conv2d_errors():
    x, w = _images((2, 3, 8, 8)), _images((4, 2, 3, 3))
    with pytest.raises(ValueError, match=re.escape("conv2d: input has 3 channels (shape "
                                                   "(2, 3, 8, 8)) but the weight of shape "
                                                   "(4, 2, 3, 3) expects 2")):
        F.conv2d(x, w)
    with pytest.raises(ValueError, match=re.escape("bias must have shape (4,)")):
        F.conv2d(_images((2, 2, 8, 8)), w, _images((3,)))
    with pytest.raises(ValueError, match=re.escape("weight must have shape (C_out, C_in, KH, "
                                                   "KW), got (4, 18)")):
        F.conv2d(x, _images((4, 18)))
    with pytest.raises(ValueError, match=re.escape("stride must be a positive integer or a "
                                                   "pair of positive integers (height, width),"
                                                   " got 0")):
        F.conv2d(_images((2, 2, 8, 8)), w, stride=0)


def test_pool_errors():
    with pytest.raises(ValueError, match=re.escape("MaxPool2d: padding (2, 2) must be at most "
                                                   "half of kernel_size (3, 3)")):
        nn.MaxPool2d(3, padding=2)
    with pytest.raises(ValueError, match=re.escape("AvgPool2d: stride must be a positive")):
        nn.AvgPool2d(2, stride=0)
    with pytest.raises(ValueError, match=re.escape("MaxPool2d(kernel_size=(4, 4), stride=(4, 4))"
                                                   ": kernel size (4, 4) is larger than the "
                                                   "padded input size (3, 5)")):
        nn.MaxPool2d(4)(_images((1, 2, 3, 5)))
    with pytest.raises(ValueError, match=re.escape("max_pool2d: expected input of shape "
                                                   "(N, C, H, W), got (2, 5, 5)")):
        F.max_pool2d(_images((2, 5, 5)), 2)
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d: output_size must be a positive"):
        nn.AdaptiveAvgPool2d(0)


# --- pooling layers -----------------------------------------------------------------------------
@pytest.mark.parametrize("layer, torch_name, torch_kwargs, shape", [
    (nn.MaxPool2d(2), "MaxPool2d", dict(kernel_size=2), (2, 3, 8, 7)),
    (nn.MaxPool2d(3, stride=2, padding=1), "MaxPool2d",
     dict(kernel_size=3, stride=2, padding=1), (2, 3, 9, 8)),
    (nn.AvgPool2d((2, 3), stride=1), "AvgPool2d", dict(kernel_size=(2, 3), stride=1),
     (1, 2, 5, 6)),
    (nn.AvgPool2d(3, stride=2, padding=1), "AvgPool2d",
     dict(kernel_size=3, stride=2, padding=1), (2, 2, 7, 7)),
    (nn.AdaptiveAvgPool2d((3, None)), "AdaptiveAvgPool2d", dict(output_size=(3, None)),
     (2, 2, 7, 5)),
    (nn.AdaptiveAvgPool2d(1), "AdaptiveAvgPool2d", dict(output_size=1), (2, 4, 5, 5)),
])
def test_pool_layers_match_torch(layer, torch_name, torch_kwargs, shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(6).standard_normal(shape).astype(np.float32)
    xt = dg.tensor(x, requires_grad=True)
    y = layer(xt)
    (y * y).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch.nn, torch_name)(**torch_kwargs)(tx)
    (ty * ty).sum().backward()
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_global_avg_pool_layer_drops_the_spatial_axes():
    x = _images((3, 4, 5, 6))
    y = nn.GlobalAvgPool2d()(x)
    assert y.shape == (3, 4)
    np.testing.assert_allclose(y.data, x.data.mean(axis=(2, 3)), rtol=1e-6)
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x).data.reshape(3, 4), y.data, rtol=1e-6)


def test_pool_layers_have_no_parameters_and_informative_repr():
    assert nn.MaxPool2d(2).num_parameters() == 0
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    assert repr(nn.AvgPool2d(3, 1, 1)) == \
        "AvgPool2d(kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(nn.AdaptiveAvgPool2d(1)) == "AdaptiveAvgPool2d(output_size=(1, 1))"
