"""deepgrad.data: datasets, the DataLoader, Fashion-MNIST and IDX files, synthetic data,
user files (.npz, .csv), splits and preprocessing.

This layer imports only the bottom layer (deepgrad.tensor, deepgrad.random); see docs/data.md.
"""

from deepgrad.data.dataset import (Dataset, Subset, TensorDataset, check_finite,
                                   dataset_arrays, get_batch)
from deepgrad.data.fashion_mnist import (FASHION_MNIST_CLASSES, clear_fashion_mnist_cache,
                                         fashion_mnist, load_fashion_mnist)
from deepgrad.data.files import load_csv, load_npz
from deepgrad.data.idx import IDXFormatError, read_idx, write_idx
from deepgrad.data.loader import DataLoader
from deepgrad.data.preprocessing import Standardize, check_labels, one_hot
from deepgrad.data.splits import (KFold, bootstrap_indices, out_of_bag_indices, random_split,
                                  split_indices, split_lengths, train_val_test_split)
from deepgrad.data.synthetic import (make_circles, make_moons, make_regression_1d,
                                     make_spirals, make_xor)

__all__ = [
    "Dataset", "TensorDataset", "Subset", "DataLoader", "get_batch", "dataset_arrays",
    "check_finite", "FASHION_MNIST_CLASSES", "fashion_mnist", "load_fashion_mnist",
    "clear_fashion_mnist_cache", "read_idx", "write_idx", "IDXFormatError", "load_npz",
    "load_csv", "Standardize", "check_labels", "one_hot", "KFold", "bootstrap_indices",
    "out_of_bag_indices", "random_split", "split_indices", "split_lengths",
    "train_val_test_split", "make_spirals", "make_moons", "make_circles", "make_xor",
    "make_regression_1d",
]
