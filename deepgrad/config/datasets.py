"""The datasets a config may name (`data.dataset`), each with the options it accepts.

A builder takes the validated `data` section and a numpy Generator and returns
`(x_train, y_train, x_test, y_test)` as arrays, with `x_test, y_test = None, None` when the
source has no separate test set (the test split is then cut from the training data).
"""

from __future__ import annotations

from deepgrad import data as D
from deepgrad.registry import register
from deepgrad.config.schema import Field

_N = Field("int", min=1, max=10_000_000, help="number of samples generated")
_NOISE = Field("float", min=0.0, max=1e6, help="standard deviation of the Gaussian noise")


def _dataset(name: str, task=None, sample=None, **options):
    """Register a dataset builder with its options; `task` ("classification": integer class
    labels, "regression": real targets) and `sample` (the shape of one input) let validation
    match the loss to the labels and pass a sample through the model."""
    def decorate(fn):
        fn.options = options
        info = {k: v for k, v in (("task", task), ("sample", sample)) if v is not None}
        return register("dataset", name, **info)(fn)
    return decorate


@_dataset("fashion_mnist", "classification", (1, 28, 28),
          root=Field("str", default=None, nullable=True,
                                      help="directory of the IDX files"))
def fashion_mnist(cfg, generator):
    flatten = cfg["preprocessing"]["flatten"]
    x_train, y_train = D.load_fashion_mnist("train", cfg.get("root"), flatten=flatten)
    x_test, y_test = D.load_fashion_mnist("test", cfg.get("root"), flatten=flatten)
    return x_train, y_train, x_test, y_test


@_dataset("spirals", "classification", (2,), n=_N, noise=_NOISE, num_classes=Field("int", min=2))
def spirals(cfg, generator):
    x, y = D.make_spirals(cfg.get("n", 300), cfg.get("num_classes", 3), cfg.get("noise", 0.2),
                          generator=generator)
    return x, y, None, None


@_dataset("moons", "classification", (2,), n=_N, noise=_NOISE)
def moons(cfg, generator):
    x, y = D.make_moons(cfg.get("n", 200), cfg.get("noise", 0.1), generator=generator)
    return x, y, None, None


@_dataset("circles", "classification", (2,), n=_N, noise=_NOISE,
          factor=Field("float", min=0.0, max=1.0, exclusive=True, help="inner radius"))
def circles(cfg, generator):
    x, y = D.make_circles(cfg.get("n", 200), cfg.get("noise", 0.05), cfg.get("factor", 0.5),
                          generator=generator)
    return x, y, None, None


@_dataset("xor", "classification", (2,), n=_N, noise=_NOISE)
def xor(cfg, generator):
    x, y = D.make_xor(cfg.get("n", 200), cfg.get("noise", 0.1), generator=generator)
    return x, y, None, None


@_dataset("regression", "regression", (1,), n=_N, noise=_NOISE,
          target=Field("str", choices=("abs", "square", "sin", "step")),
          low=Field("float", min=-1e6, max=1e6), high=Field("float", min=-1e6, max=1e6))
def regression(cfg, generator):
    x, y = D.make_regression_1d(cfg.get("n", 200), cfg.get("target", "sin"),
                                cfg.get("noise", 0.0), generator=generator,
                                low=cfg.get("low", -1.0), high=cfg.get("high", 1.0))
    return x, y, None, None


_PATH = Field("str", help="file path, relative to the config file")
_TEST_PATH = Field("str", nullable=True, help="optional separate test file")


@_dataset("npz", path=_PATH, test_path=_TEST_PATH, features=Field("str"),
          labels=Field("str"))
def npz(cfg, generator):
    def read(path):
        return D.load_npz(path, cfg.get("features", "x"), cfg.get("labels", "y"))
    x, y = read(cfg["path"])
    x_test, y_test = read(cfg["test_path"]) if cfg.get("test_path") else (None, None)
    return x, y, x_test, y_test


@_dataset("csv", path=_PATH, test_path=_TEST_PATH,
          label_column=Field("any", help="index or name of the label column"),
          header=Field("any", help="true, false or auto"), delimiter=Field("str"))
def csv(cfg, generator):
    def read(path):
        return D.load_csv(path, cfg.get("label_column", -1), cfg.get("header", "auto"),
                          cfg.get("delimiter", ","))
    x, y = read(cfg["path"])
    x_test, y_test = read(cfg["test_path"]) if cfg.get("test_path") else (None, None)
    return x, y, x_test, y_test


REQUIRED_OPTIONS = {"npz": ("path",), "csv": ("path",)}
