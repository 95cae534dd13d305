"""Module.summary: output shapes from a forward pass, parameter counts, trainable flags."""

import doctest

import numpy as np
import pytest

import deepgrad.display
import deepgrad.nn.summary
from deepgrad import nn


@pytest.mark.parametrize("module", [deepgrad.nn.summary, deepgrad.display])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_lenet_shapes_counts_and_training_mode_restored():
    from deepgrad.models import LeNet

    model = LeNet(generator=0).train()
    summary = model.summary(input_size=(2, 1, 28, 28))
    rows = {r["name"]: r for r in summary.rows}
    assert rows["conv1"]["output_shape"] == (2, 20, 24, 24)
    assert rows["pool2"]["output_shape"] == (2, 50, 4, 4)
    assert rows["ip2"]["output_shape"] == (2, 10)
    assert rows["conv1"]["params"] == 20 * 25 + 20
    assert rows["ip1"]["params"] == 800 * 500 + 500
    assert summary.total == model.num_parameters() == 431_080
    assert model.training  # restored after the evaluation-mode pass
    assert model.conv1.weight.grad is None  # no graph was recorded
    text = str(summary)
    assert "conv1 (Conv2d)" in text and "(2, 20, 24, 24)" in text
    assert "Total params: 431,080" in text


def test_nested_containers_frozen_parameters_and_no_input_size():
    model = nn.Sequential(nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8)), nn.ReLU(),
                          nn.Linear(8, 3))
    model[0][0].weight.requires_grad_(False)
    summary = model.summary()
    rows = {r["name"]: r for r in summary.rows}
    assert rows["0"]["params"] == 4 * 8 + 8 + 2 * 8 and rows["0"]["trainable"] == "partly"
    assert rows["0.0"]["depth"] == 2 and rows["0.0"]["trainable"] == "partly"
    assert rows["1"]["trainable"] == "-"
    assert summary.trainable == summary.total - 32
    assert summary.non_trainable == 32
    assert "Output shape" not in str(summary) and "Non-trainable params: 32" in str(summary)
    html = model._repr_html_()
    assert html.count("<tr>") == 1 + len(summary.rows) + 2 and "Non-trainable" in html


def test_tuple_outputs_and_bad_input_size_named():
    from deepgrad.models import DeeplySupervisedLeNet

    model = DeeplySupervisedLeNet(generator=0)
    summary = model.summary((1, 1, 28, 28))
    assert all(r["output_shape"] is not None for r in summary.rows)
    with pytest.raises(ValueError, match=r"Linear.summary\(input_size=\(2, 5\)\).*last dim"):
        nn.Linear(3, 2).summary((2, 5))
    with pytest.raises(ValueError, match="tuple of positive integers"):
        nn.Linear(3, 2).summary(3)


def test_tensor_html_preview():
    import deepgrad as dg

    t = dg.tensor(np.arange(1000.0).reshape(10, 100), requires_grad=True)
    page = t._repr_html_()
    assert "shape (10, 100)" in page and "float64" in page and "requires_grad=True" in page
    assert "..." in page and "999" in page  # corners of a large array
    y = (t * 2).sum()
    assert "grad_fn=&lt;" in y._repr_html_()
    nan = dg.tensor([1.0, float("nan")])
    assert "<td>1</td>" in nan._repr_html_()  # non-finite count
