"""The doctor: vanishing gradients on tanh/std 0.01, nothing wrong with He/ReLU, and more."""

import os

import numpy as np
import pytest

from deepgrad import nn
from deepgrad.diagnostics import diagnose, doctor
from deepgrad.nn import functional as F
from deepgrad.studies.init import build


@pytest.fixture(scope="module")
def batch():
    return np.random.default_rng(0).standard_normal((64, 500)).astype(np.float32)


def test_flags_vanishing_gradients_with_tanh_and_std_001(batch):
    report = diagnose(build("tanh", "std 0.01", generator=0), batch)
    assert not report.ok
    vanishing = report.by_check("vanishing")
    assert len(vanishing) == 1 and vanishing[0]["severity"] == "error"
    assert "Xavier" in vanishing[0]["remedy"] and "batch normalization" in vanishing[0]["remedy"]
    ratio = report.layers[0]["grad_rms"] / report.layers[-1]["grad_rms"]
    assert ratio < doctor.VANISHING_RATIO
    np.testing.assert_allclose(ratio, 0.2236 ** 9, rtol=0.5)  # 0.01 * sqrt(500) per layer
    assert report.by_check("init") == []  # findings come from measured behaviour only
    assert report.by_check("activation_scale")
    text = str(report)
    assert "[ERROR]" in text and "vanishing gradients" in text
    assert "vanishing" in report.to_markdown() and "<table>" in report.to_html()
    assert {"severity", "layer", "message", "remedy"} <= set(report.findings[0])


def test_he_relu_network_is_healthy(batch):
    report = diagnose(build("relu", "He", generator=0), batch)
    assert report.ok, str(report)
    assert report.findings == []
    assert "No problem found." in str(report)
    stds = [row["std"] for row in report.layers]
    assert max(stds) / min(stds) < 2
    for row in report.params:
        np.testing.assert_allclose(row["std"], row["expected_std"], rtol=0.05)


def test_exploding_and_saturated_with_tanh_std_1(batch):
    report = diagnose(build("tanh", "std 1", generator=0), batch)
    assert report.by_check("exploding")[0]["severity"] == "error"
    saturated = report.by_check("saturated")
    assert len(saturated) == 1 and "90" in saturated[0]["message"]
    assert all(row["saturated"] > 0.85 for row in report.layers)


def test_dead_relus_and_cross_entropy_targets():
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    nn.init.constant_(model[0].bias, -50.0)  # every unit negative on normal inputs
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=32)
    report = diagnose(model, (x, y))
    dead = report.by_check("dead_relu")
    assert len(dead) == 1 and dead[0]["layer"] == "1" and "100%" in dead[0]["message"]
    explicit = diagnose(model, x, loss_fn=F.cross_entropy, targets=y)
    np.testing.assert_allclose(explicit.loss, report.loss, rtol=1e-6)
    assert model[0].weight.grad is None  # the doctor leaves no gradients behind


def test_bad_batch_is_explained():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    with pytest.raises(ValueError, match="pair"):
        diagnose(model, (np.ones((2, 2)), np.ones(2), np.ones(2)))
    with pytest.raises(TypeError, match="floating point"):
        diagnose(model, np.ones((2, 2), dtype=np.int64))


def test_deeply_supervised_model_with_its_loss():
    from deepgrad.models import DeeplySupervisedLeNet
    from deepgrad.training import DeepSupervisionLoss

    rng = np.random.default_rng(3)
    model = DeeplySupervisedLeNet(generator=0)
    x = rng.random((8, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=8)
    report = diagnose(model, (x, y), loss_fn=DeepSupervisionLoss(F.cross_entropy, (1.0, 0.3)))
    # no activation modules (LeNet applies relu functionally): the layers with weights
    assert [row["name"] for row in report.layers] == ["conv1", "conv2", "ip1", "ip2", "aux"]
    assert all(np.isfinite(row["grad_rms"]) and row["grad_rms"] > 0 for row in report.layers)
    default = diagnose(model, (x, y))  # cross-entropy on the main output
    assert 1.5 < default.loss < 4.0 and default.loss < report.loss


FASHION = "/usr/share/datasets/fashion-mnist"


def _healthy_models():
    from deepgrad.models import LeNet, mlp

    return {
        # the demo model of `make demo` with the library's default initialization (90% test)
        "demo mlp": (mlp([784, 512, 256, 10], activation="relu", dropout=0.2, generator=0),
                     (64, 784)),
        "tanh mlp": (mlp([784, 256, 256, 10], activation="tanh", generator=0), (64, 784)),
        "sigmoid mlp": (mlp([784, 128, 10], activation="sigmoid", generator=0), (64, 784)),
        "lenet": (LeNet(generator=0), (16, 1, 28, 28)),
        "batch-norm mlp": (mlp([784, 256, 256, 10], batch_norm=True, generator=0), (64, 784)),
    }


@pytest.mark.parametrize("name", sorted(_healthy_models()))
def test_models_that_train_well_get_no_warning(name):
    """The library's own defaults must not be diagnosed as wrong (standardized inputs, as the
    demo feeds them)."""
    model, shape = _healthy_models()[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 10, size=shape[0])
    report = diagnose(model, (x, y))
    assert report.ok, f"{name}: {report}"
    assert report.findings == []


@pytest.mark.skipif(not os.path.isfile(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")),
                    reason="needs the Fashion-MNIST files (make data)")
def test_demo_model_on_real_images_gets_no_warning():
    from deepgrad.data import Standardize, load_fashion_mnist
    from deepgrad.models import mlp

    images, labels = load_fashion_mnist("test", flatten=True)
    x = Standardize().fit(images[:2000]).transform(images[:256])
    model = mlp([784, 512, 256, 10], activation="relu", dropout=0.2, generator=0)
    report = diagnose(model, (x, labels[:256]))
    assert report.ok, str(report)
    # the weights are 2.4x below He's std, and the doctor says nothing about it: the signal
    # keeps its scale (measured, reported in the layer table)
    ratios = [r["std"] / r["expected_std"] for r in report.params if r["expected_std"]]
    assert all(0.3 < ratio < 0.5 for ratio in ratios)
