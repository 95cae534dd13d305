import numpy as np
import pytest

import deepgrad
from deepgrad.data import Standardize, TensorDataset, check_labels, one_hot, random_split


def test_standardize_fits_train_only_and_transforms_others():
    rng = np.random.default_rng(0)
    train = rng.normal([1.0, -5.0, 3.0], [2.0, 0.5, 1.0], size=(200, 3)).astype(np.float32)
    test = rng.normal(size=(50, 3)).astype(np.float32)
    scaler = Standardize().fit(train)
    z = scaler.transform(train)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-5)
    mean, std = train.astype(np.float64).mean(0), train.astype(np.float64).std(0)
    np.testing.assert_allclose(scaler.transform(test), (test - mean) / std, rtol=1e-5)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(test)), test,
                               rtol=1e-5, atol=1e-5)


def test_standardize_constant_feature_gives_zero_not_nan():
    x = np.array([[1.0, 7.0], [3.0, 7.0], [5.0, 7.0]])
    z = Standardize().fit_transform(x)
    np.testing.assert_allclose(z[:, 1], 0.0)
    np.testing.assert_allclose(z[:, 0], [-np.sqrt(1.5), 0, np.sqrt(1.5)])


def test_standardize_tensor_dataset_and_channels():
    images = np.random.default_rng(1).uniform(size=(8, 3, 4, 4)).astype(np.float32)
    images[:, 1] *= 10
    scaler = Standardize(axis=(0, 2, 3)).fit(deepgrad.tensor(images))
    assert scaler.mean.shape == (1, 3, 1, 1)
    out = scaler.transform(deepgrad.tensor(images))
    assert isinstance(out, deepgrad.Tensor)
    np.testing.assert_allclose(out.data.std(axis=(0, 2, 3)), 1, rtol=1e-5)

    ds = TensorDataset(images.reshape(8, -1), np.arange(8))
    train, _ = random_split(ds, [6, 2], generator=0)
    s2 = Standardize().fit(train)
    np.testing.assert_allclose(s2.mean[0], images.reshape(8, -1)[train.indices].mean(0),
                               rtol=1e-6)
    transformed = s2.transform(train)
    assert isinstance(transformed, TensorDataset)
    np.testing.assert_array_equal(transformed.arrays[1], train.indices)


def test_standardize_state_dict_round_trip_and_errors():
    x = np.random.default_rng(2).normal(size=(30, 4))
    scaler = Standardize().fit(x)
    other = Standardize()
    other.load_state_dict(scaler.state_dict())
    np.testing.assert_array_equal(other.transform(x), scaler.transform(x))
    with pytest.raises(RuntimeError, match="call fit"):
        Standardize().transform(x)
    with pytest.raises(ValueError, match=r"shape \(1, 4\).*data of shape \(30, 5\)"):
        scaler.transform(np.zeros((30, 5)))
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"Standardize.fit: contains nan at index \(3, 2\)"):
        Standardize().fit(bad)


def test_check_labels():
    np.testing.assert_array_equal(check_labels(np.array([0, 2, 1], np.uint8), 3), [0, 2, 1])
    assert check_labels([0, 1], 2).dtype == np.int64
    with pytest.raises(ValueError, match=r"label 10 at index 3 is outside \[0, 10\)"):
        check_labels(np.array([0, 1, 9, 10, 11]), 10)
    with pytest.raises(ValueError, match="label -1 at index 0"):
        check_labels(deepgrad.tensor([-1, 0]), 3)
    with pytest.raises(TypeError, match="integer dtype, got float32"):
        check_labels(np.array([0.0, 1.0], np.float32), 2)


def test_one_hot():
    out = one_hot(np.array([2, 0, 1]), 3)
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert out.dtype == np.float32
    t = one_hot(deepgrad.tensor([[1, 0]]), 2)
    assert isinstance(t, deepgrad.Tensor) and t.shape == (1, 2, 2)
    with pytest.raises(ValueError, match=r"label 5 at index 1 is outside \[0, 4\)"):
        one_hot(np.array([0, 5]), 4)
