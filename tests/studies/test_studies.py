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


def test_registry_and_unknown_study(tmp_path):
    assert list(STUDIES)[:10] == ["init", "symmetry", "batchnorm", "capacity", "approximation",
                                  "activations", "deep-supervision", "optimizers", "perceptron",
                                  "autodiff"]
    assert {"polynomial", "cross-validation", "bias-variance", "bagging", "early-stopping",
            "weight-decay", "dropout", "multiplication"} <= set(STUDIES)
    assert {"cross-entropy", "vanishing-gradients", "exploding-gradients", "init-training",
            "input-normalization", "activation-pathologies", "batch-size",
            "numerical-differentiation", "backprop-examples"} <= set(STUDIES)
    with pytest.raises(ValueError, match="unknown study 'nope'; available: init, symmetry"):
        run_study("nope", tmp_path)


def test_symmetry(tmp_path):
    result = run_study("symmetry", tmp_path, quick=True)
    check_outputs(result, "symmetry")
    constant, random = result.numbers["constant"], result.numbers["random"]
    assert max(constant["w1"], constant["b1"], constant["w2"]) <= 1e-12
    assert min(random["w1"], random["w2"]) > 0.1


def test_activations(tmp_path):
    result = run_study("activations", tmp_path, quick=True)
    check_outputs(result, "activations")
    n = result.numbers
    assert set(n) == {"sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "swish"}
    assert all(math.isfinite(v["final_loss"]) for v in n.values())
    assert n["sigmoid"]["final_loss"] > max(n["tanh"]["final_loss"], n["relu"]["final_loss"])


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
