import numpy as np
import pytest

from deepgrad.data import (KFold, Subset, TensorDataset, bootstrap_indices, out_of_bag_indices,
                           random_split, split_lengths, train_val_test_split)


def _dataset(n):
    return TensorDataset(np.arange(n, dtype=np.float32)[:, None], np.arange(n))


def test_split_lengths_counts_and_fractions():
    assert split_lengths(10, [7, 3]) == [7, 3]
    assert split_lengths(10, [0.5, 0.3, 0.2]) == [5, 3, 2]
    assert split_lengths(11, [0.5, 0.5]) == [6, 5]
    assert split_lengths(10, [1 / 3] * 3) == [4, 3, 3]
    with pytest.raises(ValueError, match="sum to the number of samples 10"):
        split_lengths(10, [5, 4])
    with pytest.raises(ValueError, match="sum to 1"):
        split_lengths(10, [0.5, 0.6])


def test_random_split_disjoint_cover_and_seeded():
    ds = _dataset(50)
    parts = random_split(ds, [0.6, 0.2, 0.2], generator=3)
    assert [len(p) for p in parts] == [30, 10, 10]
    assert all(isinstance(p, Subset) for p in parts)
    allidx = np.concatenate([p.indices for p in parts])
    np.testing.assert_array_equal(np.sort(allidx), np.arange(50))
    again = random_split(ds, [30, 10, 10], generator=3)
    for a, b in zip(parts, again):
        np.testing.assert_array_equal(a.indices, b.indices)
    other = random_split(ds, [30, 10, 10], generator=4)
    assert not np.array_equal(parts[0].indices, other[0].indices)


def test_train_val_test_split_fractions_counts_and_indices():
    train, val, test = train_val_test_split(_dataset(100), val_size=0.15, test_size=0.1,
                                            generator=0)
    assert (len(train), len(val), len(test)) == (75, 15, 10)
    labels = np.concatenate([train.indices, val.indices, test.indices])
    np.testing.assert_array_equal(np.sort(labels), np.arange(100))
    tr, va, te = train_val_test_split(20, val_size=3, test_size=2, generator=0)
    assert (len(tr), len(va), len(te)) == (15, 3, 2)
    assert tr.dtype.kind == "i"
    with pytest.raises(ValueError, match="leave no training samples out of 10"):
        train_val_test_split(10, val_size=5, test_size=5)


@pytest.mark.parametrize("n,k", [(10, 5), (11, 3), (7, 7)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_kfold_partitions(n, k, shuffle):
    folds = list(KFold(n_splits=k, shuffle=shuffle, generator=1).split(n))
    assert len(folds) == k
    vals = np.concatenate([v for _, v in folds])
    np.testing.assert_array_equal(np.sort(vals), np.arange(n))  # each validated once
    sizes = [len(v) for _, v in folds]
    assert sizes == [n // k + (i < n % k) for i in range(k)]
    for train, val in folds:
        assert len(np.intersect1d(train, val)) == 0
        np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
    if not shuffle:
        np.testing.assert_array_equal(folds[0][1], np.arange(sizes[0]))


def test_kfold_seed_and_errors():
    a = [v for _, v in KFold(4, shuffle=True, generator=7).split(_dataset(20))]
    b = [v for _, v in KFold(4, shuffle=True, generator=7).split(20)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="cannot make 5 folds of 3 samples"):
        list(KFold(5).split(3))
    with pytest.raises(ValueError, match="n_splits must be an integer >= 2"):
        KFold(1)


def test_bootstrap_indices_and_out_of_bag():
    idx = bootstrap_indices(10000, generator=0)
    assert idx.shape == (10000,) and idx.dtype == np.int64
    assert idx.min() >= 0 and idx.max() < 10000
    unique_fraction = len(np.unique(idx)) / 10000
    np.testing.assert_allclose(unique_fraction, 1 - np.exp(-1), atol=0.01)
    oob = out_of_bag_indices(idx, 10000)
    assert len(oob) + len(np.unique(idx)) == 10000
    assert len(np.intersect1d(oob, idx)) == 0
    np.testing.assert_array_equal(bootstrap_indices(50, generator=3),
                                  bootstrap_indices(50, generator=3))
