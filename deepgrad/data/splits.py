"""Seeded splits of a dataset: random splits, train/validation/test, k-fold, bootstrap."""

from __future__ import annotations

import math
import numbers

import numpy as np

from deepgrad.data.dataset import Subset
from deepgrad.random import get_generator


def _count(data, owner: str) -> int:
    if isinstance(data, numbers.Integral) and not isinstance(data, bool):
        n = int(data)
    elif hasattr(data, "__len__"):
        n = len(data)
    else:
        raise TypeError(f"{owner}: expected a dataset, an array or a sample count, got "
                        f"{type(data).__name__}")
    if n < 1:
        raise ValueError(f"{owner}: need at least one sample, got {n}")
    return n


def split_lengths(n: int, lengths) -> list:
    """Sample counts of the parts of an n-sample split.

    `lengths` are either counts summing to n, or fractions summing to 1: part i then gets
    floor(n * f_i) samples and the n - sum(floor) left over go one each to the first parts.
    """
    lengths = list(lengths)
    if not lengths:
        raise ValueError("split_lengths: lengths is empty")
    if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in lengths):
        if any(v < 0 for v in lengths) or sum(lengths) != n:
            raise ValueError(f"split_lengths: counts {lengths} must be >= 0 and sum to the "
                             f"number of samples {n} (they sum to {sum(lengths)})")
        return [int(v) for v in lengths]
    if any(not isinstance(v, numbers.Real) or not 0 <= v <= 1 for v in lengths) \
            or not math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
        raise ValueError(f"split_lengths: fractions {lengths} must lie in [0, 1] and sum to 1 "
                         f"(they sum to {sum(lengths)}); or pass integer counts summing to {n}")
    counts = [int(math.floor(n * f)) for f in lengths]
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def split_indices(n: int, lengths, generator=None) -> list:
    """A random permutation of range(n) cut into parts of `split_lengths(n, lengths)`."""
    counts = split_lengths(n, lengths)
    order = get_generator(generator).permutation(n)
    return np.split(order, np.cumsum(counts)[:-1])


def random_split(dataset, lengths, generator=None) -> list:
    """Disjoint random Subsets of `dataset` with the given counts or fractions."""
    n = _count(dataset, "random_split")
    return [Subset(dataset, idx) for idx in split_indices(n, lengths, generator)]


def train_val_test_split(dataset, val_size=0.1, test_size=0.1, generator=None) -> tuple:
    """Split into (train, validation, test) at random; train gets what val and test leave.

    Args:
        dataset: a Dataset (returns Subsets) or a sample count n (returns index arrays).
        val_size, test_size: fractions of the samples (floats in [0, 1)) or counts (ints).
        generator: a numpy Generator or an int seed.
    """
    n = _count(dataset, "train_val_test_split")
    sizes = []
    for name, size in (("val_size", val_size), ("test_size", test_size)):
        if isinstance(size, numbers.Integral) and not isinstance(size, bool):
            count = int(size)
        elif isinstance(size, numbers.Real) and 0 <= size < 1:
            count = int(round(n * size))
        else:
            raise ValueError(f"train_val_test_split: {name} must be a fraction in [0, 1) or a "
                             f"count, got {size!r}")
        sizes.append(count)
    if min(sizes) < 0 or sum(sizes) >= n:
        raise ValueError(f"train_val_test_split: validation ({sizes[0]}) and test ({sizes[1]}) "
                         f"samples leave no training samples out of {n}")
    parts = split_indices(n, [n - sum(sizes)] + sizes, generator)
    if isinstance(dataset, numbers.Integral):
        return tuple(parts)
    return tuple(Subset(dataset, idx) for idx in parts)


class KFold:
    """K-fold cross-validation: `split(data)` yields `(train_idx, val_idx)` K times.

    The samples (shuffled first when `shuffle=True`) are cut into K contiguous folds, the
    first n % K of them one sample larger; fold k is the validation set of round k and the
    other folds form its training set. Every sample is validated exactly once.
    """

    def __init__(self, n_splits: int = 5, shuffle: bool = False, generator=None):
        if not isinstance(n_splits, numbers.Integral) or n_splits < 2:
            raise ValueError(f"KFold: n_splits must be an integer >= 2, got {n_splits!r}")
        self.n_splits = int(n_splits)
        self.shuffle = bool(shuffle)
        self.generator = generator

    def get_n_splits(self) -> int:
        return self.n_splits

    def split(self, data):
        """Yield (train_idx, val_idx) int64 arrays for a dataset, array or sample count."""
        n = _count(data, "KFold.split")
        if n < self.n_splits:
            raise ValueError(f"KFold: cannot make {self.n_splits} folds of {n} samples")
        order = get_generator(self.generator).permutation(n) if self.shuffle else np.arange(n)
        sizes = [n // self.n_splits + (k < n % self.n_splits) for k in range(self.n_splits)]
        folds = np.split(order, np.cumsum(sizes)[:-1])
        for k, val_idx in enumerate(folds):
            train_idx = np.concatenate([f for j, f in enumerate(folds) if j != k])
            yield train_idx.astype(np.int64), val_idx.astype(np.int64)

    def __repr__(self):
        return f"KFold(n_splits={self.n_splits}, shuffle={self.shuffle})"


def bootstrap_indices(n: int, generator=None) -> np.ndarray:
    """n indices drawn uniformly with replacement from range(n) (a bootstrap resample);
    about 1 - 1/e = 63.2% of the samples appear at least once."""
    n = _count(n, "bootstrap_indices")
    return get_generator(generator).integers(0, n, size=n, dtype=np.int64)


def out_of_bag_indices(indices, n: int) -> np.ndarray:
    """The indices of range(n) absent from a bootstrap resample `indices` (sorted)."""
    present = np.zeros(n, dtype=bool)
    present[np.asarray(indices, dtype=np.int64)] = True
    return np.flatnonzero(~present)
