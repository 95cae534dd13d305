"""Dropout (inverted) and GaussianNoise: drop rate, scaling, eval identity, reproducible masks,
gradient = mask / (1 - p), errors."""

import math

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.autograd import gradcheck
from deepgrad.nn import functional as F


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_training_drops_about_p_and_scales_survivors(p):
    n = 200 * 500
    y = nn.Dropout(p, generator=0)(dg.ones(200, 500)).data
    dropped = int((y == 0).sum())
    assert abs(dropped - p * n) < 4 * math.sqrt(n * p * (1 - p))  # within 4 binomial std
    survivors = y[y != 0]
    np.testing.assert_array_equal(survivors, np.float32(1 / (1 - p)))
    assert survivors.size + dropped == n
    assert abs(y.mean() - 1) < 4 * math.sqrt(p / ((1 - p) * n))  # E[y] = x


def test_eval_mode_and_p_zero_are_identity():
    x = dg.randn(4, 5, generator=1)
    layer = nn.Dropout(0.5)
    assert layer.eval()(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert F.dropout(x, 0.7, training=False) is x
    model = nn.Sequential(nn.Linear(5, 3), nn.Dropout(0.9))
    model.eval()
    np.testing.assert_array_equal(model(x).data, model[0](x).data)
    model.train()
    assert (model(x).data == 0).sum() > 0


def test_same_seed_same_masks():
    x = dg.ones(50, 40)
    a, b = nn.Dropout(0.5, generator=7), nn.Dropout(0.5, generator=7)
    first, second = a(x).data, a(x).data
    np.testing.assert_array_equal(first, b(x).data)
    np.testing.assert_array_equal(second, b(x).data)
    assert not np.array_equal(first, second)  # the layer's stream advances
    np.testing.assert_array_equal(F.dropout(x, 0.3, generator=5).data,
                                  F.dropout(x, 0.3, generator=5).data)
    unseeded = nn.Dropout(0.5)  # draws from the default generator at call time
    dg.manual_seed(3)
    c = unseeded(x).data
    dg.manual_seed(3)
    np.testing.assert_array_equal(unseeded(x).data, c)


def test_gradient_equals_mask_over_keep_probability():
    p = 0.3
    x = dg.tensor(np.random.default_rng(2).uniform(0.5, 2.0, (30, 20)), dtype="float32",
                  requires_grad=True)
    y = F.dropout(x, p, generator=4)
    upstream = np.random.default_rng(3).standard_normal((30, 20)).astype(np.float32)
    y.backward(dg.tensor(upstream))
    scaled_mask = (y.data != 0) * np.float32(1 / (1 - p))  # the mask times 1 / (1 - p)
    assert abs((y.data == 0).mean() - p) < 0.1
    np.testing.assert_array_equal(x.grad.data, upstream * scaled_mask)
    np.testing.assert_array_equal(y.data, x.data * scaled_mask)
    # reverse, forward and dot-product test with a fixed mask (an int seed redraws it each call)
    assert gradcheck(lambda t: F.dropout(t, p, generator=9),
                     [dg.tensor(np.random.default_rng(4).standard_normal((4, 5)))]) is True


def test_dropout_with_p_one_gives_zeros_and_zero_gradients_as_pytorch():
    x = dg.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    y = F.dropout(x, 1.0)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), 0.0)
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)
    np.testing.assert_array_equal(nn.Dropout(1.0).eval()(x).numpy(), x.numpy())


def test_dropout_errors_name_p():
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=rf"Dropout: p \(the probability of dropping an "
                                             rf"entry\) must be in \[0, 1\], got p={bad}"):
            nn.Dropout(bad)
        with pytest.raises(ValueError, match=rf"dropout: p .* got p={bad}"):
            F.dropout(dg.ones(2), bad)
    with pytest.raises(TypeError, match="Dropout: p must be a real number, got str"):
        nn.Dropout("0.5")
    assert repr(nn.Dropout(0.25)) == "Dropout(p=0.25)"


def test_gaussian_noise_train_eval_gradient_and_seed():
    x = dg.zeros(200, 500, requires_grad=True)
    layer = nn.GaussianNoise(0.3, generator=0)
    y = layer(x)
    noise = y.data.astype(np.float64)
    assert abs(noise.std() / 0.3 - 1) < 0.02
    assert abs(noise.mean()) < 5 * 0.3 / math.sqrt(noise.size)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((200, 500), np.float32))
    np.testing.assert_array_equal(nn.GaussianNoise(0.3, generator=0)(x).data, y.data)
    assert layer.eval()(x) is x
    assert nn.GaussianNoise(0.0)(x) is x
    with pytest.raises(ValueError, match="GaussianNoise: std must be a non-negative number, "
                                         "got -1"):
        nn.GaussianNoise(-1)
    with pytest.raises(ValueError, match="gaussian_noise: std must be non-negative"):
        F.gaussian_noise(x, -0.5)
