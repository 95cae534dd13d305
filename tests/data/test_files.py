import numpy as np
import pytest

from deepgrad.data import load_csv, load_npz


def test_npz_round_trip_and_dtypes(tmp_path):
    path = tmp_path / "d.npz"
    x = np.arange(12, dtype=np.float64).reshape(4, 3)
    np.savez(path, features=x, target=np.array([0.0, 1.0, 2.0, 1.0]))
    fx, fy = load_npz(path, features="features", labels="target")
    np.testing.assert_array_equal(fx, x)
    assert fx.dtype == np.float64 and fy.dtype == np.int64
    np.testing.assert_array_equal(fy, [0, 1, 2, 1])
    (only,) = load_npz(path, features="features", labels=None)
    assert only.shape == (4, 3)


def test_npz_missing_key_lists_keys(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, a=np.zeros(3), b=np.zeros(3))
    with pytest.raises(KeyError, match=r"no array named 'x'; it holds \['a', 'b'\]"):
        load_npz(path)


def test_npz_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2))
    with pytest.raises(ValueError, match="object arrays are refused"):
        load_npz(path)


def test_npz_length_mismatch(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((3, 2)), y=np.zeros(4))
    with pytest.raises(ValueError, match="'x' has 3 samples but 'y' has 4"):
        load_npz(path)


def test_csv_with_header_label_by_name(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,label,b\n1.5,0,2\n\n# comment\n3,1,4e-1\n")
    x, y = load_csv(path, label_column="label")
    np.testing.assert_allclose(x, [[1.5, 2.0], [3.0, 0.4]])
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y, [0, 1])


def test_csv_without_header_label_by_index_float_targets(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("0.5;1;2.25\n1;2;3.5\n")
    x, y = load_csv(path, label_column=2, delimiter=";")
    np.testing.assert_allclose(x, [[0.5, 1.0], [1.0, 2.0]])
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [2.25, 3.5])


def test_csv_non_numeric_names_line_and_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n1,2,0\n3,oops,1\n")
    with pytest.raises(ValueError, match=r"d.csv, line 3, column 1 \('b'\): 'oops' is not a "
                                         r"number"):
        load_csv(path, label_column="y")


def test_csv_nan_and_ragged_rows(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("1,2,0\n3,nan,1\n")
    with pytest.raises(ValueError, match=r"line 2, column 1: 'nan' is not finite"):
        load_csv(path)
    path.write_text("1,2,0\n3,1\n")
    with pytest.raises(ValueError, match=r"line 2: 2 columns, expected 3"):
        load_csv(path)


def test_csv_label_column_errors(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("1,2,0\n")
    with pytest.raises(ValueError, match="is a name but .* has no header row"):
        load_csv(path, label_column="y")
    with pytest.raises(ValueError, match=r"label_column=5 is not a column .*\(3 columns\)"):
        load_csv(path, label_column=5)
    path.write_text("1.5,2\n")
    with pytest.raises(ValueError, match="label 1.5 is not a whole number"):
        load_csv(path, label_column=0, label_dtype="int64")
