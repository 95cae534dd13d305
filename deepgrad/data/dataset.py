"""Datasets: indexable collections of samples.

A dataset maps an index `i` in `[0, len(dataset))` to one sample, a tuple of Tensors
(typically `(features, label)`). `TensorDataset` keeps whole arrays in memory and can also hand
out a batch in one fancy-indexing step (`get_batch`), which `DataLoader` uses as its fast path.
"""

from __future__ import annotations

import numbers

import numpy as np

from deepgrad.tensor import Tensor


class Dataset:
    """Base class: subclasses define `__len__` and `__getitem__(index) -> tuple of Tensors`.

    A subclass may also define `get_batch(indices) -> tuple of Tensors` to build a whole batch
    at once; `DataLoader` then skips its per-sample loop.
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


def _check_index(index, length: int, owner: str) -> int:
    if not isinstance(index, numbers.Integral) or isinstance(index, bool):
        raise TypeError(f"{owner}: index must be an integer, got {type(index).__name__}")
    if not -length <= index < length:
        raise IndexError(f"{owner}: index {index} is out of range for a dataset of "
                         f"{length} samples")
    return int(index) % length


def _check_indices(indices, length: int, owner: str) -> np.ndarray:
    indices = np.asarray(indices)
    if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
        raise TypeError(f"{owner}: indices must be a 1-D integer array, got dtype "
                        f"{indices.dtype} and shape {indices.shape}")
    indices = indices.astype(np.int64, copy=False)
    if indices.size and (indices.min() < -length or indices.max() >= length):
        bad = indices[(indices < -length) | (indices >= length)][0]
        raise IndexError(f"{owner}: index {bad} is out of range for a dataset of "
                         f"{length} samples")
    return indices


def as_array(value, name: str = "array") -> np.ndarray:
    """`value` (a Tensor, ndarray or nested list) as an ndarray with deepgrad's data dtypes:
    floats become float32 unless they are float64; integers and booleans become int64."""
    array = value.data if isinstance(value, Tensor) else np.asarray(value)
    if array.dtype.kind == "f":
        return array if array.dtype in (np.float32, np.float64) else array.astype(np.float32)
    if array.dtype.kind in "iub":
        return array.astype(np.int64, copy=False)
    raise TypeError(f"{name}: expected numbers (float, int or bool), got dtype {array.dtype}")


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise ValueError naming `name` and the first non-finite entry of a float array."""
    if array.dtype.kind != "f" or np.isfinite(array).all():
        return
    bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
    raise ValueError(f"{name}: contains {array[bad]} at index {bad} (sample {bad[0]}); "
                     "NaN and inf values would silently poison training, clean or drop them")


_check_finite = check_finite  # TensorDataset's keyword argument shadows the function's name


class TensorDataset(Dataset):
    """Samples are the rows (first-axis slices) of one or more arrays of equal length.

    `TensorDataset(x, y)[i] == (Tensor(x[i]), Tensor(y[i]))`. Float arrays are stored as
    float32 unless they are float64; integer and boolean arrays (labels) as int64. Arrays that
    already have these dtypes are shared, not copied.

    Args:
        *arrays: Tensors, ndarrays or nested lists, all with the same first dimension.
        check_finite: reject NaN and inf in float arrays (on by default).
    """

    def __init__(self, *arrays, check_finite: bool = True):
        if not arrays:
            raise ValueError("TensorDataset: expected at least one array, got none")
        converted = []
        for position, value in enumerate(arrays):
            name = f"TensorDataset: array {position}"
            array = as_array(value, name)
            if array.ndim == 0:
                raise ValueError(f"{name} is a scalar; each array needs a first (sample) "
                                 "dimension")
            converted.append(array)
        lengths = [a.shape[0] for a in converted]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: all arrays must have the same first dimension "
                             f"(number of samples), got lengths {lengths}")
        if lengths[0] == 0:
            raise ValueError("TensorDataset: the arrays are empty (0 samples)")
        if check_finite:
            for position, array in enumerate(converted):
                _check_finite(array, f"TensorDataset: array {position}")
        self.arrays = tuple(converted)

    @property
    def tensors(self) -> tuple:
        """The stored arrays as Tensors (sharing memory)."""
        return tuple(Tensor._wrap(a) for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index) -> tuple:
        i = _check_index(index, len(self), "TensorDataset")
        return tuple(Tensor._wrap(np.array(a[i])) for a in self.arrays)

    def get_batch(self, indices) -> tuple:
        """The samples at `indices` stacked along a new first axis, one fancy-index per array."""
        indices = _check_indices(indices, len(self), "TensorDataset.get_batch")
        return tuple(Tensor._wrap(a[indices]) for a in self.arrays)

    def __repr__(self):
        shapes = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"TensorDataset({len(self)} samples: {shapes})"


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order: `Subset(d, idx)[j] = d[idx[j]]`."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = _check_indices(indices, len(dataset), "Subset")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[_check_index(index, len(self), "Subset")])]

    def get_batch(self, indices) -> tuple:
        indices = _check_indices(indices, len(self), "Subset.get_batch")
        return get_batch(self.dataset, self.indices[indices])

    def __repr__(self):
        return f"Subset({len(self)} of {len(self.dataset)} samples)"


def _collate_field(values: list, position: int) -> Tensor:
    arrays = [v.data if isinstance(v, Tensor) else np.asarray(v) for v in values]
    try:
        stacked = np.stack(arrays)
    except ValueError:
        shapes = sorted({a.shape for a in arrays}, key=str)
        raise ValueError(f"DataLoader: field {position} of the samples has different shapes "
                         f"{shapes} across one batch; they cannot be stacked") from None
    return Tensor._wrap(as_array(stacked, f"DataLoader: field {position}"))


def get_batch(dataset, indices) -> tuple:
    """The samples of `dataset` at `indices` as a tuple of batched Tensors.

    Uses `dataset.get_batch` when it exists (one fancy-index per array); otherwise calls
    `dataset[i]` for each index and stacks each field (floats to float32 unless float64,
    integers to int64).
    """
    if hasattr(dataset, "get_batch"):
        return dataset.get_batch(indices)
    samples = [dataset[int(i)] for i in indices]
    if not samples:
        raise ValueError("get_batch: no indices given")
    if not isinstance(samples[0], tuple):
        return (_collate_field(samples, 0),)
    return tuple(_collate_field([s[k] for s in samples], k) for k in range(len(samples[0])))


def dataset_arrays(dataset) -> tuple:
    """Every sample of `dataset` as a tuple of ndarrays (one per field), in index order."""
    if isinstance(dataset, TensorDataset):
        return dataset.arrays
    if len(dataset) == 0:
        raise ValueError("dataset_arrays: the dataset is empty")
    return tuple(t.data for t in get_batch(dataset, np.arange(len(dataset))))
