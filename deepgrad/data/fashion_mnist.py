"""Fashion-MNIST: 70,000 grayscale 28x28 images of clothing in 10 classes (60k train, 10k test).

The IDX files come from the Debian package `dataset-fashion-mnist`
(/usr/share/datasets/fashion-mnist), from a directory named by the DEEPGRAD_DATA environment
variable, or from an explicit `root`. Nothing is downloaded. Decoded arrays are cached in
memory for the life of the process, keyed by the file's path, size and modification time.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad.data.dataset import TensorDataset
from deepgrad.data.idx import IDXFormatError, read_idx

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"
_PREFIX = {"train": "train", "test": "t10k"}
_cache: dict = {}


def search_dirs(root=None) -> list:
    """The directories searched for the files, in order: `root` (and root/fashion-mnist) when
    given; otherwise $DEEPGRAD_DATA (and $DEEPGRAD_DATA/fashion-mnist) when that variable is
    set; otherwise the Debian package's directory. A root the user chose is the only place
    searched: files missing there are an error, not a reason to read other files."""
    if root is None:
        root = os.environ.get("DEEPGRAD_DATA") or None
        if root is None:
            return [SYSTEM_DIR]
    base = os.fspath(root)
    return [base, os.path.join(base, "fashion-mnist")]


def _find(split: str, kind: str, root) -> str:
    names = [f"{_PREFIX[split]}-{kind}-idx{3 if kind == 'images' else 1}-ubyte" + ext
             for ext in (".gz", "")]
    searched = []
    for directory in search_dirs(root):
        for name in names:
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                return path
            searched.append(path)
    listing = "\n  ".join(searched)
    env = os.environ.get("DEEPGRAD_DATA")
    if root is None and env:
        where = "exists but does not hold them" if os.path.isdir(env) else "does not exist"
        raise FileNotFoundError(
            f"fashion_mnist: the environment variable DEEPGRAD_DATA={env!r} names the data "
            f"directory, but it {where}: cannot find the {split} {kind} ({names[0]} or "
            f"{names[1]}). Point DEEPGRAD_DATA at the directory of the four IDX files, or "
            f"unset it to use {SYSTEM_DIR}. Searched:\n  {listing}")
    raise FileNotFoundError(
        f"fashion_mnist: cannot find the {split} {kind} ({names[0]} or {names[1]}).\n"
        "Install the dataset with\n    sudo apt-get install dataset-fashion-mnist\n"
        "or put the four IDX files in a directory and pass root=that_directory or set the "
        f"environment variable DEEPGRAD_DATA to it. Searched:\n  {listing}")


def _read_cached(path: str) -> np.ndarray:
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _cache:
        array = read_idx(path)
        array.flags.writeable = False  # the cached copy is shared; callers get copies
        _cache[key] = array
    return _cache[key]


def clear_fashion_mnist_cache() -> None:
    """Forget the decoded arrays (frees their memory)."""
    _cache.clear()


def _load_raw(split: str, root) -> tuple:
    if split not in _PREFIX:
        raise ValueError(f"fashion_mnist: split must be 'train' or 'test', got {split!r}")
    image_path, label_path = _find(split, "images", root), _find(split, "labels", root)
    images, labels = _read_cached(image_path), _read_cached(label_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise IDXFormatError(f"fashion_mnist: {image_path} should hold uint8 images of shape "
                             f"(N, 28, 28), got {images.dtype} of shape {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise IDXFormatError(f"fashion_mnist: {label_path} should hold a 1-D uint8 array of "
                             f"labels, got {labels.dtype} of shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise IDXFormatError(f"fashion_mnist: {image_path} holds {images.shape[0]} images but "
                             f"{label_path} holds {labels.shape[0]} labels")
    if labels.size and labels.max() >= len(FASHION_MNIST_CLASSES):
        index = int(np.argmax(labels >= len(FASHION_MNIST_CLASSES)))
        raise IDXFormatError(f"fashion_mnist: {label_path} has label {labels[index]} at index "
                             f"{index}; Fashion-MNIST labels are 0..9")
    return images, labels


def load_fashion_mnist(split: str = "train", root=None, flatten: bool = False,
                       normalize: bool = True) -> tuple:
    """Fashion-MNIST as arrays `(images, labels)`.

    Args:
        split: "train" (60,000 samples) or "test" (10,000).
        root: a directory holding the IDX files (gzip'ed or not); default: $DEEPGRAD_DATA,
            then /usr/share/datasets/fashion-mnist.
        flatten: images of shape (N, 784) instead of (N, 1, 28, 28).
        normalize: images as float32 in [0, 1] (pixel / 255); False keeps uint8 in 0..255.

    Returns:
        images (N, 1, 28, 28) or (N, 784), and labels (N,) int64 in 0..9
        (class names in `FASHION_MNIST_CLASSES`). Both are fresh arrays the caller may modify.
    """
    images, labels = _load_raw(split, root)
    shape = (images.shape[0], 784) if flatten else (images.shape[0], 1, 28, 28)
    if normalize:
        images = np.divide(images.reshape(shape), np.float32(255), dtype=np.float32)
    else:
        images = images.reshape(shape).copy()
    return images, labels.astype(np.int64)


def fashion_mnist(split: str = "train", root=None, flatten: bool = False) -> TensorDataset:
    """Fashion-MNIST as a TensorDataset of (image float32 in [0, 1], label int64).

    See `load_fashion_mnist` for the arguments; images are (1, 28, 28) or, flattened, (784,).
    """
    images, labels = load_fashion_mnist(split, root, flatten=flatten, normalize=True)
    # x / 255 of uint8 pixels is always finite: skip the NaN scan of 47M values
    return TensorDataset(images, labels, check_finite=False)
