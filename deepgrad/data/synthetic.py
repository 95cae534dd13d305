"""Small synthetic datasets for experiments and tests.

Every function takes the number of samples `n`, a noise level `noise` (the standard deviation
of Gaussian noise) and a `generator` (numpy Generator or int seed), and returns arrays
`(x, y)`: for classification `x` (n, 2) float32 and `y` (n,) int64; for regression `x` and
`y` both (n, 1) float32. Classes are as balanced as `n` allows (the first `n % K` classes get
one extra sample) and the samples are shuffled.
"""

from __future__ import annotations

import numbers

import numpy as np

from deepgrad.random import get_generator


def _check(name: str, n, noise) -> None:
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name}: n must be a positive integer, got {n!r}")
    if not isinstance(noise, numbers.Real) or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{name}: noise must be a finite number >= 0, got {noise!r}")


def _class_sizes(n: int, num_classes: int) -> list:
    return [n // num_classes + (k < n % num_classes) for k in range(num_classes)]


def _finish(x: np.ndarray, y: np.ndarray, noise: float, rng, dtype) -> tuple:
    if noise:
        x = x + rng.normal(0.0, noise, size=x.shape)
    order = rng.permutation(len(y))
    return x[order].astype(dtype), y[order].astype(np.int64)


def make_spirals(n: int = 300, num_classes: int = 3, noise: float = 0.2, generator=None,
                 dtype=np.float32) -> tuple:
    """K interleaved spiral arms in the plane, one class per arm.

    Sample j of arm k (t = (j + 1) / n_k in (0, 1]):  r = t,  angle = 4 t + 2 pi k / K
    (plus noise * N(0, 1) on the angle),  x = (r sin(angle), r cos(angle)).
    """
    _check("make_spirals", n, noise)
    if not isinstance(num_classes, numbers.Integral) or num_classes < 2:
        raise ValueError(f"make_spirals: num_classes must be an integer >= 2, got "
                         f"{num_classes!r}")
    rng = get_generator(generator)
    xs, ys = [], []
    for k, size in enumerate(_class_sizes(n, num_classes)):
        t = (np.arange(size) + 1.0) / size
        angle = 4.0 * t + 2.0 * np.pi * k / num_classes + noise * rng.normal(size=size)
        xs.append(np.stack([t * np.sin(angle), t * np.cos(angle)], axis=1))
        ys.append(np.full(size, k))
    return _finish(np.concatenate(xs), np.concatenate(ys), 0.0, rng, dtype)


def make_moons(n: int = 200, noise: float = 0.1, generator=None, dtype=np.float32) -> tuple:
    """Two interleaved half circles: class 0 is (cos t, sin t), class 1 is
    (1 - cos t, 0.5 - sin t), t uniform in [0, pi]; plus noise * N(0, I)."""
    _check("make_moons", n, noise)
    rng = get_generator(generator)
    n0, n1 = _class_sizes(n, 2)
    t0, t1 = rng.uniform(0, np.pi, n0), rng.uniform(0, np.pi, n1)
    x = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                        np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)])
    return _finish(x, np.repeat([0, 1], [n0, n1]), noise, rng, dtype)


def make_circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, generator=None,
                 dtype=np.float32) -> tuple:
    """Two concentric circles: class 0 of radius 1, class 1 of radius `factor` (< 1);
    angles uniform in [0, 2 pi); plus noise * N(0, I)."""
    _check("make_circles", n, noise)
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor (inner radius) must be in (0, 1), got {factor}")
    rng = get_generator(generator)
    n0, n1 = _class_sizes(n, 2)
    angle = rng.uniform(0, 2 * np.pi, n0 + n1)
    radius = np.repeat([1.0, factor], [n0, n1])
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1)
    return _finish(x, np.repeat([0, 1], [n0, n1]), noise, rng, dtype)


def make_xor(n: int = 200, noise: float = 0.1, generator=None, dtype=np.float32) -> tuple:
    """Points uniform in [-1, 1]^2 labelled y = [x1 * x2 < 0] (the XOR of the signs), with
    noise * N(0, I) added to the inputs after labelling."""
    _check("make_xor", n, noise)
    rng = get_generator(generator)
    x = rng.uniform(-1, 1, size=(n, 2))
    y = (x[:, 0] * x[:, 1] < 0).astype(np.int64)
    return _finish(x, y, noise, rng, dtype)


REGRESSION_TARGETS = {
    "abs": np.abs,
    "square": np.square,
    "sin": lambda x: np.sin(np.pi * x),
    "step": lambda x: (x > 0).astype(np.float64),
}


def make_regression_1d(n: int = 200, target: str = "sin", noise: float = 0.0, generator=None,
                       low: float = -1.0, high: float = 1.0, dtype=np.float32) -> tuple:
    """x uniform in [low, high], y = f(x) + noise * N(0, 1), both of shape (n, 1).

    Targets f: "abs" |x|, "square" x^2, "sin" sin(pi x), "step" 1 if x > 0 else 0.
    """
    _check("make_regression_1d", n, noise)
    if target not in REGRESSION_TARGETS:
        raise ValueError(f"make_regression_1d: target must be one of "
                         f"{sorted(REGRESSION_TARGETS)}, got {target!r}")
    if not low < high:
        raise ValueError(f"make_regression_1d: need low < high, got low={low}, high={high}")
    rng = get_generator(generator)
    x = rng.uniform(low, high, size=(n, 1))
    y = REGRESSION_TARGETS[target](x)
    if noise:
        y = y + rng.normal(0.0, noise, size=y.shape)
    return x.astype(dtype), y.astype(dtype)
