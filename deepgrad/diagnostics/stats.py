"""Statistics of recorded arrays: moments, zeros, saturation, histograms, update ratios.

These are diagnostics computed on copies of activations, gradients and weights (plain NumPy
arrays, never part of a graph), so NumPy is used directly here.

Saturation thresholds (documented in docs/diagnostics.md):

* tanh: a value is saturated when |tanh(z)| > 0.99 (then 1 - y^2 < 0.02: the local gradient
  has lost more than 98 % of its maximum 1);
* sigmoid: a value is saturated when sigma(z) < 0.01 or sigma(z) > 0.99 (then
  sigma (1 - sigma) < 0.0099, against a maximum of 0.25).
"""

from __future__ import annotations

import numpy as np

from deepgrad import registry

TANH_SATURATION = 0.99
SIGMOID_SATURATION = (0.01, 0.99)
DEFAULT_BINS = 50


def activation_kind(module) -> str | None:
    """'tanh', 'sigmoid', 'relu' (the ReLU family) or None: the `family` the module's class
    was registered with (deepgrad.registry)."""
    return registry.info(module).get("family")


def is_activation(module) -> bool:
    """An activation of a known family (the ones whose statistics the doctor interprets)."""
    return activation_kind(module) is not None


def fraction_saturated(values: np.ndarray, kind: str | None) -> float:
    """Fraction of entries in the flat region of tanh (|y| > 0.99) or sigmoid (y outside
    [0.01, 0.99]); NaN for other kinds, where saturation is not defined."""
    values = np.asarray(values)
    if values.size == 0 or kind not in ("tanh", "sigmoid"):
        return float("nan")
    if kind == "tanh":
        return float(np.mean(np.abs(values) > TANH_SATURATION))
    low, high = SIGMOID_SATURATION
    return float(np.mean((values < low) | (values > high)))


def summarize(values, kind: str | None = None) -> dict:
    """mean, std (population, ddof=0), min, max, norm (Euclidean), rms = norm / sqrt(size),
    frac_zero (entries exactly 0), frac_saturated (see the module docstring), size."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError("summarize: got an empty array")
    # a diverged network's inf/NaN values give NaN statistics, which the doctor reports
    with np.errstate(over="ignore", invalid="ignore"):
        return _summarize(values, kind)


def _summarize(values, kind):
    norm = float(np.sqrt(np.sum(values * values)))
    return {
        "mean": float(np.mean(values)),
        "std": float(np.std(values)),
        "min": float(np.min(values)),
        "max": float(np.max(values)),
        "norm": norm,
        "rms": norm / np.sqrt(values.size),
        "frac_zero": float(np.mean(values == 0)),
        "frac_saturated": fraction_saturated(values, kind),
        "size": int(values.size),
    }


def histogram_range(values, kind: str | None = None) -> tuple:
    """Fixed bin range for bounded activations: (-1, 1) for tanh, (0, 1) for sigmoid;
    otherwise the data's own (min, max), widened when all values are equal."""
    if kind == "tanh":
        return (-1.0, 1.0)
    if kind == "sigmoid":
        return (0.0, 1.0)
    values = np.asarray(values)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (-1.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    return (low, high)


def histogram(values, bins: int = DEFAULT_BINS, range=None, kind: str | None = None) -> tuple:
    """(counts, edges) of np.histogram with `bins` equal bins on `range` (default:
    `histogram_range`); non-finite entries are left out."""
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if range is None:
        range = histogram_range(values, kind)
    counts, edges = np.histogram(values, bins=bins, range=range)
    return counts, edges


def dead_units(values, threshold: float = 0.0) -> np.ndarray:
    """Boolean mask of units (all axes but the batch axis 0) never above `threshold` on the
    batch: a ReLU unit that is never positive passes no gradient."""
    values = np.asarray(values)
    if values.ndim < 2:
        raise ValueError(f"dead_units: expected (batch, units...) values, got shape "
                         f"{values.shape}")
    return np.all(values <= threshold, axis=0)


def update_ratio(before, after) -> float:
    """||w_after - w_before|| / ||w_before||, the relative size of one update (about 1e-3 is
    the usual healthy value for SGD); inf when w_before is all zeros and w moved."""
    before = np.asarray(before, dtype=np.float64)
    after = np.asarray(after, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        step = float(np.linalg.norm(after - before))
        size = float(np.linalg.norm(before))
    if size == 0.0:
        return 0.0 if step == 0.0 else float("inf")
    return step / size
