"""Every study's quick mode runs, writes its figures and summary, and shows its claim."""

import math
import os

import numpy as np
import pytest

from deepgrad.studies import STUDIES, run_study


def check_outputs(result, name):
    assert result.name == name and result.quick
    assert result.figures, "a study writes at least one figure"
    for path in result.figures:
        assert path.endswith(".png") and os.path.getsize(path) > 1000
    summary = result.summary()
    assert result.summary_path == os.path.join(result.out_dir, "summary.md")
    assert summary.startswith("# ") and "|---|" in summary
    for path in result.figures:
        assert os.path.basename(path) in summary


def needs_fashion_mnist():
    import importlib

    module = importlib.import_module("deepgrad.data.fashion_mnist")
    names = ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte")
    if not any(os.path.isfile(os.path.join(d, name)) for d in module.search_dirs()
               for name in names):
        pytest.skip("Fashion-MNIST is not installed (make data)")


def test_registry_and_unknown_study(tmp_path):
    assert list(STUDIES)[:10] == ["init", "symmetry", "batchnorm", "capacity", "approximation",
                                  "activations", "deep-supervision", "optimizers", "perceptron",
                                  "autodiff"]
    assert {"polynomial", "cross-validation", "bias-variance", "bagging", "early-stopping",
            "weight-decay", "dropout", "multiplication"} <= set(STUDIES)
    with pytest.raises(ValueError, match="unknown study 'nope'; available: init, symmetry"):
        run_study("nope", tmp_path)


def test_init(tmp_path):
    result = run_study("init", tmp_path, quick=True)
    check_outputs(result, "init")
    n = result.numbers
    tiny = n["tanh/std 0.01"]["activation_std"]
    assert len(tiny) == 10 and tiny[-1] < 1e-3 * tiny[0]
    xavier = n["tanh/Xavier"]["activation_std"]
    assert max(xavier) / min(xavier) < 3
    he = n["relu/He"]["activation_std"]
    assert max(he) / min(he) < 2
    assert n["tanh/std 1"]["saturated_first"] > 0.8
    assert n["relu/std 1"]["std_ratio"] > 1e6
    assert "| tanh | std 0.01 |" in result.summary()


def test_symmetry(tmp_path):
    result = run_study("symmetry", tmp_path, quick=True)
    check_outputs(result, "symmetry")
    constant, random = result.numbers["constant"], result.numbers["random"]
    assert max(constant["w1"], constant["b1"], constant["w2"]) <= 1e-12
    assert min(random["w1"], random["w2"]) > 0.1


def test_batchnorm(tmp_path):
    needs_fashion_mnist()
    result = run_study("batchnorm", tmp_path, quick=True)
    check_outputs(result, "batchnorm")
    n = result.numbers
    assert n["lr=0.5/bn"]["final_loss"] < n["lr=0.5/plain"]["final_loss"]
    assert n["lr=0.5/bn"]["final_loss"] < 1.0
    # batch norm keeps every hidden layer's activations at a stable scale
    for stds in n["lr=0.5/bn"]["hidden_std"].values():
        assert all(0.2 < s < 3 for s in stds)


def test_activations(tmp_path):
    result = run_study("activations", tmp_path, quick=True)
    check_outputs(result, "activations")
    n = result.numbers
    assert set(n) == {"sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "swish"}
    assert all(math.isfinite(v["final_loss"]) for v in n.values())
    assert n["sigmoid"]["final_loss"] > max(n["tanh"]["final_loss"], n["relu"]["final_loss"])


def test_deep_supervision(tmp_path):
    needs_fashion_mnist()
    result = run_study("deep-supervision", tmp_path, quick=True)
    check_outputs(result, "deep-supervision")
    n = result.numbers
    assert set(n["LeNet"]["mean_abs_grad"]) == {"conv1", "conv2", "ip1", "ip2"}
    assert n["conv1_ratio"] > 1.0  # the side classifier adds gradient to conv1


def test_optimizers(tmp_path):
    needs_fashion_mnist()
    result = run_study("optimizers", tmp_path, quick=True)
    check_outputs(result, "optimizers")
    quad = result.numbers["quadratic"]
    for name in ("Adam", "momentum", "Nesterov", "RMSprop"):
        assert quad[name]["final_loss"] < quad["SGD"]["final_loss"], name
    assert quad["Adam"]["final_loss"] < 0.2 * quad["SGD"]["final_loss"]
    net = result.numbers["fashion_mnist"]
    assert all(0.5 < v["test_accuracy"] <= 1 for v in net.values())


def test_perceptron(tmp_path):
    result = run_study("perceptron", tmp_path, quick=True)
    check_outputs(result, "perceptron")
    p = result.numbers["perceptron"]
    assert p["errors"] == 0
    assert p["updates"] <= p["novikoff_bound"]
    assert result.numbers["adaline"]["errors"] <= 3


def test_autodiff(tmp_path):
    result = run_study("autodiff", tmp_path, quick=True)
    check_outputs(result, "autodiff")
    n = result.numbers
    np.testing.assert_allclose([n["y"], n["dy_dx1"], n["dy_dx2"]], [11.652, 5.5, 1.716],
                               atol=5e-4)
    np.testing.assert_allclose([n["forward_dy_dx1"], n["forward_dy_dx2"]],
                               [n["dy_dx1"], n["dy_dx2"]], rtol=1e-12)
    assert "| v_5 | v_4 - v_3 | 11.6521 |" in result.summary()
