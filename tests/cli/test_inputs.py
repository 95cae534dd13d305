"""Reading `deepgrad predict` inputs: array layouts, grayscale conversion, resizing."""

import numpy as np
import pytest

from deepgrad.runner.inputs import image_size, load_inputs, read_image, resize


def test_resize_area_average_and_bilinear():
    image = np.arange(16, dtype=np.float64).reshape(4, 4)
    small = resize(image, 2, 2)
    np.testing.assert_allclose(small, [[2.5, 4.5], [10.5, 12.5]])   # means of 2x2 blocks
    np.testing.assert_allclose(resize(image, 4, 4), image)
    big = resize(np.full((3, 3), 0.25), 7, 5)
    assert big.shape == (7, 5)
    np.testing.assert_allclose(big, 0.25)
    # shrinking by a non-integer factor keeps the mean (area weights sum to 1 per cell)
    rng = np.random.default_rng(0)
    x = rng.random((30, 30))
    np.testing.assert_allclose(resize(x, 28, 28).mean(), x.mean(), rtol=2e-2)


def test_image_size_of_model_inputs():
    assert image_size((1, 28, 28)) == (28, 28)
    assert image_size((784,)) == (28, 28)
    with pytest.raises(ValueError, match="not a square image"):
        image_size((2,))


def test_png_rgba_to_grayscale(tmp_path):
    import matplotlib.image as mpimg

    rgba = np.zeros((2, 3, 4))
    rgba[..., 0], rgba[..., 3] = 1.0, 1.0        # opaque red
    rgba[1, 2] = [1.0, 1.0, 1.0, 0.0]            # transparent white -> black
    mpimg.imsave(tmp_path / "red.png", rgba)
    gray = read_image(tmp_path / "red.png")
    assert gray.shape == (2, 3)
    np.testing.assert_allclose(gray[0], 0.299, atol=2e-3)
    assert gray[1, 2] == 0.0


def test_array_layouts(tmp_path):
    rng = np.random.default_rng(1)
    batch = rng.random((3, 28, 28)).astype(np.float32)
    np.save(tmp_path / "batch.npy", batch)
    np.save(tmp_path / "one.npy", batch[0])
    np.savez(tmp_path / "pack.npz", x=batch.reshape(3, 784))
    x, names = load_inputs([tmp_path / "batch.npy", tmp_path / "one.npy",
                            tmp_path / "pack.npz"], (784,))
    assert x.shape == (7, 784) and x.dtype == np.float32
    assert names == ["batch.npy[0]", "batch.npy[1]", "batch.npy[2]", "one.npy[0]",
                     "pack.npz[0]", "pack.npz[1]", "pack.npz[2]"]
    np.testing.assert_array_equal(x[3], batch[0].reshape(-1))
    x, _ = load_inputs([tmp_path / "one.npy"], (1, 28, 28))
    assert x.shape == (1, 1, 28, 28)
    np.save(tmp_path / "bad.npy", np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"does not fit the model input \(784,\)"):
        load_inputs([tmp_path / "bad.npy"], (784,))
    with pytest.raises(ValueError, match="unsupported input"):
        load_inputs([tmp_path / "notes.txt"], (784,))
