import numpy as np
import pytest

from deepgrad.data import make_circles, make_moons, make_regression_1d, make_spirals, make_xor

CLASSIFIERS = [
    lambda **kw: make_spirals(num_classes=4, **kw),
    make_moons, make_circles, make_xor,
]


@pytest.mark.parametrize("make", CLASSIFIERS)
def test_shapes_dtypes_seed(make):
    x, y = make(n=103, noise=0.1, generator=5)
    assert x.shape == (103, 2) and x.dtype == np.float32
    assert y.shape == (103,) and y.dtype == np.int64
    x2, y2 = make(n=103, noise=0.1, generator=5)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = make(n=103, noise=0.1, generator=6)
    assert not np.allclose(x, x3)


def test_spirals_balanced_and_on_arms():
    x, y = make_spirals(n=302, num_classes=3, noise=0.0, generator=0)
    np.testing.assert_array_equal(np.bincount(y), [101, 101, 100])
    r = np.linalg.norm(x, axis=1)
    assert 0 < r.min() and r.max() <= 1 + 1e-6
    # without noise each point sits at angle 4 r + 2 pi k / K (measured from the y-axis)
    angle = np.arctan2(x[:, 0], x[:, 1])
    expected = 4 * r + 2 * np.pi * y / 3
    np.testing.assert_allclose(np.angle(np.exp(1j * (angle - expected))), 0, atol=1e-5)


def test_moons_noise_free_geometry():
    x, y = make_moons(n=200, noise=0.0, generator=1)
    np.testing.assert_array_equal(np.bincount(y), [100, 100])
    upper, lower = x[y == 0].astype(np.float64), x[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, atol=1e-6)


def test_circles_radii():
    x, y = make_circles(n=101, noise=0.0, factor=0.3, generator=2)
    r = np.hypot(*x.astype(np.float64).T)
    np.testing.assert_allclose(r[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.3, atol=1e-6)
    with pytest.raises(ValueError, match="factor"):
        make_circles(n=10, factor=1.5)


def test_xor_labels_are_sign_xor_without_noise():
    x, y = make_xor(n=500, noise=0.0, generator=3)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(np.int64))
    assert 200 < y.sum() < 300


@pytest.mark.parametrize("target,f", [("abs", np.abs), ("square", np.square),
                                      ("sin", lambda v: np.sin(np.pi * v)),
                                      ("step", lambda v: (v > 0).astype(float))])
def test_regression_targets(target, f):
    x, y = make_regression_1d(n=50, target=target, noise=0.0, generator=4)
    assert x.shape == (50, 1) and y.shape == (50, 1) and y.dtype == np.float32
    assert -1 <= x.min() and x.max() <= 1
    np.testing.assert_allclose(y, f(x.astype(np.float64)), atol=1e-6)


def test_regression_noise_level():
    x, y = make_regression_1d(n=20000, target="square", noise=0.1, generator=0)
    residual = y.astype(np.float64) - np.square(x.astype(np.float64))
    np.testing.assert_allclose(residual.std(), 0.1, rtol=0.03)
    np.testing.assert_allclose(residual.mean(), 0.0, atol=0.005)


def test_argument_errors():
    with pytest.raises(ValueError, match="n must be a positive integer"):
        make_moons(n=0)
    with pytest.raises(ValueError, match="noise must be a finite number"):
        make_xor(n=5, noise=-1)
    with pytest.raises(ValueError, match="target must be one of"):
        make_regression_1d(n=5, target="cube")
    with pytest.raises(ValueError, match="num_classes"):
        make_spirals(n=5, num_classes=1)
