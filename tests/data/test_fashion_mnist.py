import gzip
import os
import sys

import numpy as np
import pytest

from deepgrad.data import (FASHION_MNIST_CLASSES, IDXFormatError, clear_fashion_mnist_cache,
                           fashion_mnist, load_fashion_mnist, read_idx, write_idx)

SYSTEM = "/usr/share/datasets/fashion-mnist"
installed = pytest.mark.skipif(
    not os.path.isfile(os.path.join(SYSTEM, "t10k-images-idx3-ubyte.gz")),
    reason="needs `sudo apt-get install dataset-fashion-mnist`")
fm_mod = sys.modules["deepgrad.data.fashion_mnist"]  # the module (the package re-exports
# a function of the same name)


def _write_fake(root, split="test", n=6, gz=True, n_labels=None):
    prefix = {"train": "train", "test": "t10k"}[split]
    ext = ".gz" if gz else ""
    images = (np.arange(n * 784) % 256).astype(np.uint8).reshape(n, 28, 28)
    labels = (np.arange(n if n_labels is None else n_labels) % 10).astype(np.uint8)
    write_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte{ext}"), images)
    write_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte{ext}"), labels)
    return images, labels


@installed
def test_real_test_split():
    raw = read_idx(os.path.join(SYSTEM, "t10k-images-idx3-ubyte.gz"))
    assert raw.shape == (10000, 28, 28) and raw.dtype == np.uint8
    assert int(raw.sum(dtype=np.int64)) == 573469082
    # an independent decoding: skip the 16-byte header of the decompressed file
    with gzip.open(os.path.join(SYSTEM, "t10k-images-idx3-ubyte.gz")) as f:
        direct = np.frombuffer(f.read()[16:], dtype=np.uint8).reshape(10000, 28, 28)
    np.testing.assert_array_equal(raw, direct)

    images, labels = load_fashion_mnist("test")
    assert images.shape == (10000, 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (10000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [1000] * 10)
    assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_allclose(images.sum(dtype=np.float64), 573469082 / 255, rtol=1e-7)
    flat, _ = load_fashion_mnist("test", flatten=True, normalize=False)
    assert flat.shape == (10000, 784) and flat.dtype == np.uint8
    np.testing.assert_array_equal(flat[123], raw[123].ravel())

    ds = fashion_mnist("test", flatten=True)
    x, y = ds[0]
    assert x.shape == (784,) and y.item() == labels[0]
    assert len(FASHION_MNIST_CLASSES) == 10 and FASHION_MNIST_CLASSES[9] == "Ankle boot"


def test_fake_files_from_root_gz_and_plain(tmp_path):
    for gz, sub in ((True, "a"), (False, "b")):
        root = tmp_path / sub
        root.mkdir()
        images, labels = _write_fake(root, n=7, gz=gz)
        x, y = load_fashion_mnist("test", root=root)
        assert x.shape == (7, 1, 28, 28)
        np.testing.assert_allclose(x[:, 0], images / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(y, labels)


def test_root_subdirectory_and_env_variable(tmp_path, monkeypatch):
    sub = tmp_path / "fashion-mnist"
    sub.mkdir()
    _write_fake(sub, split="train", n=4)
    monkeypatch.setenv("DEEPGRAD_DATA", str(tmp_path))
    x, y = load_fashion_mnist("train", flatten=True)
    assert x.shape == (4, 784)
    np.testing.assert_array_equal(y, [0, 1, 2, 3])


def test_returned_arrays_are_private_copies(tmp_path):
    _write_fake(tmp_path, n=3)
    x, y = load_fashion_mnist("test", root=tmp_path, normalize=False)
    x[...] = 0
    y[...] = 9
    x2, y2 = load_fashion_mnist("test", root=tmp_path, normalize=False)
    assert x2.sum() > 0
    np.testing.assert_array_equal(y2, [0, 1, 2])


def test_cache_reuses_decoded_arrays(tmp_path, monkeypatch):
    _write_fake(tmp_path, n=3)
    calls = []
    monkeypatch.setattr(fm_mod, "read_idx", lambda p: calls.append(p) or read_idx(p))
    clear_fashion_mnist_cache()
    load_fashion_mnist("test", root=tmp_path)
    load_fashion_mnist("test", root=tmp_path, flatten=True)
    assert len(calls) == 2  # images and labels decoded once each
    clear_fashion_mnist_cache()
    load_fashion_mnist("test", root=tmp_path)
    assert len(calls) == 4


def test_missing_files_explain_install(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist("test", root=tmp_path)
    message = str(info.value)
    assert "sudo apt-get install dataset-fashion-mnist" in message
    assert "DEEPGRAD_DATA" in message
    assert str(tmp_path / "t10k-images-idx3-ubyte.gz") in message
    assert str(tmp_path / "fashion-mnist" / "t10k-images-idx3-ubyte") in message


@pytest.mark.parametrize("exists", [False, True])
def test_a_data_root_set_by_the_user_is_not_silently_ignored(tmp_path, monkeypatch, exists):
    root = tmp_path / ("empty" if exists else "nonexistent")
    if exists:
        root.mkdir()
    monkeypatch.setenv("DEEPGRAD_DATA", str(root))
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist("test")
    message = str(info.value)
    assert f"DEEPGRAD_DATA={str(root)!r}" in message
    assert ("exists but does not hold them" if exists else "does not exist") in message
    assert fm_mod.SYSTEM_DIR not in fm_mod.search_dirs()


def test_count_mismatch_names_both_files(tmp_path):
    _write_fake(tmp_path, n=5, n_labels=4)
    with pytest.raises(IDXFormatError, match=r"t10k-images.* holds 5 images but .*"
                                             r"t10k-labels.* holds 4 labels"):
        load_fashion_mnist("test", root=tmp_path)


def test_wrong_type_and_shape_named(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.float32))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(2, np.uint8))
    with pytest.raises(IDXFormatError, match=r"t10k-images-idx3-ubyte.gz should hold uint8"):
        load_fashion_mnist("test", root=tmp_path)


def test_corrupt_file_named(tmp_path):
    _write_fake(tmp_path, n=3, gz=False)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(IDXFormatError, match=rf"{path} is truncated"):
        load_fashion_mnist("test", root=tmp_path)


def test_bad_split():
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'val'"):
        load_fashion_mnist("val")
