"""Reading the inputs of `deepgrad predict`: NumPy arrays and image files.

* `.npy`: one array; `.npz`: the array named `x` (or the only array in the file). Arrays are
  read with `allow_pickle=False`. A single sample may omit the batch axis.
* `.png`, `.jpg`, `.jpeg`, `.bmp`, `.gif`: read with matplotlib.image (PNG natively, the other
  formats through Pillow when it is installed), converted to grayscale with the ITU-R 601
  luma weights 0.299 R + 0.587 G + 0.114 B, scaled to [0, 1], and resized to the model's input
  height x width by area averaging (shrinking) or bilinear interpolation (enlarging).
  Fashion-MNIST images are light objects on a black background; pass `invert=True`
  (`--invert`) for dark-on-light pictures such as photos on white paper.

Then the training preprocessing stored in the checkpoint applies: flattening when the model
was trained on flat vectors, and standardization with the training split's mean and std.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad._optional import require

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def read_image(path) -> np.ndarray:
    """A grayscale float64 image in [0, 1], shape (H, W)."""
    path = os.fspath(path)
    mpimg = require("matplotlib.image", "reading images")
    try:
        image = np.asarray(mpimg.imread(path))
    except (OSError, ValueError, SyntaxError) as error:
        hint = "" if path.lower().endswith(".png") else \
            " (formats other than PNG need Pillow: pip install pillow)"
        raise ValueError(f"{path}: cannot read the image: {error}{hint}") from None
    if image.dtype.kind in "ui":
        image = image.astype(np.float64) / np.iinfo(image.dtype).max
    image = image.astype(np.float64)
    if image.ndim == 3:
        if image.shape[2] == 4:       # alpha: composite over black, the datasets' background
            image = image[..., :3] * image[..., 3:4]
        image = image[..., :3] @ np.array([0.299, 0.587, 0.114]) if image.shape[2] >= 3 \
            else image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D grayscale or RGB(A) image, got shape "
                         f"{image.shape}")
    return image


def _resize_axis(image: np.ndarray, size: int, axis: int) -> np.ndarray:
    n = image.shape[axis]
    if n == size:
        return image
    if n > size:
        # area averaging: output cell j covers input interval [j n / size, (j + 1) n / size)
        edges = np.arange(size + 1) * n / size
        weights = np.zeros((size, n))
        for j in range(size):
            lo, hi = edges[j], edges[j + 1]
            for i in range(int(np.floor(lo)), int(np.ceil(hi))):
                weights[j, i] = min(hi, i + 1) - max(lo, i)
        weights /= weights.sum(axis=1, keepdims=True)
    else:
        # bilinear: sample centre (j + 0.5) n / size - 0.5, clamped to the image
        position = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0, n - 1)
        low = np.floor(position).astype(int)
        high = np.minimum(low + 1, n - 1)
        frac = position - low
        weights = np.zeros((size, n))
        weights[np.arange(size), low] += 1 - frac
        weights[np.arange(size), high] += frac
    moved = np.moveaxis(image, axis, 0)
    return np.moveaxis(np.tensordot(weights, moved, axes=(1, 0)), 0, axis)


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a 2-D image to (height, width)."""
    return _resize_axis(_resize_axis(image, height, 0), width, 1)


def image_size(input_shape) -> tuple:
    """(H, W) of a model input: (C, H, W) -> (H, W); a flat (H*W,) square -> (H, W)."""
    shape = tuple(input_shape)
    if len(shape) >= 2:
        return shape[-2], shape[-1]
    side = int(round(np.sqrt(shape[0])))
    if side * side != shape[0]:
        raise ValueError(f"the model takes vectors of {shape[0]} features, which is not a "
                         "square image; pass an .npy array instead of an image")
    return side, side


def load_inputs(paths, input_shape, invert: bool = False) -> tuple:
    """(array of shape (N,) + input_shape, list of labels naming each sample)."""
    input_shape = tuple(int(s) for s in input_shape)
    samples, names = [], []
    for path in paths:
        path = os.fspath(path)
        lower = path.lower()
        if lower.endswith(IMAGE_SUFFIXES):
            image = read_image(path)
            image = resize(image, *image_size(input_shape))
            if invert:
                image = 1.0 - image
            samples.append(image.reshape(input_shape))
            names.append(os.path.basename(path))
            continue
        if lower.endswith(".npy"):
            array = np.load(path, allow_pickle=False)
        elif lower.endswith(".npz"):
            with np.load(path, allow_pickle=False) as archive:
                keys = list(archive.files)
                key = "x" if "x" in keys else (keys[0] if len(keys) == 1 else None)
                if key is None:
                    raise ValueError(f"{path}: holds arrays {keys}; name the inputs 'x'")
                array = archive[key]
        else:
            raise ValueError(f"{path}: unsupported input; give an .npy/.npz array or an image "
                             f"({', '.join(IMAGE_SUFFIXES)})")
        if array.dtype.kind not in "fiub":
            raise ValueError(f"{path}: expected numbers, got dtype {array.dtype}")
        array = array.astype(np.float64)
        size = int(np.prod(input_shape))
        if array.shape == input_shape:
            array = array.reshape((1,) + input_shape)
        elif array.ndim >= 1 and array[0].size == size:
            array = array.reshape((len(array),) + input_shape)
        elif array.size == size:      # one sample in another layout, e.g. (28, 28) for (784,)
            array = array.reshape((1,) + input_shape)
        else:
            raise ValueError(f"{path}: array of shape {array.shape} does not fit the model "
                             f"input {input_shape} (expected (N,) + {input_shape} or "
                             f"{input_shape})")
        samples.extend(array)
        names.extend(f"{os.path.basename(path)}[{i}]" for i in range(len(array)))
    return np.stack(samples).astype(np.float32), names
