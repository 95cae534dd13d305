import json
import math

import numpy as np
import pytest

from deepgrad.data import DataLoader, Dataset, Subset, TensorDataset
from deepgrad.tensor import Tensor


def _dataset(n, d=3):
    x = np.arange(n * d, dtype=np.float32).reshape(n, d)
    return TensorDataset(x, np.arange(n))


def _epoch_labels(loader):
    return np.concatenate([y.data for _, y in loader])


@pytest.mark.parametrize("n,k", [(1, 1), (10, 3), (10, 5), (10, 10), (10, 32), (101, 7),
                                 (64, 64), (65, 64)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_count_and_sizes(n, k, drop_last):
    if drop_last and k > n:
        with pytest.raises(ValueError, match="drop_last=True with batch_size"):
            DataLoader(_dataset(n), batch_size=k, drop_last=drop_last)
        return
    loader = DataLoader(_dataset(n), batch_size=k, shuffle=True, drop_last=drop_last,
                        generator=0)
    expected = n // k if drop_last else math.ceil(n / k)
    assert len(loader) == expected
    sizes = [x.shape[0] for x, _ in loader]
    assert len(sizes) == expected
    full = [k] * (n // k)
    assert sizes == (full if drop_last or n % k == 0 else full + [n % k])


@pytest.mark.parametrize("shuffle", [False, True])
def test_every_sample_exactly_once_per_epoch(shuffle):
    loader = DataLoader(_dataset(103), batch_size=10, shuffle=shuffle, generator=1)
    for _ in range(3):
        labels = _epoch_labels(loader)
        np.testing.assert_array_equal(np.sort(labels), np.arange(103))
    if not shuffle:
        np.testing.assert_array_equal(labels, np.arange(103))


def test_features_match_labels_and_dtypes():
    loader = DataLoader(_dataset(20), batch_size=6, shuffle=True, generator=3)
    for x, y in loader:
        assert isinstance(x, Tensor) and isinstance(y, Tensor)
        assert x.dtype == np.float32 and y.dtype == np.int64
        np.testing.assert_array_equal(x.data[:, 0], 3 * y.data)
        assert not x.requires_grad


def test_float64_features_are_kept():
    ds = TensorDataset(np.ones((4, 2)), np.zeros(4, dtype=np.int32))
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert x.dtype == np.float64 and y.dtype == np.int64


def test_reshuffles_every_epoch_and_seed_reproduces():
    a = DataLoader(_dataset(50), batch_size=8, shuffle=True, generator=42)
    b = DataLoader(_dataset(50), batch_size=8, shuffle=True, generator=42)
    a1, a2 = _epoch_labels(a), _epoch_labels(a)
    assert not np.array_equal(a1, a2)
    assert not np.array_equal(a1, np.arange(50))
    np.testing.assert_array_equal(_epoch_labels(b), a1)
    np.testing.assert_array_equal(_epoch_labels(b), a2)
    # the permutation is drawn from the generator: identical to a fresh Generator(42)
    np.testing.assert_array_equal(a1, np.random.default_rng(42).permutation(50))


def test_default_generator_follows_manual_seed():
    import deepgrad
    deepgrad.manual_seed(7)
    first = _epoch_labels(DataLoader(_dataset(30), batch_size=4, shuffle=True))
    deepgrad.manual_seed(7)
    second = _epoch_labels(DataLoader(_dataset(30), batch_size=4, shuffle=True))
    np.testing.assert_array_equal(first, second)


def test_state_dict_resume_between_epochs_matches_uninterrupted_run():
    reference = DataLoader(_dataset(37), batch_size=5, shuffle=True, generator=9)
    orders = [_epoch_labels(reference) for _ in range(5)]

    run = DataLoader(_dataset(37), batch_size=5, shuffle=True, generator=9)
    for _ in range(2):
        _epoch_labels(run)
    state = json.loads(json.dumps(run.state_dict()))  # must survive JSON
    assert state["epoch"] == 2 and state["position"] == 0

    resumed = DataLoader(_dataset(37), batch_size=5, shuffle=True, generator=12345)
    resumed.load_state_dict(state)
    assert resumed.epoch == 2
    for k in range(2, 5):
        np.testing.assert_array_equal(_epoch_labels(resumed), orders[k])
    assert resumed.epoch == 5


def test_state_dict_resume_mid_epoch():
    reference = DataLoader(_dataset(37), batch_size=5, shuffle=True, generator=9)
    orders = [_epoch_labels(reference) for _ in range(3)]

    run = DataLoader(_dataset(37), batch_size=5, shuffle=True, generator=9)
    _epoch_labels(run)
    iterator = iter(run)
    seen = [next(iterator)[1].data for _ in range(3)]
    state = json.loads(json.dumps(run.state_dict()))
    assert state["epoch"] == 1 and state["position"] == 3

    resumed = DataLoader(_dataset(37), batch_size=5, shuffle=True, generator=0)
    resumed.load_state_dict(state)
    assert resumed.state_dict() == state  # saving again before iterating keeps the position
    rest = _epoch_labels(resumed)
    np.testing.assert_array_equal(np.concatenate(seen + [rest]), orders[1])
    np.testing.assert_array_equal(_epoch_labels(resumed), orders[2])


def test_state_dict_with_mt19937_generator():
    gen = np.random.Generator(np.random.MT19937(5))
    run = DataLoader(_dataset(20), batch_size=3, shuffle=True, generator=gen)
    _epoch_labels(run)
    state = json.loads(json.dumps(run.state_dict()))
    expected = _epoch_labels(run)
    other = DataLoader(_dataset(20), batch_size=3, shuffle=True,
                       generator=np.random.Generator(np.random.MT19937(0)))
    other.load_state_dict(state)
    np.testing.assert_array_equal(_epoch_labels(other), expected)


def test_load_state_dict_rejects_mismatched_loader():
    run = DataLoader(_dataset(20), batch_size=4, shuffle=True, generator=1)
    state = run.state_dict()
    with pytest.raises(ValueError, match="batch_size=4 but this loader has batch_size=5"):
        DataLoader(_dataset(20), batch_size=5, shuffle=True, generator=1).load_state_dict(state)
    with pytest.raises(ValueError, match="num_samples=20"):
        DataLoader(_dataset(21), batch_size=4, shuffle=True, generator=1).load_state_dict(state)


class _PerSample(Dataset):
    """A dataset without get_batch: exercises the per-sample collate path."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(2, i, dtype=np.float64), i


def test_generic_dataset_collates_and_matches_fast_path():
    slow = DataLoader(_PerSample(11), batch_size=4, shuffle=True, generator=2)
    fast = DataLoader(TensorDataset(np.repeat(np.arange(11.0)[:, None], 2, 1), np.arange(11)),
                      batch_size=4, shuffle=True, generator=2)
    for (xs, ys), (xf, yf) in zip(slow, fast):
        assert xs.dtype == np.float64 and ys.dtype == np.int64
        np.testing.assert_array_equal(xs.data, xf.data)
        np.testing.assert_array_equal(ys.data, yf.data)


def test_fast_path_uses_get_batch_not_getitem(monkeypatch):
    ds = _dataset(50)

    def forbidden(self, index):
        raise AssertionError("per-sample __getitem__ called on the fast path")

    monkeypatch.setattr(TensorDataset, "__getitem__", forbidden)
    labels = np.concatenate([y.data for _, y in DataLoader(Subset(ds, np.arange(10, 50)),
                                                           batch_size=16, shuffle=True,
                                                           generator=0)])
    np.testing.assert_array_equal(np.sort(labels), np.arange(10, 50))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(_dataset(5), batch_size=bad)


def test_unshuffled_loader_state_never_touches_default_generator():
    import deepgrad
    deepgrad.manual_seed(3)
    expected = deepgrad.default_generator().bit_generator.state
    loader = DataLoader(_dataset(10), batch_size=3)
    other = DataLoader(_dataset(10), batch_size=3, shuffle=False, generator=99)
    loader.load_state_dict(other.state_dict())
    _epoch_labels(loader)
    assert deepgrad.default_generator().bit_generator.state == expected
    assert loader.generator is not deepgrad.default_generator()
