"""Preprocessing: standardization fitted on training data, label checks, one-hot encoding."""

from __future__ import annotations

import numbers

import numpy as np

from deepgrad.data.dataset import Dataset, TensorDataset, check_finite, dataset_arrays
from deepgrad.tensor import Tensor


def _values(data) -> np.ndarray:
    return data.data if isinstance(data, Tensor) else np.asarray(data)


def check_labels(labels, num_classes: int, name: str = "labels") -> np.ndarray:
    """Validate class labels and return them as an int64 array.

    Labels must have an integer dtype and lie in [0, num_classes); the error names the first
    offending label and its index.
    """
    if not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"check_labels: num_classes must be a positive integer, got "
                         f"{num_classes!r}")
    values = _values(labels)
    if values.dtype.kind not in "iu":
        hint = (" (one-hot rows or probabilities? pass class indices, e.g. argmax over the "
                "last axis)" if values.dtype.kind == "f" else "")
        raise TypeError(f"{name}: class labels must have an integer dtype, got "
                        f"{values.dtype}{hint}")
    bad = (values < 0) | (values >= num_classes)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = index[0] if len(index) == 1 else index
        raise ValueError(f"{name}: label {values[index]} at index {where} is outside "
                         f"[0, {num_classes}) for num_classes={num_classes}")
    return values.astype(np.int64, copy=False)


def one_hot(labels, num_classes: int, dtype=np.float32):
    """One-hot rows: out[..., k] = 1 if labels[...] == k else 0, shape labels.shape + (K,).

    Returns a Tensor for a Tensor input, else an ndarray.
    """
    values = check_labels(labels, num_classes)
    out = np.zeros(values.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, values[..., None], 1, axis=-1)
    return Tensor._wrap(out) if isinstance(labels, Tensor) else out


class Standardize:
    """Per-feature standardization  x' = (x - mean) / std,  fitted on the training split only.

    `mean` and `std` (population standard deviation) are computed over `axis` (default 0,
    the samples: one statistic per feature; use axis=(0, 2, 3) for per-channel statistics of
    images). A feature whose std is below `eps` (constant on the training data) gets std 1,
    so it maps to 0 rather than to NaN.

    `fit`, `transform` and `inverse_transform` accept ndarrays, Tensors (returned as Tensors)
    or datasets (the first field is standardized, a TensorDataset is returned).
    """

    def __init__(self, axis=0, eps: float = 1e-8):
        self.axis = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
        self.eps = float(eps)
        self.mean = None
        self.std = None

    def _axes(self, ndim: int):
        if any(not isinstance(a, numbers.Integral) or not -ndim <= a < ndim for a in self.axis):
            return None
        return tuple(sorted({int(a) % ndim for a in self.axis}))

    def fit(self, data) -> "Standardize":
        x = dataset_arrays(data)[0] if isinstance(data, Dataset) else _values(data)
        if x.dtype.kind not in "fiu":
            raise TypeError(f"Standardize.fit: expected numbers, got dtype {x.dtype}")
        axes = self._axes(x.ndim)
        if axes is None or not x.size:
            raise ValueError(f"Standardize.fit: axis {self.axis} does not fit data of shape "
                             f"{x.shape}, or the data is empty")
        check_finite(x, "Standardize.fit")
        x = x.astype(np.float64)
        self.mean = x.mean(axis=axes, keepdims=True)
        std = x.std(axis=axes, keepdims=True)
        self.std = np.where(std < self.eps, 1.0, std)
        return self

    def _check(self, x: np.ndarray, owner: str) -> None:
        if self.mean is None:
            raise RuntimeError(f"Standardize.{owner}: call fit(training_data) first")
        ok = x.ndim == self.mean.ndim and all(
            m == 1 or m == s for m, s in zip(self.mean.shape, x.shape))
        if not ok:
            raise ValueError(f"Standardize.{owner}: the statistics fitted have shape "
                             f"{self.mean.shape} (1 = reduced axis) and do not match data of "
                             f"shape {x.shape}")

    def _apply(self, data, fn, owner: str):
        if isinstance(data, Dataset):
            arrays = dataset_arrays(data)
            return TensorDataset(self._apply(arrays[0], fn, owner), *arrays[1:])
        x = _values(data)
        self._check(x, owner)
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
        out = fn(x, self.mean.astype(dtype), self.std.astype(dtype)).astype(dtype, copy=False)
        return Tensor._wrap(out) if isinstance(data, Tensor) else out

    def transform(self, data):
        """(x - mean) / std with the fitted statistics."""
        return self._apply(data, lambda x, m, s: (x - m) / s, "transform")

    def fit_transform(self, data):
        return self.fit(data).transform(data)

    def inverse_transform(self, data):
        """x' * std + mean: back to the original units."""
        return self._apply(data, lambda x, m, s: x * s + m, "inverse_transform")

    def state_dict(self) -> dict:
        """{"mean", "std"}: float64 arrays (keepdims shape), for checkpoints."""
        if self.mean is None:
            raise RuntimeError("Standardize.state_dict: not fitted yet")
        return {"mean": self.mean.copy(), "std": self.std.copy()}

    def load_state_dict(self, state: dict) -> None:
        mean, std = np.asarray(state["mean"], np.float64), np.asarray(state["std"], np.float64)
        if mean.shape != std.shape:
            raise ValueError(f"Standardize.load_state_dict: mean shape {mean.shape} differs "
                             f"from std shape {std.shape}")
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise ValueError("Standardize.load_state_dict: mean and std must be finite and "
                             "std positive")
        self.mean, self.std = mean, std

    def __repr__(self):
        fitted = "unfitted" if self.mean is None else f"fitted, shape {self.mean.shape}"
        return f"Standardize(axis={self.axis}, {fitted})"
