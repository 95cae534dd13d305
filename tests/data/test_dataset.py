import numpy as np
import pytest

import deepgrad
from deepgrad.data import Subset, TensorDataset, dataset_arrays, get_batch


def test_getitem_returns_tensors_of_one_sample():
    x = np.arange(12, dtype=np.float64).reshape(4, 3)
    ds = TensorDataset(x, np.array([3, 1, 2, 0], dtype=np.uint8))
    assert len(ds) == 4
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi.data, [6.0, 7.0, 8.0])
    assert xi.dtype == np.float64 and yi.dtype == np.int64 and yi.item() == 2
    np.testing.assert_array_equal(ds[-1][0].data, [9.0, 10.0, 11.0])


def test_dtypes_and_tensor_inputs():
    ds = TensorDataset(deepgrad.tensor([[1.0, 2.0], [3.0, 4.0]]), [True, False],
                       np.ones((2, 1), dtype=np.float16))
    assert [a.dtype for a in ds.arrays] == [np.float32, np.int64, np.float32]
    np.testing.assert_array_equal(ds.tensors[1].data, [1, 0])


def test_get_batch_fancy_indexes():
    ds = TensorDataset(np.arange(10.0)[:, None], np.arange(10))
    x, y = ds.get_batch(np.array([7, 2, 2]))
    np.testing.assert_array_equal(x.data[:, 0], [7.0, 2.0, 2.0])
    np.testing.assert_array_equal(y.data, [7, 2, 2])


def test_length_mismatch_names_lengths():
    with pytest.raises(ValueError, match=r"lengths \[5, 4\]"):
        TensorDataset(np.zeros((5, 2)), np.zeros(4))


def test_empty_and_no_arrays_rejected():
    with pytest.raises(ValueError, match="empty"):
        TensorDataset(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="at least one array"):
        TensorDataset()
    with pytest.raises(ValueError, match="scalar"):
        TensorDataset(np.float32(3.0))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_features_named(bad):
    x = np.zeros((6, 3), dtype=np.float32)
    x[4, 1] = bad
    with pytest.raises(ValueError, match=r"array 0: contains .* at index \(4, 1\) \(sample 4\)"):
        TensorDataset(x, np.zeros(6, dtype=np.int64))
    ds = TensorDataset(x, np.zeros(6, dtype=np.int64), check_finite=False)
    assert np.isnan(ds.arrays[0][4, 1]) or np.isinf(ds.arrays[0][4, 1])


def test_index_errors():
    ds = TensorDataset(np.zeros((3, 1)))
    with pytest.raises(IndexError, match="index 3 is out of range for a dataset of 3"):
        ds[3]
    with pytest.raises(IndexError, match="index 5"):
        ds.get_batch([0, 5])
    with pytest.raises(TypeError, match="integer"):
        ds[1.0]


def test_string_arrays_rejected():
    with pytest.raises(TypeError, match="expected numbers"):
        TensorDataset(np.array(["a", "b"]))


def test_subset_maps_indices_and_nests():
    ds = TensorDataset(np.arange(10.0)[:, None] * 2, np.arange(10))
    sub = Subset(ds, [9, 3, 5, 1])
    assert len(sub) == 4
    assert sub[1][1].item() == 3
    inner = Subset(sub, [3, 0])
    x, y = get_batch(inner, np.array([0, 1]))
    np.testing.assert_array_equal(y.data, [1, 9])
    np.testing.assert_array_equal(x.data[:, 0], [2.0, 18.0])
    arrays = dataset_arrays(sub)
    np.testing.assert_array_equal(arrays[1], [9, 3, 5, 1])
    with pytest.raises(IndexError, match="index 10"):
        Subset(ds, [10])
